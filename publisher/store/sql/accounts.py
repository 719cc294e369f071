"""Channel state and credentials: each account's breaker, the worker registry, stored tokens.

The rate window's rows (``channel_state.recent``) are written by the claim (``claims.py``);
here the breaker is moved by outcomes, and the small tables beside it are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from publisher.store import reasons
from publisher.store.base import AccountStore, Admission
from publisher.store.records import Breaker
from publisher.store.schema import channel_state, credentials, workers
from publisher.store.sql.core import SqlCore
from publisher.store.sql.rows import INSERT_EVENT, account_state, event_row

S = channel_state.c
CLOSE_BREAKERS = (
    update(channel_state)
    .where(
        S.account.in_(bindparam("accounts", expanding=True)),
        or_(S.failures != 0, S.breaker != Breaker.CLOSED.value),
    )
    .values(failures=0, breaker=Breaker.CLOSED.value, open_until=None)
)


class AccountsMixin(SqlCore):
    """Breakers moved by outcomes; workers; credentials."""

    def _record_failure(
        self, conn: Connection, account: str, error: str | None, now: datetime, admission: Admission
    ) -> None:
        """A failed attempt counts towards the account's breaker (row locked meanwhile)."""
        row = conn.execute(
            self._for_update(select(channel_state).where(S.account == account))
        ).first()
        if row is None:
            return
        before = account_state(row._mapping)
        after, tripped = admission.failed(before, now, error)
        conn.execute(
            update(channel_state)
            .where(S.account == account)
            .values(
                failures=after.failures,
                last_error=after.last_error,
                breaker=after.breaker,
                open_until=after.open_until,
            )
        )
        if tripped:
            pause = (after.open_until - now).total_seconds() if after.open_until else 0.0
            reason = reasons.breaker_open(account, after.failures, pause)
            conn.execute(
                INSERT_EVENT, event_row(0, None, now, "breaker_open", None, None, "worker", reason)
            )

    @staticmethod
    def _close_breakers(conn: Connection, accounts: Sequence[str]) -> None:
        """A success closes these accounts' breakers and forgets their failures."""
        conn.execute(CLOSE_BREAKERS, {"accounts": sorted(accounts)})

    # -- workers --------------------------------------------------------------------------

    async def register_worker(self, worker_id: str, host: str, pid: int) -> None:
        """Record a worker as alive from now (its heartbeat is ``renew_leases``)."""
        now = self.clock.now()

        def _run(conn: Connection) -> Any:
            conn.execute(
                insert(workers).values(
                    id=worker_id, host=host, pid=pid, started_at=now, heartbeat_at=now
                )
            )

        await self._tx(_run)

    async def unregister_worker(self, worker_id: str) -> None:
        """Forget a worker that stopped. Idempotent."""

        def _run(conn: Connection) -> Any:
            conn.execute(delete(workers).where(workers.c.id == worker_id))

        await self._tx(_run)

    async def live_workers(self, within_seconds: float) -> int:
        """How many workers had a heartbeat within the last ``within_seconds``."""
        since = self.clock.now() - timedelta(seconds=within_seconds)

        def _run(conn: Connection) -> int:
            query = select(func.count()).where(workers.c.heartbeat_at >= since)
            return int(conn.execute(query).scalar_one())

        return await self._read(_run)

    # -- credentials ----------------------------------------------------------------------

    async def get_credential(self, account: str, name: str) -> tuple[str, datetime | None] | None:
        """A stored credential and its expiry, or None."""
        C = credentials.c

        def _run(conn: Connection) -> Any:
            return conn.execute(
                select(C.value, C.expires_at).where(C.account == account, C.name == name)
            ).first()

        row = await self._read(_run)
        return None if row is None else (row.value, row.expires_at)

    async def put_credential(
        self, account: str, name: str, value: str, expires_at: datetime | None
    ) -> None:
        """Store (or replace) a credential. Idempotent."""
        now = self.clock.now()
        C = credentials.c

        def _run(conn: Connection) -> Any:
            done = conn.execute(
                update(credentials)
                .where(C.account == account, C.name == name)
                .values(value=value, expires_at=expires_at, updated_at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(credentials).values(
                        account=account,
                        name=name,
                        value=value,
                        expires_at=expires_at,
                        updated_at=now,
                    )
                )

        await self._tx(_run)


class StoreTokens:
    """The TokenStore handed to adapters: credentials kept in the shared database."""

    def __init__(self, store: AccountStore) -> None:
        self.store = store

    async def get(self, account: str, name: str) -> tuple[str, datetime | None] | None:
        """A stored credential and its expiry, or None."""
        return await self.store.get_credential(account, name)

    async def put(self, account: str, name: str, value: str, expires_at: datetime | None) -> None:
        """Store (or replace) a credential."""
        await self.store.put_credential(account, name, value, expires_at)
