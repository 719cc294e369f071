"""reach collection schedule and health; OA read receipts

Revision ID: 0015
Revises: 0009
Create Date: 2026-12-04 03:00:00

``metric_polls`` remembers when each post was last asked for its numbers (the decaying
collection schedule), ``collection_health`` how each account's last collections went (shown
by ``doctor``), and ``oa_readers`` who read or acknowledged an OA warning and who was nudged.

Other branches add migrations after 0009 at the same time; whoever merges them relinks
``down_revision`` into one chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import publisher.store.schema

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = publisher.store.schema.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "metric_polls",
        sa.Column("delivery_id", Id, autoincrement=False, nullable=False),
        sa.Column("polled_at", When, nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    op.create_table(
        "collection_health",
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("last_run_at", When, nullable=False),
        sa.Column("last_success_at", When, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", When, nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_after", When, nullable=True),
        sa.PrimaryKeyConstraint("account"),
    )
    op.create_table(
        "oa_readers",
        sa.Column("delivery_id", Id, autoincrement=False, nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("read_at", When, nullable=True),
        sa.Column("how", sa.String(length=20), nullable=True),
        sa.Column("nudged_at", When, nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("delivery_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("oa_readers")
    op.drop_table("collection_health")
    op.drop_table("metric_polls")
