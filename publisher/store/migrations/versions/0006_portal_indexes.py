"""indexes for the portal's pages and feeds; each delivery knows its notice's kind

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00

The portal's pages read live notices newest first, all of them (feeds) or of one kind
(category pages, the front page's blocks). Those reads aggregated every delivery of every
notice, so a page cost grew with the archive. ``deliveries.kind`` (copied from the notice at
submit; a notice's kind never changes) lets one index hold (kind, posted_at) together. The
three indexes are partial: only posted portal deliveries are in them, so the queue's own
writes never touch them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PORTAL_PAGES = "channel = 'portal' AND posted_at IS NOT NULL"
INDEXES = {
    "ix_deliveries_portal_time": ["channel", "posted_at", "notice_id", "status"],
    "ix_deliveries_portal_kind": ["channel", "kind", "posted_at", "notice_id", "status"],
    "ix_deliveries_portal_notice": ["notice_id", "channel", "posted_at", "status"],
}


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE deliveries SET kind = "
        "(SELECT notices.kind FROM notices WHERE notices.id = deliveries.notice_id)"
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=40), nullable=False)
    for name, columns in INDEXES.items():
        op.create_index(
            name,
            "deliveries",
            columns,
            unique=False,
            sqlite_where=sa.text(PORTAL_PAGES),
            postgresql_where=sa.text(PORTAL_PAGES),
        )


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="deliveries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("kind")
