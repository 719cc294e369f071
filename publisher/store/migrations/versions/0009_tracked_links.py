"""tracked-link clicks; posts found by when they went out

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 10:00:00

``link_clicks`` counts clicks on tracked links (``/r/<code>``) from Weibo, WeChat and OA posts
to the portal copy: one row per visitor per delivery per local day, with a salted, day-scoped
visitor hash (no address is stored). ``ix_deliveries_posted`` lets the reach report pick the
posts of a period without reading every delivery.

Other branches add migrations after 0005 at the same time; whoever merges them relinks
``down_revision`` into one chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import publisher.store.schema

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_clicks",
        sa.Column(
            "delivery_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "first_seen_at", publisher.store.schema.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("delivery_id", "day", "visitor_hash"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_posted", ["posted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_posted")
    op.drop_table("link_clicks")
