"""Notices and deliveries as JSON-ready dicts: one shape for the CLI and the HTTP API."""

from __future__ import annotations

from typing import Any

from publisher.queue.states import notice_status
from publisher.store.records import DeliveryRecord, EventRecord, NoticeRecord


def delivery_json(d: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": d.id,
        "notice_id": d.notice_id,
        "channel": d.account,
        "type": d.channel,
        "status": d.status,
        "remote_id": d.remote_id,
        "url": d.url,
        "attempts": d.attempts,
        "not_before": d.not_before.isoformat(),
        "posted_at": d.posted_at.isoformat() if d.posted_at else None,
        "error": d.error,
        "note": d.note,
    }


def event_json(e: EventRecord) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(),
        "delivery_id": e.delivery_id,
        "action": e.action,
        "from": e.from_status,
        "to": e.to_status,
        "reason": e.reason,
        "actor": e.actor,
    }


def notice_json(
    n: NoticeRecord,
    *,
    events: bool = False,
    metrics: dict[int, dict[str, object]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": n.id,
        "status": notice_status(d.status for d in n.deliveries),
        "kind": n.kind,
        "title": n.title,
        "urgent": n.urgent,
        "publish_at": n.publish_at.isoformat() if n.publish_at else None,
        "created_at": n.created_at.isoformat(),
        "source": n.source,
        "created_by": n.created_by,
        "idempotency_key": n.idempotency_key,
        "drill": n.drill,  # drills (issue 11 C)
        "deliveries": [delivery_json(d) for d in n.deliveries],
    }
    if metrics is not None:
        for d in out["deliveries"]:
            d["metrics"] = metrics.get(d["id"], {})
    if events:
        out["events"] = [event_json(e) for e in n.events]
    return out
