"""Each account's breaker as stored (``channel_state``), read for the console: one row per
account, a small table (the accounts configured), never a scan of deliveries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from publisher.store.records import AccountState
from publisher.store.schema import channel_state
from publisher.store.sql.core import SqlCore
from publisher.store.sql.rows import account_state


class BreakersMixin(SqlCore):
    async def account_states(self) -> list[AccountState]:
        query = select(channel_state).order_by(channel_state.c.account)

        def _run(conn: Connection) -> list[AccountState]:
            return [account_state(r._mapping) for r in conn.execute(query)]

        return await self._read(_run)
