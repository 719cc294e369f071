"""The migrations build exactly the tables the code uses, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from publisher.store import open_store, upgrade
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
