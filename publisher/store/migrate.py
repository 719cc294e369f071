"""Schema migrations with Alembic, run programmatically on the store's own connection."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from publisher.errors import DatabaseUnavailable, StoreError
from publisher.store.sql import SqlStore

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(store: SqlStore) -> list[str]:
    """Bring the schema to the newest revision; return the revisions this call applied.

    Safe to run from several processes at once: on PostgreSQL they take turns, and a later
    one finds nothing left to apply.
    """

    def run(conn: Any) -> list[str]:
        if store.dialect_name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(0x7075626C)))
        current = _current(conn)
        _refuse_unknown(current)
        pending = _pending(current)
        command.upgrade(alembic_config(conn), "head")
        return pending

    try:
        return await store._tx(run)
    except (OSError, DBAPIError) as exc:
        orig = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailable(f"无法迁移数据库: {str(orig).strip()[:300]}") from None


@functools.cache
def _script() -> ScriptDirectory:
    """The migration scripts, read once per process (they do not change while it runs)."""
    return ScriptDirectory.from_config(alembic_config())


def _current(conn: Any) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(conn).get_current_heads())


def _refuse_unknown(current: tuple[str, ...]) -> None:
    """A schema written by a newer release (after a rollback, say) is not touched."""
    script = _script()
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = [rev for rev in current if rev not in known]
    if unknown:
        raise StoreError(
            f"数据库结构版本为 {', '.join(unknown)}，比当前版本所知的更新 "
            f"(最新为 {', '.join(script.get_heads())})：请运行写入它的那个版本，"
            "或恢复在那之前的备份"
        )


async def pending_revisions(store: SqlStore) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""
    current = await store._read(_current)
    _refuse_unknown(current)
    return _pending(current)


def _pending(current: tuple[str, ...]) -> list[str]:
    """The revisions above ``current``, oldest first (the history is one straight line)."""
    script = _script()
    if set(current) == set(script.get_heads()):
        return []
    lower = current[0] if current else "base"
    return [rev.revision for rev in script.iterate_revisions("heads", lower)][::-1]
