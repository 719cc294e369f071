"""Claims and admission: handing due deliveries to exactly one worker, under a lease.

The accounts' state rows are locked (in one order, so claimers never deadlock) and their
in-flight counts read; the caller's :class:`~publisher.store.base.Admission` then says how
much each account may take, and the due rows are taken with ``SKIP LOCKED`` (PostgreSQL) so
concurrent claimers never wait on each other's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, bindparam, case, func, insert, literal, select, update
from sqlalchemy.engine import Connection, Engine

from publisher import contract
from publisher.contract import Clock
from publisher.states import IN_FLIGHT, Status
from publisher.store import reasons
from publisher.store.records import AccountState, Claimed, ClaimRequest, Job
from publisher.store.schema import channel_state, deliveries, notices
from publisher.store.sql.core import SqlCore
from publisher.store.sql.recalls import attach_recalls
from publisher.store.sql.rows import (
    INSERT_EVENT,
    RECONCILING,
    account_state,
    claimable,
    delivery_record,
    event_row,
    notice_record,
)

D = deliveries.c


class ClaimStatements:
    """The claim's statements, built once per store (they differ only in row locking)."""

    def __init__(self, lock: Callable[..., Any]) -> None:
        now: Any = bindparam("now")
        account: Any = bindparam("account")
        accounts: Any = bindparam("accounts", expanding=True)
        due_now = claimable(now)
        order = (D.priority.desc(), D.not_before, D.id)
        # Locking the accounts' state rows (in one order, so claimers never deadlock) is what
        # makes concurrency and rate limits hold across workers.
        self.states = lock(
            select(channel_state)
            .where(channel_state.c.account.in_(accounts))
            .order_by(channel_state.c.account)
        )
        self.in_flight = (
            select(D.account, func.count())
            .where(D.account.in_(accounts), D.status.in_(IN_FLIGHT), D.lease_until >= now)
            .group_by(D.account)
        )
        self.set_state = (
            update(channel_state)
            .where(channel_state.c.account == bindparam("b_account"))
            .values(recent=bindparam("recent"), breaker=bindparam("breaker"))
        )
        self.due = lock(
            select(D.id, D.status)
            .where(D.account == account, due_now)
            .order_by(*order)
            .limit(bindparam("room")),
            skip_locked=True,
        )
        fresh = D.status.not_in([Status.SENDING, Status.CONFIRMING])
        common: dict[str, Any] = dict(
            lease_until=bindparam("lease"),
            worker_id=bindparam("worker"),
            updated_at=bindparam("now"),
        )
        take = update(deliveries).where(D.id.in_(bindparam("ids", expanding=True)))
        self.take_leased = take.values(
            status=case((fresh, literal(Status.LEASED.value)), else_=D.status), **common
        ).returning(*deliveries.c)
        self.take_sending = take.values(
            status=case((fresh, literal(Status.SENDING.value)), else_=D.status),
            attempts=case((fresh, D.attempts + 1), else_=D.attempts),
            **common,
        ).returning(*deliveries.c)
        self.notices = select(notices).where(notices.c.id.in_(bindparam("ids", expanding=True)))
        self.due_accounts = (
            select(D.account, func.max(D.priority).label("top"))
            .where(due_now)
            .group_by(D.account)
            .order_by(func.max(D.priority).desc())
        )


class ClaimsMixin(SqlCore):
    """``claim`` and the claim transaction the submit fast path shares."""

    def __init__(self, engine: Engine, clock: Clock, threads: int = 1) -> None:
        super().__init__(engine, clock, threads)
        self._q = ClaimStatements(self._for_update)

    async def claim(
        self, request: ClaimRequest, capacity: int
    ) -> tuple[list[Claimed], float | None]:
        """Lease up to ``capacity`` due deliveries across accounts, urgent first.

        Returns the claimed work and, when an account held work back (rate limit, breaker,
        concurrency), how many seconds until it may be worth asking again.
        """

        def _run(conn: Connection) -> tuple[list[Claimed], float | None]:
            rows = conn.execute(self._q.due_accounts, {"now": self.clock.now()}).all()
            due = [(a, request.limits[a]) for a, _top in rows if a in request.limits]
            each = max(1, capacity // len(due)) if due else 0  # a fair share of free slots
            wants = [(a, min(each, limit.max_concurrency)) for a, limit in due[:capacity]]
            return self._claim_accounts(conn, request, wants)

        # One transaction for every account: per-account transactions in parallel cost more
        # round trips than they saved, even on PostgreSQL.
        return await self._tx(_run)

    def _claim_accounts(
        self,
        conn: Connection,
        request: ClaimRequest,
        wants: Sequence[tuple[str, int]],
        only_ids: Mapping[str, Sequence[int]] | None = None,
        view: contract.NoticeView | None = None,
        events_out: list[dict[str, Any]] | None = None,
    ) -> tuple[list[Claimed], float | None]:
        """Claim up to ``want`` deliveries per account as admission allows, in the caller's
        transaction; also the soonest time an account that held work back frees up.

        ``only_ids`` are deliveries this transaction has just inserted (the submit fast path):
        pending and invisible to other workers until commit, so they need no row lock, and
        ``view`` (their notice) and ``events_out`` (events written with the submit's own)
        save the statements a claim otherwise needs.
        """
        if not wants:
            return [], None
        q = self._q
        now = self.clock.now()
        names = sorted(account for account, _ in wants)
        states = self._channel_states(conn, names)
        counted = conn.execute(q.in_flight, {"accounts": names, "now": now})
        in_flight: dict[str, int] = {row[0]: row[1] for row in counted}
        previous: dict[int, str] = {}
        take: dict[bool, list[int]] = {True: [], False: []}  # claimed as sending / as leased
        state_rows: list[dict[str, Any]] = []
        waits: list[float] = []
        for account, want in wants:
            limit, state = request.limits[account], states[account]
            admitted = request.admission.admit(limit, state, in_flight.get(account, 0), want, now)
            if admitted.wait is not None:
                waits.append(admitted.wait)
            if admitted.room <= 0:
                continue
            if only_ids is None:
                params = {"account": account, "now": now, "room": admitted.room}
                mine = {r.id: r.status for r in conn.execute(q.due, params)}
            else:
                mine = {i: Status.PENDING.value for i in list(only_ids[account])[: admitted.room]}
            if not mine:
                continue
            previous.update(mine)
            # Where an unknown outcome can be reconciled exactly (lookup or remote key), the
            # claim itself is the committed ``sending`` mark; otherwise ``leased`` now and
            # ``sending`` just before the call.
            take[limit.claim_as_sending].extend(mine)
            publishes = sum(1 for st in mine.values() if st not in RECONCILING)
            after = request.admission.claimed(limit, state, admitted, publishes, now)
            if after is not None:
                state_rows.append(
                    {"b_account": account, "recent": list(after.recent), "breaker": after.breaker}
                )
        wait = min(waits) if waits else None
        if not previous:
            return [], wait
        lease = {
            "lease": now + timedelta(seconds=request.lease_seconds),
            "worker": request.worker_id,
            "now": now,
        }
        full: list[Row[Any]] = []
        for as_sending, ids in take.items():
            if ids:
                statement = q.take_sending if as_sending else q.take_leased
                full += conn.execute(statement, {"ids": ids, **lease}).all()
        full.sort(key=lambda r: (-r.priority, r.not_before, r.id))
        if state_rows:
            conn.execute(q.set_state, state_rows)
        notice_ids = list({row.notice_id for row in full})
        if view is not None and notice_ids == [view.id]:
            views = {view.id: view}
        else:
            found = conn.execute(q.notices, {"ids": notice_ids})
            views = {n.id: notice_record(n).view() for n in found}
        claimed = []
        event_rows = []
        for row in full:
            delivery = delivery_record(row)
            before = previous[delivery.id]
            job = {
                Status.SENDING: Job.RECONCILE,
                Status.CONFIRMING: Job.CONFIRM,
            }.get(Status(before), Job.PUBLISH)
            marked = job is Job.PUBLISH and request.limits[delivery.account].claim_as_sending
            claimed.append(
                Claimed(job=job, delivery=delivery, notice=views[delivery.notice_id], marked=marked)
            )
            if job is not Job.CONFIRM:
                event_rows.append(
                    event_row(
                        delivery.notice_id,
                        delivery.id,
                        now,
                        "sending" if marked else "claimed" if job is Job.PUBLISH else "reconcile",
                        before,
                        delivery.status,
                        request.worker_id,
                        reasons.attempt(delivery.attempts) if marked else reasons.claimed(before),
                    )
                )
        claimed = attach_recalls(conn, claimed)  # withdrawals: the original's post
        if events_out is not None:
            events_out.extend(event_rows)
        elif event_rows:
            conn.execute(INSERT_EVENT, event_rows)
        return claimed, wait

    def _channel_states(self, conn: Connection, accounts: Sequence[str]) -> dict[str, AccountState]:
        """The accounts' state rows, locked for this transaction; created on first use."""
        rows = {
            r.account: account_state(r._mapping)
            for r in conn.execute(self._q.states, {"accounts": accounts})
        }
        for account in accounts:
            if account in rows:
                continue
            # First claim ever for this account: no row to lock yet, so two claimers could
            # both create it. The account lock orders them; the second finds the first's row.
            self._lock_account(conn, account)
            again = conn.execute(self._q.states, {"accounts": [account]}).first()
            if again is not None:
                rows[account] = account_state(again._mapping)
                continue
            state = AccountState(account)
            conn.execute(
                insert(channel_state),
                dict(
                    account=account,
                    recent=[],
                    failures=state.failures,
                    breaker=state.breaker,
                    open_until=None,
                    last_error=None,
                ),
            )
            rows[account] = state
        return rows
