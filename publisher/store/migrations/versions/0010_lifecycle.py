"""lifecycle: follow-ups (update, lift, withdraw) linked to the notice they follow

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 03:00:00

A follow-up is a notice of its own; ``follows_id`` names the notice it follows, ``relation``
says how (``updates``, ``lifts``, ``withdraws``) and ``follows`` keeps the mapping its
templates and adapters were given. ``ix_notices_follows`` is unique: a notice has at most
one follow-up (the store refuses a second one even when two requests race).

Other branches add migrations after 0009 at the same time; whoever merges them relinks
``down_revision`` into one chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WITHDRAWALS = "relation = 'withdraws'"


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("follows_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"))
        )
        batch_op.add_column(sa.Column("relation", sa.String(length=20)))
        batch_op.add_column(sa.Column("follows", sa.JSON()))
        batch_op.create_index(
            "ix_notices_follows",
            ["follows_id"],
            unique=True,
            sqlite_where=sa.text("follows_id IS NOT NULL"),
            postgresql_where=sa.text("follows_id IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_notices_withdrawals",
            ["id", "follows_id"],
            sqlite_where=sa.text(WITHDRAWALS),
            postgresql_where=sa.text(WITHDRAWALS),
        )
        batch_op.create_index(
            "ix_notices_withdrawn",
            ["follows_id"],
            sqlite_where=sa.text(WITHDRAWALS),
            postgresql_where=sa.text(WITHDRAWALS),
        )


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_withdrawn")
        batch_op.drop_index("ix_notices_withdrawals")
        batch_op.drop_index("ix_notices_follows")
        batch_op.drop_column("follows")
        batch_op.drop_column("relation")
        batch_op.drop_column("follows_id")
