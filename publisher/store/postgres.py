"""PostgreSQL: any number of workers on any number of machines.

Claims use ``FOR UPDATE SKIP LOCKED`` and a per-account advisory lock (so concurrency and
rate limits hold across workers); new work is announced with ``NOTIFY publisher_work`` and
heard with ``LISTEN`` on a dedicated asyncpg connection. Polling remains as the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from publisher.contract import Clock
from publisher.store.sql import SqlStore

CHANNEL = "publisher_work"
log = logging.getLogger("publisher.store")


def postgres_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class PostgresStore(SqlStore):
    dialect_name = "postgresql"

    def __init__(self, engine: AsyncEngine, clock: Clock, dsn: str) -> None:
        super().__init__(engine, clock)
        self.dsn = dsn
        self._listener: asyncpg.Connection | None = None

    async def _lock_account(self, conn: AsyncConnection, account: str) -> None:
        await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(account))))

    async def _notify(self, conn: AsyncConnection) -> None:
        await conn.execute(text(f"NOTIFY {CHANNEL}"))

    def _for_update(self, query: Any, *, skip_locked: bool = False) -> Any:
        return query.with_for_update(skip_locked=skip_locked)

    async def listen(self, on_notify: Callable[[], None]) -> None:
        """Call ``on_notify`` whenever new work is announced; reconnect until cancelled."""
        while True:
            try:
                self._listener = await asyncpg.connect(self.dsn)
                await self._listener.add_listener(CHANNEL, lambda *_: on_notify())
                on_notify()  # work may have arrived while we were not listening
                while not self._listener.is_closed():
                    await asyncio.sleep(5)
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("LISTEN connection lost (%s); polling until it is back", exc)
                await asyncio.sleep(2)
            finally:
                if self._listener is not None:
                    with contextlib.suppress(Exception):
                        await self._listener.close()
                    self._listener = None
