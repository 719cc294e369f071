"""Reading and writing metric samples (the store side of reach)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine import Connection

from publisher.contract import MetricSample, PostRef
from publisher.queue.states import Status
from publisher.store.schema import deliveries, metric_samples
from publisher.store.sql import SqlStore

D = deliveries.c
M = metric_samples.c


async def posted_refs(
    store: SqlStore, account: str, posted_after: datetime, posted_before: datetime
) -> list[PostRef]:
    """Posts of an account whose numbers are worth asking for now."""

    def run(conn: Connection) -> list[PostRef]:
        rows = conn.execute(
            select(D.id, D.remote_id, D.url, D.idempotency_key, D.posted_at, D.detail)
            .where(
                D.account == account,
                D.status == Status.POSTED,
                D.posted_at >= posted_after,
                D.posted_at <= posted_before,
            )
            .order_by(D.id)
        ).all()
        return [
            PostRef(
                delivery_id=r.id,
                remote_id=r.remote_id,
                url=r.url,
                idempotency_key=r.idempotency_key,
                posted_at=r.posted_at,
                detail=dict(r.detail or {}),
            )
            for r in rows
        ]

    return await store._read(run)


async def add_samples(store: SqlStore, samples: Sequence[MetricSample]) -> int:
    if not samples:
        return 0
    rows = [
        dict(
            delivery_id=s.delivery_id,
            metric=s.metric,
            value=int(s.value),
            observed_at=s.observed_at,
            source=s.source,
        )
        for s in samples
    ]

    def run(conn: Connection) -> int:
        conn.execute(insert(metric_samples), rows)
        return len(rows)

    return await store._tx(run)


async def latest(store: SqlStore, delivery_ids: Sequence[int]) -> dict[int, dict[str, object]]:
    """The newest value of each metric per delivery, with when it was observed."""
    if not delivery_ids:
        return {}

    def run(conn: Connection) -> dict[int, dict[str, object]]:
        newest = (
            select(M.delivery_id, M.metric, func.max(M.observed_at).label("at"))
            .where(M.delivery_id.in_(list(delivery_ids)))
            .group_by(M.delivery_id, M.metric)
            .subquery()
        )
        rows = conn.execute(
            select(M.delivery_id, M.metric, M.value, M.observed_at, M.source).join(
                newest,
                and_(
                    M.delivery_id == newest.c.delivery_id,
                    M.metric == newest.c.metric,
                    M.observed_at == newest.c.at,
                ),
            )
        ).all()
        out: dict[int, dict[str, object]] = {}
        for r in rows:
            entry = out.setdefault(r.delivery_id, {})
            entry[r.metric] = r.value
            entry["as_of"] = max(str(entry.get("as_of", "")), r.observed_at.isoformat())
            entry["source"] = r.source
        return out

    return await store._read(run)
