"""Reach and scheduled runs: metric samples of posted deliveries, once-only job fires."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from publisher.contract import MetricSample, PostRef
from publisher.states import Status
from publisher.store.schema import deliveries, job_runs, metric_samples
from publisher.store.sql.core import SqlCore

D = deliveries.c
M = metric_samples.c


class ReachMixin(SqlCore):
    """Metric samples (the store side of reach) and job-run claims (the scheduler's)."""

    async def posted_refs(
        self, account: str, posted_after: datetime, posted_before: datetime
    ) -> list[PostRef]:
        """The account's posted deliveries with ``posted_at`` in the closed range, oldest first:
        the posts whose numbers are worth asking for now."""
        query = (
            select(D.id, D.remote_id, D.url, D.idempotency_key, D.posted_at, D.detail)
            .where(
                D.account == account,
                D.status == Status.POSTED,
                D.posted_at >= posted_after,
                D.posted_at <= posted_before,
            )
            .order_by(D.id)
        )

        def _run(conn: Connection) -> list[PostRef]:
            return [
                PostRef(
                    delivery_id=r.id,
                    remote_id=r.remote_id,
                    url=r.url,
                    idempotency_key=r.idempotency_key,
                    posted_at=r.posted_at,
                    detail=dict(r.detail or {}),
                )
                for r in conn.execute(query).all()
            ]

        return await self._read(_run)

    async def add_metric_samples(self, samples: Sequence[MetricSample]) -> int:
        """Append samples in one transaction; returns how many."""
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

        def _run(conn: Connection) -> int:
            conn.execute(insert(metric_samples), rows)
            return len(rows)

        return await self._tx(_run)

    async def latest_metrics(self, delivery_ids: Sequence[int]) -> dict[int, dict[str, object]]:
        """Per delivery, the newest value of each metric, with ``as_of`` (ISO time of the
        newest observation) and ``source``. Deliveries without samples are absent."""
        if not delivery_ids:
            return {}
        newest = (
            select(M.delivery_id, M.metric, func.max(M.observed_at).label("at"))
            .where(M.delivery_id.in_(list(delivery_ids)))
            .group_by(M.delivery_id, M.metric)
            .subquery()
        )
        query = select(M.delivery_id, M.metric, M.value, M.observed_at, M.source).join(
            newest,
            and_(
                M.delivery_id == newest.c.delivery_id,
                M.metric == newest.c.metric,
                M.observed_at == newest.c.at,
            ),
        )

        def _run(conn: Connection) -> dict[int, dict[str, object]]:
            out: dict[int, dict[str, object]] = {}
            for r in conn.execute(query).all():
                entry = out.setdefault(r.delivery_id, {})
                entry[r.metric] = r.value
                entry["as_of"] = max(str(entry.get("as_of", "")), r.observed_at.isoformat())
                entry["source"] = r.source
            return out

        return await self._read(_run)

    async def claim_job_run(self, job: str, fire_time: datetime, runner: str) -> bool:
        """True for exactly one caller per (job, fire time), across processes: the fire is
        recorded as a ``job_runs`` row before it runs."""
        row = dict(job=job, fire_time=fire_time, started_at=self.clock.now(), runner=runner)

        def _run(conn: Connection) -> None:
            conn.execute(insert(job_runs).values(row))

        try:
            await self._tx(_run)
        except IntegrityError:
            return False
        return True
