"""count failed lookups per delivery; remote ids of any length

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 23:50:00

A delivery whose outcome is unknown is reconciled by asking the channel (lookup). When the
channel cannot answer, it is asked again later; ``lookups`` counts those failures, so the wait
grows with each one and, after the account's max attempts, the delivery goes to review
instead of asking forever.

``remote_id`` is whatever the channel (or a webhook receiver's ``id_path``) answers; at 200
characters at most, a longer one failed the outcome's commit on PostgreSQL, after the post.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lookups", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.alter_column("remote_id", existing_type=sa.String(length=200), type_=sa.Text())


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column("remote_id", existing_type=sa.Text(), type_=sa.String(length=200))
        batch_op.drop_column("lookups")
