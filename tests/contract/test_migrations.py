"""The migrations build exactly the tables the code uses, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from publisher.errors import StoreError
from publisher.store import open_store, upgrade
from publisher.store.migrate import alembic_config, pending_revisions
from publisher.store.schema import metadata
from publisher.store.sql import SqlStore


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: object, pg_url_factory: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/fresh.db"  # type: ignore[str-bytes-safe]
    return pg_url_factory()


async def test_migrated_schema_matches_the_tables_in_code(fresh_url: str, clock: Any) -> None:
    store: SqlStore = open_store(fresh_url, clock)
    try:
        await upgrade(store)
        await upgrade(store)  # a second upgrade is a no-op

        def diff(conn: Any) -> list[Any]:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata)

        assert await store._read(diff) == []
    finally:
        await store.close()


async def test_a_schema_from_a_newer_release_is_left_alone(fresh_url: str, clock: Any) -> None:
    store: SqlStore = open_store(fresh_url, clock)
    try:
        await upgrade(store)
        await store._tx(
            lambda conn: conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
        )
        for attempt in (upgrade(store), pending_revisions(store)):
            with pytest.raises(StoreError) as refused:
                await attempt
            assert str(refused.value).startswith("数据库结构版本为 0099，比当前版本所知的更新")
        version = await store._read(
            lambda conn: conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        )
        assert version == "0099"  # untouched
    finally:
        await store.close()


async def test_upgrade_says_which_revisions_it_applied(fresh_url: str, clock: Any) -> None:
    store: SqlStore = open_store(fresh_url, clock)
    try:
        await store._tx(lambda conn: command.upgrade(alembic_config(conn), "0003"))
        script = ScriptDirectory.from_config(alembic_config())
        later = sorted(r.revision for r in script.walk_revisions() if r.revision > "0003")
        assert later[:2] == ["0004", "0005"]  # oldest first, not the ones already applied
        assert await pending_revisions(store) == later
        assert await upgrade(store) == later
        assert await pending_revisions(store) == []
        assert await upgrade(store) == []
    finally:
        await store.close()
