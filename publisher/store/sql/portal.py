"""The portal's reads: live notices as their pages show them, and page-view counts.

See :mod:`publisher.store.portal` for what *live* means and the read model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from publisher.states import Status
from publisher.store.portal import REAL, PortalCursor, PortalNotice, PortalPage, PortalScope
from publisher.store.schema import Id, UTCDateTime, deliveries, notices, page_views
from publisher.store.sql.core import SqlCore
from publisher.store.sql.portal_lifecycle import (
    WITHDRAWS,
    followed_by,
    withdrawal_of,
    withdrawn_notice,
)

PORTAL = "portal"  # the channel type whose posted deliveries are portal pages
SHOWN = (Status.POSTED.value, Status.CANCELLED.value)  # a posted page stays, maybe withdrawn
D = deliveries.c
N = notices.c
V = page_views.c


def _pages(table: Any) -> list[Any]:
    """Deliveries that hold a portal page: the partial indexes' predicate (schema.PORTAL_PAGES)
    spelled with literals, so the planner can prove those indexes apply, then the status."""
    c = table.c
    return [
        c.channel == literal_column(f"'{PORTAL}'"),
        c.posted_at.is_not(None),
        c.status.in_(SHOWN),
    ]


def _public() -> list[Any]:
    """Neither a withdrawal nor withdrawn (issue 11): such notices leave every list and feed
    (a withdrawn notice keeps its page, which says so; a withdrawal has none)."""
    w = notices.alias("w")
    return [
        ~exists(select(literal(1)).where(w.c.follows_id == D.notice_id, w.c.relation == WITHDRAWS)),
        ~_is_withdrawal(),
    ]


def _is_withdrawal() -> Any:
    w = notices.alias("wd")
    return exists(select(literal(1)).where(w.c.id == D.notice_id, w.c.relation == WITHDRAWS))


def _holds_page() -> Any:
    """This delivery is the notice's first posted portal delivery (by time, then id): with
    several portal accounts, only that one places the notice in the lists."""
    first = deliveries.alias("first")
    f = first.c
    earlier = or_(f.posted_at < D.posted_at, and_(f.posted_at == D.posted_at, f.id < D.id))
    return ~exists(select(literal(1)).where(f.notice_id == D.notice_id, *_pages(first), earlier))


def _in_scope(scope: PortalScope) -> list[Any]:
    """Drills or real notices (the drills' ids are read once from a tiny partial index whose
    predicate is spelled as a literal), and for each kind with a display period, only pages
    that went live since its start."""
    drills = (
        select(N.id)
        .where(literal_column("notices.drill"))
        .with_hint(notices, "INDEXED BY ix_notices_drill", "sqlite")  # even while it is empty
    )
    where: list[Any] = [D.notice_id.in_(drills) if scope.drills else D.notice_id.not_in(drills)]
    for kind, since in sorted(scope.shown_since.items()):
        where.append(or_(D.kind != kind, D.posted_at >= since))
    return where


def _position() -> Any:
    """A delivery's place in the lists, as a row value: one index range on both backends (an
    OR of two comparisons became a bitmap scan and a sort on PostgreSQL)."""
    return tuple_(D.posted_at, D.notice_id)


def _at(cursor: PortalCursor) -> Any:
    return tuple_(literal(cursor.posted_at, UTCDateTime()), literal(cursor.notice_id, Id))


Key = tuple[int, int, Any]  # (notice id, delivery id, posted_at)


def _keys(
    conn: Connection,
    kind: str | None,
    *,
    before: PortalCursor | None = None,
    after: PortalCursor | None = None,
    offset: int = 0,
    limit: int,
    scope: PortalScope = REAL,
) -> list[Key]:
    """The list's items from an index only: newest first, or oldest first after ``after``."""
    query = select(D.notice_id, D.id, D.posted_at).where(
        *_pages(deliveries), _holds_page(), *_public(), *_in_scope(scope)
    )
    if kind is not None:
        query = query.where(D.kind == kind)
    if before is not None:
        at = before.posted_at
        query = query.where(D.posted_at <= at, _position() < _at(before))
    if after is not None:
        at = after.posted_at
        query = query.where(D.posted_at >= at, _position() > _at(after))
        query = query.order_by(D.posted_at, D.notice_id)
    else:
        query = query.order_by(D.posted_at.desc(), D.notice_id.desc())
    rows = conn.execute(query.offset(offset).limit(limit)).all()
    return [(int(r[0]), int(r[1]), r[2]) for r in rows]


def _keys_of(
    conn: Connection, kinds: Sequence[str] | None, *, limit: int, **where: Any
) -> list[Key]:
    """:func:`_keys` over several kinds: each kind's index, merged (newest first)."""
    if kinds is None or len(kinds) == 1:
        return _keys(conn, None if kinds is None else kinds[0], limit=limit, **where)
    offset = where.pop("offset", 0)
    merged = [k for kind in set(kinds) for k in _keys(conn, kind, limit=offset + limit, **where)]
    merged.sort(key=lambda k: (k[2], k[0]), reverse=where.get("after") is None)
    return merged[offset : offset + limit]


def _hydrate(conn: Connection, keys: Sequence[Key]) -> list[PortalNotice]:
    """The notices these keys name, in their order: each row by its primary key."""
    if not keys:
        return []
    shown = deliveries.alias("shown")
    other = deliveries.alias("other")
    notice_ids = [k[0] for k in keys]
    counts = (
        select(
            other.c.notice_id,
            func.count().label("total"),
            func.sum(case((other.c.status == Status.CANCELLED.value, 1), else_=0)).label(
                "cancelled"
            ),
        )
        .where(other.c.notice_id.in_(notice_ids))
        .group_by(other.c.notice_id)
        .subquery("counts")
    )
    query = (
        select(
            notices,
            shown.c.posted_at,
            shown.c.rendered,
            shown.c.updated_at.label("shown_updated_at"),
            counts.c.total,
            counts.c.cancelled,
        )
        .select_from(
            shown.join(notices, N.id == shown.c.notice_id).join(counts, counts.c.notice_id == N.id)
        )
        .where(shown.c.id.in_([k[1] for k in keys]), N.id.in_(notice_ids))
    )
    after = followed_by(conn, notice_ids)
    found = {int(r.id): _portal_notice(r, after.get(int(r.id))) for r in conn.execute(query).all()}
    return [found[k[0]] for k in keys if k[0] in found]


def _portal_notice(row: Any, after: dict[str, Any] | None = None) -> PortalNotice:
    m = row._mapping
    rendered = m["rendered"] or {}
    parts = rendered.get("parts", {}) if isinstance(rendered, dict) else {}
    all_cancelled = int(m["cancelled"] or 0) >= int(m["total"] or 0) > 0
    if after is not None and after["relation"] == WITHDRAWS:
        return withdrawn_notice(m, parts, after)
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
        follows=m["follows"],
        followed_by=after,
        drill=bool(m["drill"]),
    )


def _page(
    conn: Connection,
    kinds: Sequence[str] | None,
    before: PortalCursor | None,
    after: PortalCursor | None,
    offset: int,
    limit: int,
    scope: PortalScope = REAL,
) -> PortalPage:
    if after is not None:
        keys = _keys_of(conn, kinds, after=after, limit=limit + 1, scope=scope)
        if len(keys) <= limit:  # reached the newest: the first page, whole
            return _page(conn, kinds, None, None, 0, limit, scope)
        keys = keys[:limit][::-1]
        older = True
        newer = True
    else:
        keys = _keys_of(conn, kinds, before=before, offset=offset, limit=limit + 1, scope=scope)
        older = len(keys) > limit
        keys = keys[:limit]
        newer = offset > 0
        if before is not None and not newer:
            edge = PortalCursor(keys[0][2], keys[0][0]) if keys else before
            newer = bool(_keys_of(conn, kinds, after=edge, limit=1, scope=scope))
    return PortalPage(_hydrate(conn, keys), newer=newer, older=older)


class PortalMixin(SqlCore):
    """:class:`publisher.store.portal.PortalReads` over SQL."""

    async def portal_notice(self, notice_id: int) -> PortalNotice | None:
        """The live notice with this id, or None (never posted to a portal, or no such id)."""
        query = (
            select(D.notice_id, D.id, D.posted_at)
            .where(D.notice_id == notice_id, *_pages(deliveries), _holds_page(), ~_is_withdrawal())
            .limit(1)
        )

        def _run(conn: Connection) -> PortalNotice | None:
            keys = [(int(r[0]), int(r[1]), r[2]) for r in conn.execute(query).all()]
            found = _hydrate(conn, keys)
            return found[0] if found else None

        return await self._read(_run)

    async def portal_notices(
        self,
        *,
        kinds: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 20,
        scope: PortalScope = REAL,
    ) -> list[PortalNotice]:
        """Live notices, newest page first, optionally of some kinds only."""

        def _run(conn: Connection) -> list[PortalNotice]:
            return _hydrate(conn, _keys_of(conn, kinds, offset=offset, limit=limit, scope=scope))

        return await self._read(_run)

    async def portal_page(
        self,
        *,
        kinds: Sequence[str] | None = None,
        before: PortalCursor | None = None,
        after: PortalCursor | None = None,
        offset: int = 0,
        limit: int = 20,
        scope: PortalScope = REAL,
    ) -> PortalPage:
        """``limit`` live notices, newest first, before or after a cursor (see the protocol)."""
        if before is not None and after is not None:
            raise ValueError("a page is read before a cursor or after one, not both")
        return await self._read(_page, kinds, before, after, offset, limit, scope)

    async def portal_count(
        self,
        *,
        kinds: Sequence[str] | None = None,
        at_most: int | None = None,
        scope: PortalScope = REAL,
    ) -> int:
        """How many live notices (of these kinds), counting no further than ``at_most``."""

        def _one(conn: Connection, kind: str | None, bound: int | None) -> int:
            query = select(D.notice_id).where(
                *_pages(deliveries), _holds_page(), *_public(), *_in_scope(scope)
            )
            if kind is not None:
                query = query.where(D.kind == kind)
            if bound is not None:
                query = query.limit(bound)
            counted = select(func.count()).select_from(query.subquery())
            return int(conn.execute(counted).scalar_one())

        def _run(conn: Connection) -> int:
            if kinds is None:
                return _one(conn, None, at_most)
            total = 0
            for kind in set(kinds):
                left = None if at_most is None else at_most - total
                if left is not None and left <= 0:
                    break
                total += _one(conn, kind, left)
            return total

        return await self._read(_run)

    async def portal_front_page(
        self, kinds: Iterable[str], per_kind: int, scope: PortalScope = REAL
    ) -> dict[str, list[PortalNotice]]:
        """The newest ``per_kind`` live notices of each kind, read in one snapshot."""
        wanted = list(kinds)

        def _run(conn: Connection) -> dict[str, list[PortalNotice]]:
            keys = {kind: _keys(conn, kind, limit=per_kind, scope=scope) for kind in wanted}
            found = {n.id: n for n in _hydrate(conn, [k for ks in keys.values() for k in ks])}
            return {kind: [found[k[0]] for k in keys[kind] if k[0] in found] for kind in wanted}

        return await self._read(_run)

    async def portal_withdrawal_of(self, notice_id: int) -> int | None:
        """For a withdrawal (issue 11), the notice it withdrew; None otherwise."""
        return await self._read(withdrawal_of, notice_id)

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
