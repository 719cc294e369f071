"""Leases and outcomes: ``sending`` before the call, the outcome after, and people's actions.

Only the lease holder may write progress: every write here first checks (row-locked on
PostgreSQL) that the worker still holds the delivery, and returns False when it does not.
``mark_sending`` and ``finish`` are group-committed: concurrent calls share one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from publisher.errors import NotFoundError, StateError
from publisher.states import CANCELLABLE, IN_FLIGHT, RETRYABLE, Status
from publisher.store import reasons
from publisher.store.base import Admission
from publisher.store.records import DeliveryRecord, Outcome
from publisher.store.schema import deliveries, workers
from publisher.store.sql.accounts import AccountsMixin
from publisher.store.sql.rows import INSERT_EVENT, delivery_record, event_row

D = deliveries.c
MARK_SENDING = (
    update(deliveries)
    .where(D.id == bindparam("b_id"))
    .values(status=Status.SENDING, attempts=D.attempts + 1, updated_at=bindparam("now"))
)


class OutcomesMixin(AccountsMixin):
    """Progress on leased deliveries, lease upkeep, manual retry and cancel."""

    async def mark_sending(self, delivery: DeliveryRecord, worker_id: str) -> bool:
        """Commit ``sending`` (and count the attempt) before the network call.

        False means the lease was lost (expired and taken over); the caller must not send.
        Concurrent calls are committed together (group commit); each still returns only
        once its own row is durable.
        """
        result: bool = await self._group.run(self._mark_sending_many, (delivery, worker_id))
        return result

    def _mark_sending_many(
        self, conn: Connection, items: Sequence[tuple[DeliveryRecord, str]]
    ) -> list[bool]:
        now = self.clock.now()
        held = self._held(conn, [(d.id, w) for d, w in items], [Status.LEASED, Status.SENDING])
        mine = [(d, w) for d, w in items if d.id in held]
        if mine:
            conn.execute(MARK_SENDING, [{"b_id": d.id, "now": now} for d, _ in mine])
            conn.execute(
                INSERT_EVENT,
                [
                    event_row(
                        d.notice_id,
                        d.id,
                        now,
                        "sending",
                        d.status,
                        Status.SENDING,
                        w,
                        reasons.attempt(d.attempts + 1),
                    )
                    for d, w in mine
                ],
            )
        return [d.id in held for d, _ in items]

    def _held(
        self, conn: Connection, pairs: Sequence[tuple[int, str]], statuses: Sequence[str] | None
    ) -> set[int]:
        """Which of these deliveries each worker still holds (row-locked on PostgreSQL)."""
        query = select(D.id, D.worker_id).where(D.id.in_([i for i, _ in pairs]))
        if statuses is not None:
            query = query.where(D.status.in_(statuses))
        owner = {row.id: row.worker_id for row in conn.execute(self._for_update(query))}
        return {i for i, w in pairs if owner.get(i) == w}

    async def finish(
        self, delivery: DeliveryRecord, worker_id: str, outcome: Outcome, admission: Admission
    ) -> bool:
        """Commit how an attempt ended; move the account's breaker. False if the lease was
        lost. Group-committed like :meth:`mark_sending`."""
        result: bool = await self._group.run(
            self._finish_many, (delivery, worker_id, outcome, admission)
        )
        return result

    def _finish_many(
        self,
        conn: Connection,
        items: Sequence[tuple[DeliveryRecord, str, Outcome, Admission]],
    ) -> list[bool]:
        now = self.clock.now()
        held = self._held(conn, [(d.id, w) for d, w, _, _ in items], None)
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        event_rows = []
        succeeded: set[str] = set()
        notify = False
        for delivery, worker_id, outcome, admission in items:
            if delivery.id not in held:
                continue
            values = _finish_values(outcome, now)
            values["b_id"] = delivery.id
            shapes.setdefault(tuple(sorted(values)), []).append(values)
            was = Status.CONFIRMING if delivery.status == Status.CONFIRMING else Status.SENDING
            event_rows.append(
                event_row(
                    delivery.notice_id,
                    delivery.id,
                    now,
                    outcome.action,
                    was,
                    outcome.to_status,
                    worker_id,
                    outcome.reason,
                )
            )
            if outcome.failure:
                self._record_failure(conn, delivery.account, outcome.reason, now, admission)
            elif outcome.success:
                succeeded.add(delivery.account)
            notify = notify or outcome.to_status in (Status.PENDING, Status.RETRY_WAIT)
        for keys, rows in shapes.items():
            flags = ("b_id", "refund", "lookup_failed")
            columns: dict[str, Any] = {k: bindparam(k) for k in keys if k not in flags}
            if "refund" in keys:
                columns["attempts"] = D.attempts - 1
            if "lookup_failed" in keys:
                columns["lookups"] = D.lookups + 1
            for row in rows:
                row.pop("refund", None)
                row.pop("lookup_failed", None)
            conn.execute(update(deliveries).where(D.id == bindparam("b_id")).values(columns), rows)
        if succeeded:
            self._close_breakers(conn, sorted(succeeded))
        if event_rows:
            conn.execute(INSERT_EVENT, event_rows)
        if notify:
            self._notify(conn)
        return [d.id in held for d, _, _, _ in items]

    async def confirm_now(self, account: str, remote_id: str) -> bool:
        """A channel said a two-phase job finished: make its delivery due for confirm now.
        False when no ``confirming`` delivery of the account has that remote id."""
        now = self.clock.now()

        def _run(conn: Connection) -> bool:
            done = conn.execute(
                update(deliveries)
                .where(
                    D.account == account,
                    D.remote_id == remote_id,
                    D.status == Status.CONFIRMING,
                )
                .values(not_before=now)
            )
            return bool(done.rowcount)

        return await self._tx(_run)

    async def renew_leases(self, worker_id: str, lease_seconds: float) -> None:
        """Keep this worker's in-flight leases alive while it works on them; beat its heart."""
        now = self.clock.now()

        def _run(conn: Connection) -> Any:
            conn.execute(
                update(deliveries)
                .where(D.worker_id == worker_id, D.status.in_([*IN_FLIGHT, Status.CONFIRMING]))
                .values(lease_until=now + timedelta(seconds=lease_seconds))
            )
            conn.execute(update(workers).where(workers.c.id == worker_id).values(heartbeat_at=now))

        await self._tx(_run)

    async def expire_all_leases(self, reason: str) -> int:
        """Single-process deployments at start-up: every lease belongs to a dead process.
        Returns how many were released (one ``recovered`` event says so)."""
        now = self.clock.now()

        def _run(conn: Connection) -> int:
            result = conn.execute(
                update(deliveries)
                .where(D.lease_until.is_not(None), D.status.in_([*IN_FLIGHT, Status.CONFIRMING]))
                .values(lease_until=now - timedelta(seconds=1))
            )
            count = int(result.rowcount)
            if count:
                why = reasons.leases_released(count, reason)
                conn.execute(
                    INSERT_EVENT, event_row(0, None, now, "recovered", None, None, "worker", why)
                )
            return count

        return await self._tx(_run)

    # -- people's actions -----------------------------------------------------------------

    async def retry(self, delivery_id: int, actor: str) -> DeliveryRecord:
        """Send a failed, needs-review or cancelled delivery again (``pending`` now, counters
        reset). NotFoundError; StateError from another state or when it changed meanwhile."""
        return await self._manual(
            delivery_id, actor, RETRYABLE, Status.PENDING, "retry", reasons.MANUAL_RETRY
        )

    async def cancel(self, delivery_id: int, actor: str) -> DeliveryRecord:
        """Cancel a delivery not yet sent (or failed / needing review). NotFoundError;
        StateError from another state or when it changed meanwhile."""
        return await self._manual(
            delivery_id, actor, CANCELLABLE, Status.CANCELLED, "cancelled", reasons.MANUAL_CANCEL
        )

    async def _manual(
        self,
        delivery_id: int,
        actor: str,
        allowed: Iterable[str],
        to_status: Status,
        action: str,
        reason: str,
    ) -> DeliveryRecord:
        allowed = list(allowed)
        now = self.clock.now()
        query = select(deliveries).where(D.id == delivery_id)

        def _run(conn: Connection) -> DeliveryRecord:
            row = conn.execute(query).first()
            if row is None:
                raise NotFoundError(reasons.no_delivery(delivery_id))
            before = row.status
            if before not in allowed:
                raise StateError(reasons.manual_refused(delivery_id, before, allowed, action))
            values: dict[str, Any] = dict(
                status=to_status, updated_at=now, lease_until=None, worker_id=None
            )
            if to_status == Status.PENDING:
                values.update(not_before=now, attempts=0, lookups=0, error=None)
            result = conn.execute(
                update(deliveries).where(D.id == delivery_id, D.status == before).values(**values)
            )
            if result.rowcount != 1:
                raise StateError(reasons.changed_meanwhile(delivery_id))
            conn.execute(
                INSERT_EVENT,
                event_row(
                    row.notice_id, delivery_id, now, action, before, to_status, actor, reason
                ),
            )
            if to_status == Status.PENDING:
                self._notify(conn)
            return delivery_record(conn.execute(query).one())

        return await self._tx(_run)


def _finish_values(outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The column values recording how an attempt ended.

    Two flags become column arithmetic in ``_finish_many``: ``refund`` gives the attempt back,
    ``lookup_failed`` counts one more failed lookup.
    """
    values: dict[str, Any] = dict(
        status=outcome.to_status, updated_at=now, lease_until=None, worker_id=None
    )
    if outcome.to_status in (Status.SENDING, Status.CONFIRMING):
        values["lease_until"] = now  # expired at once: claimable again when due
    for name in ("remote_id", "url", "detail", "note", "not_before"):
        value = getattr(outcome, name)
        if value is not None:
            values[name] = value
    if outcome.error is not None or outcome.to_status == Status.POSTED:
        values["error"] = outcome.error
    if outcome.to_status == Status.POSTED:
        values["posted_at"] = now
    if outcome.refund_attempt:
        values["refund"] = True
    if outcome.lookup_failed:
        values["lookup_failed"] = True
    return values
