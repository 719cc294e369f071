"""PostgreSQL: any number of workers on any number of machines.

Claims use ``FOR UPDATE SKIP LOCKED`` and a per-account advisory lock (so concurrency and
rate limits hold across workers); new work is announced with ``NOTIFY publisher_work`` and
heard with ``LISTEN`` on a dedicated async psycopg connection. Polling is the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Connection, Engine

from publisher.contract import Clock
from publisher.store.sql import SqlStore

CHANNEL = "publisher_work"
log = logging.getLogger("publisher.store")


def postgres_engine(url: str, pool_size: int = 10) -> Engine:
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


class PostgresStore(SqlStore):
    dialect_name = "postgresql"

    def __init__(self, engine: Engine, clock: Clock, dsn: str, threads: int = 10) -> None:
        super().__init__(engine, clock, threads=threads)
        self.dsn = dsn

    def _lock_account(self, conn: Connection, account: str) -> None:
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(account))))

    def _notify(self, conn: Connection) -> None:
        if not conn.info.get("notified"):  # once per transaction is enough
            conn.execute(text(f"NOTIFY {CHANNEL}"))
            conn.info["notified"] = True

    def _for_update(self, query: Any, *, skip_locked: bool = False) -> Any:
        return query.with_for_update(skip_locked=skip_locked)

    async def listen(self, on_notify: Callable[[], None]) -> None:
        """Call ``on_notify`` whenever new work is announced; reconnect until cancelled."""
        while True:
            conn: psycopg.AsyncConnection[Any] | None = None
            try:
                conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
                await conn.execute(f"LISTEN {CHANNEL}")
                on_notify()  # work may have arrived while we were not listening
                async for _ in conn.notifies():
                    on_notify()
            except asyncio.CancelledError:
                raise
            except (OSError, psycopg.Error) as exc:
                log.warning("LISTEN connection lost (%s); polling until it is back", exc)
                await asyncio.sleep(2)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
