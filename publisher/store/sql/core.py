"""The SQL store's engine room: one database thread, transactions on it, group commit.

The API is async; underneath, each transaction runs whole on a database thread with the
synchronous driver (pysqlite, psycopg). Measured on this project: a trivial query through
the async drivers cost 0.8 ms (a thread hop per statement); a whole claim transaction on
the thread costs less than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import literal, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from publisher.contract import Clock
from publisher.errors import DatabaseUnavailable

T = TypeVar("T")


class SqlCore:
    """Transactions and backend hooks; the concern mixins of ``SqlStore`` build on these."""

    dialect_name = "sql"
    # Concurrent submits share one transaction where transactions run one at a time anyway
    # (SQLite); where they run in parallel (PostgreSQL) grouping them only queued them.
    group_submits = False
    # Notice, deliveries, events and the wake-up in one statement (PostgreSQL: one round
    # trip instead of five); see NoticesMixin._fan_out.
    fan_out_in_one_statement = False

    def __init__(self, engine: Engine, clock: Clock, threads: int = 1) -> None:
        self.engine = engine
        self.clock = clock
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")
        self._group = GroupCommit(self)
        self._local = threading.local()
        self._held_connections: list[Connection] = []

    async def close(self) -> None:
        """Release connections and the database thread(s). The store is unusable after."""

        def shut() -> None:
            for conn in self._held_connections:
                with contextlib.suppress(Exception):
                    conn.close()
            self.engine.dispose()

        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=False)

    async def ping(self) -> None:
        """Return once a trivial query succeeds; raise DatabaseUnavailable otherwise."""
        try:
            await self._read(lambda conn: conn.execute(select(literal(1))).scalar_one())
        except (OSError, DBAPIError) as exc:
            raise DatabaseUnavailable(f"无法连接数据库: {_short(exc)}") from None

    async def _tx(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in one write transaction on the database thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(self._sync_tx, True, fn, *args)
        )

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in a read-only transaction on the database thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(self._sync_tx, False, fn, *args)
        )

    def _sync_tx(self, write: bool, fn: Callable[..., T], *args: Any) -> T:
        try:
            conn = getattr(self._local, "conn", None)
            if conn is None or conn.closed:
                # Each DB thread keeps its connection: a pool checkout per transaction cost a
                # quarter of a small transaction's time.
                conn = self._local.conn = self.engine.connect()
                self._held_connections.append(conn)
            conn.info["write"] = write
            conn.info["notified"] = False
            with conn.begin():
                return fn(conn, *args)
        except OperationalError as exc:
            if _is_unreachable(exc):
                raise DatabaseUnavailable(f"无法连接数据库: {_short(exc)}") from None
            raise

    # -- backend hooks --------------------------------------------------------------------

    def _lock_account(self, conn: Connection, account: str) -> None:
        """Serialise creating an account's state row (no-op where writes are serial)."""

    def _notify(self, conn: Connection) -> None:
        """Tell other processes new work exists (PostgreSQL NOTIFY); in-process is the worker's."""

    def _for_update(self, query: Any, *, skip_locked: bool = False) -> Any:
        """Row locks where the backend has them (PostgreSQL); SQLite writes are serial anyway."""
        return query


class GroupFailed(Exception):
    """A group-committed submit failed; the others in its group were rolled back with it."""


class GroupCommit:
    """Batches concurrent small writes of one kind into one transaction.

    While a batch commits, new requests queue; the next batch takes them all. Under load
    this turns N commits into a few; alone, a request commits at once.
    """

    def __init__(self, store: SqlCore) -> None:
        self.store = store
        self._queues: dict[Callable[..., Any], list[tuple[Any, asyncio.Future[Any]]]] = {}
        self._running: set[Callable[..., Any]] = set()

    async def run(self, fn: Callable[[Connection, Sequence[Any]], list[Any]], item: Any) -> Any:
        """Queue ``item`` for the next batch of ``fn``; return its own result once committed."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(fn, []).append((item, future))
        if fn not in self._running:
            self._running.add(fn)
            asyncio.get_running_loop().create_task(self._drain(fn))
        return await future

    async def _drain(self, fn: Callable[[Connection, Sequence[Any]], list[Any]]) -> None:
        try:
            while self._queues.get(fn):
                batch = self._queues.pop(fn)
                try:
                    results = await self.store._tx(fn, [item for item, _ in batch])
                except BaseException as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(result)
        finally:
            self._running.discard(fn)


def _is_unreachable(exc: OperationalError) -> bool:
    text = str(exc.orig or exc).lower()
    return any(
        marker in text
        for marker in (
            "connection refused",
            "could not connect",
            "unable to open database",
            "connection failed",
            "name or service not known",
            "timeout expired",
            "does not exist",
        )
    )


def _short(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return text[:300]
