"""What the portal reads from the store: live notices, their state, and page-view counts.

A notice is *live* on the portal once a delivery of channel type ``portal`` has been posted.
A delivery cancelled after it was posted (``posted_at`` set) keeps its page, marked withdrawn,
so a link already shared on Weibo or WeChat still explains what happened. Every function
here takes a SQLAlchemy ``Connection`` and runs inside ``SqlStore._read``/``_tx`` on the
store's database thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, insert, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from publisher.store.schema import UTCDateTime, deliveries, notices, page_views

CHANNEL = "portal"
D = deliveries.c
N = notices.c

_SHOWN = and_(
    D.channel == CHANNEL,
    D.posted_at.is_not(None),
    D.status.in_(("posted", "cancelled")),
)


def _live() -> Any:
    """Per notice: when its portal page went live, which delivery holds it, cancellations."""
    return (
        select(
            D.notice_id.label("notice_id"),
            type_coerce(func.min(case((_SHOWN, D.posted_at))), UTCDateTime()).label("posted_at"),
            func.min(case((_SHOWN, D.id))).label("delivery_id"),
            func.count().label("total"),
            func.sum(case((D.status == "cancelled", 1), else_=0)).label("cancelled"),
        )
        .group_by(D.notice_id)
        .having(func.min(case((_SHOWN, D.id))).is_not(None))
        .subquery("live")
    )


def parse_time(value: Any, zone: ZoneInfo) -> datetime | None:
    """A time from a notice field: ISO 8601; without an offset it is local time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@dataclass(frozen=True)
class PortalNotice:
    """A notice as its portal page shows it."""

    id: int
    kind: str
    title: str  # the portal's rendered title
    body_html: str  # the portal's rendered body (sanitised again before it is served)
    body: str  # the notice's own text (CAP description)
    summary: str | None
    table: Mapping[str, Any] | None
    fields: Mapping[str, Any]
    urgent: bool
    created_at: datetime
    posted_at: datetime
    all_cancelled: bool
    withdrawn_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def withdrawn(self) -> bool:
        return self.all_cancelled or bool(self.fields.get("withdrawn"))

    @property
    def lifted(self) -> bool:
        """Explicitly lifted (解除) by a later message."""
        return bool(self.fields.get("lifted"))

    def valid_until(self, zone: ZoneInfo) -> datetime | None:
        return parse_time(self.fields.get("valid_until"), zone)

    def issued_at(self, zone: ZoneInfo) -> datetime:
        return parse_time(self.fields.get("issued_at"), zone) or self.posted_at

    def state(self, now: datetime, zone: ZoneInfo) -> str:
        """``withdrawn``, ``lifted``, ``expired`` or ``active``."""
        if self.withdrawn:
            return "withdrawn"
        if self.lifted:
            return "lifted"
        until = self.valid_until(zone)
        if until is not None and until <= now:
            return "expired"
        return "active"


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


def live_notice(conn: Connection, notice_id: int) -> PortalNotice | None:
    live = _live()
    row = conn.execute(_select(live).where(N.id == notice_id)).first()
    return None if row is None else _portal_notice(row)


def live_notices(
    conn: Connection,
    *,
    kinds: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = 20,
) -> list[PortalNotice]:
    """Newest first."""
    live = _live()
    query = _select(live)
    if kinds is not None:
        query = query.where(N.kind.in_(list(kinds)))
    query = query.order_by(live.c.posted_at.desc(), N.id.desc()).offset(offset).limit(limit)
    return [_portal_notice(r) for r in conn.execute(query).all()]


def count_live(conn: Connection, *, kinds: Sequence[str] | None = None) -> int:
    live = _live()
    query = select(func.count()).select_from(live.join(notices, N.id == live.c.notice_id))
    if kinds is not None:
        query = query.where(N.kind.in_(list(kinds)))
    return int(conn.execute(query).scalar_one())


def front_page(
    conn: Connection, kinds: Iterable[str], per_kind: int
) -> dict[str, list[PortalNotice]]:
    return {kind: live_notices(conn, kinds=[kind], limit=per_kind) for kind in kinds}


# -- page views -----------------------------------------------------------------------------


def record_view(
    conn: Connection, notice_id: int, day: date, visitor_hash: str, now: datetime
) -> bool:
    """Count one visitor on one notice for one day; False if already counted."""
    row = {"notice_id": notice_id, "day": day, "visitor_hash": visitor_hash, "first_seen_at": now}
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(page_views).values(row).on_conflict_do_nothing()
        return conn.execute(statement.returning(page_views.c.notice_id)).first() is not None
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg_statement = pg_insert(page_views).values(row).on_conflict_do_nothing()
        return conn.execute(pg_statement.returning(page_views.c.notice_id)).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(insert(page_views).values(row))
    except IntegrityError:
        return False
    return True


def view_counts(conn: Connection, notice_ids: Iterable[int]) -> dict[int, int]:
    """Counted page views per notice (notices without any are 0)."""
    ids = sorted(set(notice_ids))
    counts = dict.fromkeys(ids, 0)
    if ids:
        query = (
            select(page_views.c.notice_id, func.count())
            .where(page_views.c.notice_id.in_(ids))
            .group_by(page_views.c.notice_id)
        )
        counts.update({int(n): int(c) for n, c in conn.execute(query).all()})
    return counts
