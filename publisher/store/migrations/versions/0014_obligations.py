"""obligations and the reminders sent about them

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-04 03:00:00

``obligations`` holds each disclosure duty (its definition as JSON, seeded from
``config/obligations.toml`` and edited through the API); ``obligation_reminders`` records every
reminder and freshness alarm sent (or failed, to be retried), so each goes out once.

Other branches add migrations after 0009 at the same time; whoever merges them relinks
``down_revision`` into one chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import publisher.store.schema

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "obligations",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "obligation_reminders",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=100), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("first_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", "period", "step"),
    )
    with op.batch_alter_table("obligation_reminders", schema=None) as batch_op:
        batch_op.create_index("ix_obligation_reminders_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("obligation_reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_obligation_reminders_status")
    op.drop_table("obligation_reminders")
    op.drop_table("obligations")
