"""the review chain: reviews, their decisions, and an OA user id per user

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-04 03:00:00

``reviews`` holds one row per notice that goes through the review chain (三审三校): its steps,
the step now open, the content fingerprint the approvals bind to, the deliveries held until
the last approval, and who drafted and released it. ``review_decisions`` records each
approval or rejection (one per person per round: nobody decides twice in one chain).
``users.oa_id`` is the id the OA channel (WeCom, DingTalk, Feishu) knows a person by.

Other branches add migrations after 0009 at the same time; whoever merges them relinks
``down_revision`` into one chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import publisher.store.schema

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = publisher.store.schema.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oa_id", sa.String(length=100), nullable=True))
    op.create_table(
        "reviews",
        sa.Column("notice_id", ID, autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("held", sa.JSON(), nullable=True),
        sa.Column("drafted_by", sa.String(length=100), nullable=False),
        sa.Column("fast_path", sa.Boolean(), nullable=False),
        sa.Column("released_by", sa.String(length=100), nullable=True),
        sa.Column("released_at", UTC, nullable=True),
        sa.Column("told", sa.JSON(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"]),
        sa.PrimaryKeyConstraint("notice_id"),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_state", ["state"], unique=False)
    op.create_table(
        "review_decisions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("notice_id", ID, nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notice_id", "round", "actor", name="uq_review_decisions_once"),
    )


def downgrade() -> None:
    op.drop_table("review_decisions")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_state")
    op.drop_table("reviews")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("oa_id")
