"""Rows to records and back: the statements and converters every part of the SQL store shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, insert, or_

from publisher.states import Status
from publisher.store.records import AccountState, DeliveryRecord, NoticeRecord
from publisher.store.schema import deliveries, events, notices

D = deliveries.c
RECONCILING = (Status.SENDING, Status.CONFIRMING)  # claimed again to settle, not to publish

# Statements built once: building them per call was most of a small transaction's cost.
INSERT_NOTICE = insert(notices).returning(notices.c.id)
# Ids come back matched by account (one delivery per notice and account), not by order:
# asking SQLAlchemy for parameter order made SQLite insert the rows one statement each.
INSERT_DELIVERIES = insert(deliveries).returning(D.id, D.account)
INSERT_EVENT = insert(events)
EVENT_COLUMNS = (
    "notice_id",
    "delivery_id",
    "at",
    "action",
    "from_status",
    "to_status",
    "actor",
    "reason",
)


def event_row(
    notice_id: int,
    delivery_id: int | None,
    at: datetime,
    action: str,
    from_status: str | None,
    to_status: str | None,
    actor: str,
    reason: str | None,
) -> dict[str, Any]:
    """One event row, with every column present (so batches share one statement)."""
    return dict(
        notice_id=notice_id,
        delivery_id=delivery_id,
        at=at,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
    )


def claimable(now: Any) -> Any:
    """Rows a worker may take at ``now`` (a datetime or a bound parameter): due work, expired
    leases, due confirmations and reconciliations."""
    return or_(
        and_(D.status.in_([Status.PENDING, Status.RETRY_WAIT]), D.not_before <= now),
        and_(D.status == Status.LEASED, D.lease_until < now),
        and_(
            D.status.in_([Status.SENDING, Status.CONFIRMING]),
            D.not_before <= now,
            or_(D.lease_until.is_(None), D.lease_until < now),
        ),
    )


def delivery_record(row: Row[Any]) -> DeliveryRecord:
    """A ``deliveries`` row as a record."""
    m = row._mapping
    return DeliveryRecord(
        id=m["id"],
        notice_id=m["notice_id"],
        account=m["account"],
        channel=m["channel"],
        status=m["status"],
        priority=m["priority"],
        not_before=m["not_before"],
        attempts=m["attempts"],
        max_attempts=m["max_attempts"],
        idempotency_key=m["idempotency_key"],
        remote_id=m["remote_id"],
        url=m["url"],
        error=m["error"],
        note=m["note"],
        detail=m["detail"],
        rendered=m["rendered"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        posted_at=m["posted_at"],
        lease_until=m["lease_until"],
        worker_id=m["worker_id"],
        lookups=m["lookups"],
    )


def notice_record(row: Row[Any]) -> NoticeRecord:
    """A ``notices`` row as a record (without deliveries and events)."""
    m = row._mapping
    return NoticeRecord(
        id=m["id"],
        kind=m["kind"],
        title=m["title"],
        body=m["body"],
        summary=m["summary"],
        table=m["table_data"],
        fields=m["fields"],
        urgent=m["urgent"],
        publish_at=m["publish_at"],
        idempotency_key=m["idempotency_key"],
        fingerprint=m["fingerprint"],
        source=m["source"],
        created_by=m["created_by"],
        created_at=m["created_at"],
        follows_id=m.get("follows_id"),
        relation=m.get("relation"),
        follows=m.get("follows"),
        drill=bool(m.get("drill")),
    )


def account_state(m: Any) -> AccountState:
    """A ``channel_state`` row (a mapping) as admission sees it."""
    return AccountState(
        account=m["account"],
        breaker=m["breaker"],
        open_until=m["open_until"],
        failures=m["failures"],
        recent=tuple(m["recent"] or ()),
        last_error=m["last_error"],
    )
