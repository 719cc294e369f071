"""The portal's reads: live notices as their pages show them, and page-view counts.

See :mod:`publisher.store.portal` for what *live* means and the read model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, select, type_coerce
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from publisher.states import Status
from publisher.store.portal import PortalNotice
from publisher.store.schema import UTCDateTime, deliveries, notices, page_views
from publisher.store.sql.core import SqlCore

PORTAL = "portal"  # the channel type whose posted deliveries are portal pages
D = deliveries.c
N = notices.c
V = page_views.c

_SHOWN = and_(
    D.channel == PORTAL,
    D.posted_at.is_not(None),
    D.status.in_((Status.POSTED.value, Status.CANCELLED.value)),
)


def _live() -> Any:
    """Per notice: when its portal page went live, which delivery holds it, cancellations."""
    return (
        select(
            D.notice_id.label("notice_id"),
            type_coerce(func.min(case((_SHOWN, D.posted_at))), UTCDateTime()).label("posted_at"),
            func.min(case((_SHOWN, D.id))).label("delivery_id"),
            func.count().label("total"),
            func.sum(case((D.status == Status.CANCELLED.value, 1), else_=0)).label("cancelled"),
        )
        .group_by(D.notice_id)
        .having(func.min(case((_SHOWN, D.id))).is_not(None))
        .subquery("live")
    )


def _select(live: Any) -> Any:
    shown = deliveries.alias("shown")
    return (
        select(
            notices,
            live.c.posted_at,
            live.c.total,
            live.c.cancelled,
            shown.c.rendered,
            shown.c.updated_at.label("shown_updated_at"),
        )
        .join(live, live.c.notice_id == N.id)
        .join(shown, shown.c.id == live.c.delivery_id)
    )


def _portal_notice(row: Any) -> PortalNotice:
    m = row._mapping
    rendered = m["rendered"] or {}
    parts = rendered.get("parts", {}) if isinstance(rendered, dict) else {}
    all_cancelled = int(m["cancelled"] or 0) >= int(m["total"] or 0) > 0
    return PortalNotice(
        id=int(m["id"]),
        kind=m["kind"],
        title=str(parts.get("title") or m["title"]),
        body_html=str(parts.get("body") or ""),
        body=m["body"],
        summary=m["summary"],
        table=m["table_data"],
        fields=m["fields"] or {},
        urgent=bool(m["urgent"]),
        created_at=m["created_at"],
        posted_at=m["posted_at"],
        all_cancelled=all_cancelled,
        withdrawn_at=m["shown_updated_at"] if all_cancelled else None,
    )


def _live_notices(
    conn: Connection, kinds: Sequence[str] | None, offset: int, limit: int
) -> list[PortalNotice]:
    live = _live()
    query = _select(live)
    if kinds is not None:
        query = query.where(N.kind.in_(list(kinds)))
    query = query.order_by(live.c.posted_at.desc(), N.id.desc()).offset(offset).limit(limit)
    return [_portal_notice(r) for r in conn.execute(query).all()]


class PortalMixin(SqlCore):
    """:class:`publisher.store.portal.PortalReads` over SQL."""

    async def portal_notice(self, notice_id: int) -> PortalNotice | None:
        """The live notice with this id, or None (never posted to a portal, or no such id)."""

        def _run(conn: Connection) -> PortalNotice | None:
            row = conn.execute(_select(_live()).where(N.id == notice_id)).first()
            return None if row is None else _portal_notice(row)

        return await self._read(_run)

    async def portal_notices(
        self, *, kinds: Sequence[str] | None = None, offset: int = 0, limit: int = 20
    ) -> list[PortalNotice]:
        """Live notices, newest page first, optionally of some kinds only."""
        return await self._read(_live_notices, kinds, offset, limit)

    async def portal_count(self, *, kinds: Sequence[str] | None = None) -> int:
        """How many live notices (of these kinds)."""
        live = _live()
        query = select(func.count()).select_from(live.join(notices, N.id == live.c.notice_id))
        if kinds is not None:
            query = query.where(N.kind.in_(list(kinds)))

        def _run(conn: Connection) -> int:
            return int(conn.execute(query).scalar_one())

        return await self._read(_run)

    async def portal_front_page(
        self, kinds: Iterable[str], per_kind: int
    ) -> dict[str, list[PortalNotice]]:
        """The newest ``per_kind`` live notices of each kind, read in one snapshot."""
        wanted = list(kinds)

        def _run(conn: Connection) -> dict[str, list[PortalNotice]]:
            return {kind: _live_notices(conn, [kind], 0, per_kind) for kind in wanted}

        return await self._read(_run)

    async def record_page_view(
        self, notice_id: int, day: date, visitor_hash: str, now: datetime
    ) -> bool:
        """Count one visitor on one notice for one day; False if already counted. Idempotent."""
        row = {
            "notice_id": notice_id,
            "day": day,
            "visitor_hash": visitor_hash,
            "first_seen_at": now,
        }

        def _run(conn: Connection) -> bool:
            dialect = conn.dialect.name
            if dialect in ("sqlite", "postgresql"):
                upsert = sqlite_insert if dialect == "sqlite" else pg_insert
                statement = upsert(page_views).values(row).on_conflict_do_nothing()
                return conn.execute(statement.returning(V.notice_id)).first() is not None
            try:
                with conn.begin_nested():
                    conn.execute(insert(page_views).values(row))
            except IntegrityError:
                return False
            return True

        return await self._tx(_run)

    async def page_view_counts(self, notice_ids: Iterable[int]) -> dict[int, int]:
        """Counted page views per notice; notices without any (or unknown) are 0."""
        ids = sorted(set(notice_ids))
        counts = dict.fromkeys(ids, 0)
        if not ids:
            return counts
        query = select(V.notice_id, func.count()).where(V.notice_id.in_(ids)).group_by(V.notice_id)

        def _run(conn: Connection) -> list[Any]:
            return list(conn.execute(query).all())

        counts.update({int(n): int(c) for n, c in await self._read(_run)})
        return counts
