"""Contract tests run many short tests over PostgreSQL: share one migrated database.

Creating and migrating a database costs most of a second; these tests instead share one
database for the session, emptied (TRUNCATE ... RESTART IDENTITY) before each test. The
``database_url`` fixture overrides the root one for this folder only; ``store`` (root
conftest) builds on it unchanged. Tests that need a database of their own use ``pg_url``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest

from publisher.store import SqlStore, open_store, upgrade

PG_ADMIN = os.environ.get("PUBLISHER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


class _Clock:
    def now(self):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        return datetime.now(UTC)


@pytest.fixture(scope="session")
def shared_pg_url() -> Iterator[str]:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            pass
    except psycopg.Error:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}")
    name = f"pubcontract_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"

    async def migrate() -> None:
        store = open_store(url, _Clock())
        try:
            await upgrade(store)
        finally:
            await store.close()

    asyncio.run(migrate())
    try:
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _empty(url: str) -> None:
    """Delete every row (DELETE is quicker than TRUNCATE on tables this small)."""
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        names = ", ".join(f'"{t}"' for t in tables)
        try:
            conn.execute("SET session_replication_role = replica")  # no FK order to respect
        except psycopg.errors.InsufficientPrivilege:
            conn.rollback()
            conn.execute(f"TRUNCATE {names} CASCADE")  # type: ignore[arg-type]
            return
        for table in tables:
            conn.execute(f'DELETE FROM "{table}"')  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Every backend in turn; PostgreSQL is the shared database, emptied for this test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/publisher.db"  # type: ignore[str-bytes-safe]
    url: str = request.getfixturevalue("shared_pg_url")
    _empty(url)
    return url


@pytest.fixture
async def store(database_url: str, clock: Any) -> AsyncIterator[SqlStore]:
    """As the root ``store``, but PostgreSQL's shared database was migrated once already."""
    s = open_store(database_url, clock)
    if not database_url.startswith("postgresql"):
        await upgrade(s)
    try:
        yield s
    finally:
        await s.close()
