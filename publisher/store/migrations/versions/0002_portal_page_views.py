"""portal page views

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 19:00:00

The portal counts its own reads: one row per visitor per notice per local day
(``channels/portal/pageviews.py``). The composite primary key is the uniqueness rule.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import publisher.store.schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_views",
        sa.Column(
            "notice_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "first_seen_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("notice_id", "day", "visitor_hash"),
    )


def downgrade() -> None:
    op.drop_table("page_views")
