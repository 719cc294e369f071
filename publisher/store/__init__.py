"""Where notices and deliveries live: SQLite (embedded default) or PostgreSQL (scale-out)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from publisher.contract import Clock
from publisher.errors import ConfigError
from publisher.store.base import Admission, Store
from publisher.store.migrate import upgrade
from publisher.store.postgres import PostgresStore, postgres_engine
from publisher.store.schema import MAX_ROW_ID
from publisher.store.sql import SqlStore, StoreTokens, new_key
from publisher.store.sqlite import SQLiteStore, sqlite_engine

__all__ = [
    "MAX_ROW_ID",
    "Admission",
    "PostgresStore",
    "SQLiteStore",
    "SqlStore",
    "Store",
    "StoreTokens",
    "new_key",
    "open_store",
    "upgrade",
]


def open_store(database_url: str, clock: Clock, pool_size: int = 10) -> SqlStore:
    """Build the store for a URL (``sqlite:///file.db`` or ``postgresql://user@host/db``)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError(f"设置 PUBLISHER_DATABASE_URL 无效: 无法解析 {database_url!r}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigError(
                "PUBLISHER_DATABASE_URL: SQLite 需要一个文件，例如 sqlite:///publisher.db"
            )
        path = Path(url.database).expanduser().resolve()
        if not path.parent.is_dir():
            raise ConfigError(f"PUBLISHER_DATABASE_URL: 文件夹 {path.parent} 不存在")
        return SQLiteStore(sqlite_engine(path), clock, path)
    if backend in ("postgresql", "postgres"):
        sync_url = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresStore(postgres_engine(sync_url, pool_size), clock, dsn, threads=pool_size)
    raise ConfigError(
        f"PUBLISHER_DATABASE_URL: 不支持的数据库 {backend!r}，请使用 sqlite 或 postgresql"
    )
