"""The notices published in a period, for the annual and half-yearly open-government report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, type_coerce
from sqlalchemy.engine import Connection

from publisher.states import Status
from publisher.store.base import PublishedNotice
from publisher.store.schema import UTCDateTime, deliveries, notices
from publisher.store.sql.core import SqlCore

D = deliveries.c
N = notices.c


class AnnualMixin(SqlCore):
    """Published notices: each counted once, in the period its first post went out."""

    async def published_notices(
        self, posted_from: datetime, posted_before: datetime
    ) -> list[PublishedNotice]:
        """The notices first posted in ``[posted_from, posted_before)``, oldest first."""
        first = (
            select(
                D.notice_id,
                type_coerce(func.min(D.posted_at), UTCDateTime()).label("first"),
                func.count().label("posts"),
            )
            .where(D.status == Status.POSTED, D.posted_at.is_not(None))
            .group_by(D.notice_id)
            .having(func.min(D.posted_at) >= posted_from, func.min(D.posted_at) < posted_before)
            .subquery("first")
        )
        query = (
            select(N.id, N.kind, N.title, N.fields, N.table_data, first.c.first, first.c.posts)
            .join(first, first.c.notice_id == N.id)
            .order_by(first.c.first, N.id)
        )

        def _run(conn: Connection) -> list[PublishedNotice]:
            return [
                PublishedNotice(
                    notice_id=int(r.id),
                    kind=r.kind,
                    title=r.title,
                    first_posted_at=r.first,
                    posts=int(r.posts),
                    colour=_colour(r.fields),
                    table_rows=_rows(r.table_data),
                )
                for r in conn.execute(query).all()
            ]

        return await self._read(_run)


def _colour(fields: Any) -> str | None:
    colour = fields.get("color") if isinstance(fields, dict) else None
    return colour if isinstance(colour, str) else None


def _rows(table: Any) -> int | None:
    rows = table.get("rows") if isinstance(table, dict) else None
    return len(rows) if isinstance(rows, list) else None
