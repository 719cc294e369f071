"""drills: a notice marked as a drill (演练)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-04 03:00:00

``notices.drill`` marks a drill (CAP status Exercise/Test, or ``"drill": true``): it is
posted only to accounts marked ``sandbox`` or ``drill``, labelled 【演练】, and the portal
lists it on its drills page only. Every notice stored before is not a drill.

Other branches add migrations after 0009 at the same time; whoever merges them relinks
``down_revision`` into one chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("drill", sa.Boolean(), nullable=False, server_default=sa.text("false"))
        )
        batch_op.create_index(
            "ix_notices_drill",
            ["id"],
            unique=False,
            sqlite_where=sa.text("drill"),
            postgresql_where=sa.text("drill"),
        )


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_drill")
        batch_op.drop_column("drill")
