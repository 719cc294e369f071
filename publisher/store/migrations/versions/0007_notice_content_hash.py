"""the duplicate guard: a hash of each notice's kind, title and body, indexed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:00:00

The same content submitted twice without an idempotency key was posted twice. Intake now
refuses a notice whose kind, title and body equal one submitted within 24 hours; this column
and its index make that lookup one index probe however large the archive.

Notices of the last 24 hours are hashed here (older ones can never match); the rest keep
NULL. The hash is ``publisher.store.sql.intake.content_hash``, repeated below so this
migration stays what it was when the code moves on.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _content_hash(kind: str, title: str, body: str) -> str:
    blob = json.dumps([kind, title, body], ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_notices_content", ["content_hash", "created_at"], unique=False)
    notices = sa.table(
        "notices",
        sa.column("id", sa.BigInteger()),
        sa.column("kind", sa.String()),
        sa.column("title", sa.Text()),
        sa.column("body", sa.Text()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("content_hash", sa.String()),
    )
    conn = op.get_bind()
    since = datetime.now(UTC) - timedelta(hours=25)
    if conn.dialect.name == "sqlite":
        since = since.replace(tzinfo=None)  # stored naive UTC there (schema.UTCDateTime)
    recent = conn.execute(
        sa.select(notices.c.id, notices.c.kind, notices.c.title, notices.c.body).where(
            notices.c.created_at >= since
        )
    ).all()
    if recent:
        conn.execute(
            notices.update()
            .where(notices.c.id == sa.bindparam("b_id"))
            .values(content_hash=sa.bindparam("b_hash")),
            [{"b_id": r.id, "b_hash": _content_hash(r.kind, r.title, r.body)} for r in recent],
        )


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_content")
        batch_op.drop_column("content_hash")
