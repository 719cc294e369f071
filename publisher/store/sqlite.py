"""SQLite: the embedded default. One process (``publisher serve``) owns the queue.

WAL journal; ``BEGIN IMMEDIATE`` for write transactions (so a CLI writing at the same time
waits instead of failing halfway) and plain ``BEGIN`` for reads; one database thread; and an
exclusive lock file beside the database so a second server or worker on the same file is
refused with a clear message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from publisher.contract import Clock
from publisher.errors import ConfigError
from publisher.store.sql import SqlStore


def sqlite_engine(path: Path) -> Engine:
    """The engine for one SQLite file: WAL, immediate write transactions, foreign keys on."""
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        poolclass=QueuePool,
        pool_size=1,  # the DB thread holds this one; others serve tools and tests
        max_overflow=4,
        connect_args={"check_same_thread": False, "timeout": 15},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives process crashes
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write", True) else "BEGIN")

    return engine


class SQLiteStore(SqlStore):
    dialect_name = "sqlite"
    group_submits = True

    def __init__(self, engine: Engine, clock: Clock, path: Path) -> None:
        super().__init__(engine, clock, threads=1)
        self.path = path
        self._lock_file: IO[str] | None = None

    def acquire_process_lock(self) -> None:
        """Make this process the only queue owner of the file, or refuse clearly."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ConfigError(
                f"已有另一个 publisher 进程在 {self.path} 上运行队列；SQLite 部署只有一个进程 "
                "(publisher serve)。需要多个 worker 时请使用 PostgreSQL "
                "(PUBLISHER_DATABASE_URL=postgresql://...)。"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle

    async def take_queue(self) -> int:
        """Make this process the queue's only owner (ConfigError if another one is), then
        release the leases a previous process left: they can only be a dead process's."""
        self.acquire_process_lock()
        return await self.expire_all_leases("上一个进程已结束")

    async def close(self) -> None:
        """Release the process lock, then connections and the database thread."""
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        await super().close()
