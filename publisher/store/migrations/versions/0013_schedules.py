"""recurring schedules and their fires

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-04 03:00:00

``schedules`` keeps the recurring schedules added through the CLI or the API (with the notice
template read when they were added); ``schedule_fires`` claims every fire of any schedule once
per (schedule, fire time) and keeps its outcome (posted, no data file, refused, missed).

Other branches add migrations after 0009 at the same time; whoever merges them relinks
``down_revision`` into one chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import publisher.store.schema

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("notice_file", sa.String(length=500), nullable=False),
        sa.Column("template", sa.JSON(), nullable=False),
        sa.Column("data_glob", sa.String(length=200), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "schedule_fires",
        sa.Column("schedule", sa.String(length=64), nullable=False),
        sa.Column("fire_time", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("runner", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("notice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("data_file", sa.String(length=500), nullable=True),
        sa.Column("finished_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("schedule", "fire_time"),
    )


def downgrade() -> None:
    op.drop_table("schedule_fires")
    op.drop_table("schedules")
