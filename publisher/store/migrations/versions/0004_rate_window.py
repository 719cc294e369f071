"""rate limits as an exact sliding window

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 19:25:00

A token bucket of size N refilled at N per window lets 2N sends through in the first
window; channels such as DingTalk robots block an account for 10 minutes for that. Each
account now keeps the times of its sends within the window instead of a token count.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_state", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recent", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.drop_column("tokens")
        batch_op.drop_column("refilled_at")


def downgrade() -> None:
    import publisher.store.schema

    with op.batch_alter_table("channel_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tokens", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column(
                "refilled_at",
                publisher.store.schema.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
        batch_op.drop_column("recent")
