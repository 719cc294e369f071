"""Schema migrations with Alembic, run programmatically on the store's own connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from publisher.errors import DatabaseUnavailable
from publisher.store.sql import SqlStore

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(store: SqlStore) -> None:
    """Bring the schema to the newest revision. Safe to run from several processes at once."""

    def run(conn: Any) -> None:
        if store.dialect_name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(0x7075626C)))
        command.upgrade(alembic_config(conn), "head")

    try:
        await store._tx(run)
    except (OSError, DBAPIError) as exc:
        orig = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailable(
            f"cannot migrate the database: {str(orig).strip()[:300]}"
        ) from None


async def pending_revisions(store: SqlStore) -> list[str]:
    """Revisions not yet applied (empty when the schema is current)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    current = await store._read(lambda conn: MigrationContext.configure(conn).get_current_heads())
    heads = set(script.get_heads())
    if set(current) == heads:
        return []
    return [rev.revision for rev in script.walk_revisions() if rev.revision not in current]
