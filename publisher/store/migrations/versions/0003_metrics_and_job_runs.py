"""metric samples and scheduled job runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 19:05:00

``metric_samples`` is the append-only time series of reach (reads, likes, shares...) per
delivery, as each channel reports it. ``job_runs`` makes every scheduled fire happen once,
whatever the number of scheduler instances: a fire is (job, fire time), unique.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import publisher.store.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "metric_samples",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("delivery_id", ID, nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("observed_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("metric_samples", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metric_samples_delivery", ["delivery_id", "metric", "observed_at"], unique=False
        )
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("fire_time", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("runner", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("job", "fire_time"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    with op.batch_alter_table("metric_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_samples_delivery")
    op.drop_table("metric_samples")
