"""Shared fixtures: a real SQLite file and a real PostgreSQL database per test.

PostgreSQL runs on 127.0.0.1:5432 (trust auth) on this machine and in CI. Set
PUBLISHER_TEST_PG (default ``postgresql://postgres@127.0.0.1:5432/test``) to point elsewhere;
PostgreSQL tests skip only when the server is unreachable, and ``.ci/run`` fails the build
if any were skipped there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from publisher.store import SqlStore, open_store, upgrade

PG_ADMIN = os.environ.get("PUBLISHER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 26, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


PG_AVAILABLE = _pg_available()


def _pg_database() -> Iterator[str]:
    if not PG_AVAILABLE:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}")
    name = f"pubtest_{uuid.uuid4().hex[:12]}"

    def admin(sql: str) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test."""
    yield from _pg_database()


@pytest.fixture
def pg_url_factory() -> Iterator[Any]:
    """Call it to get a fresh, empty PostgreSQL database (dropped after the test)."""
    made: list[Iterator[str]] = []

    def make() -> str:
        gen = _pg_database()
        made.append(gen)
        return next(gen)

    yield make
    for gen in made:
        for _ in gen:
            pass


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/publisher.db"  # type: ignore[str-bytes-safe]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """Every backend in turn: the contract tests run over both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/publisher.db"  # type: ignore[str-bytes-safe]
    else:
        yield from _pg_database()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(database_url: str, clock: FakeClock) -> AsyncIterator[SqlStore]:
    """A migrated store over each backend, on a hand-moved clock."""
    s = open_store(database_url, clock)
    await upgrade(s)
    try:
        yield s
    finally:
        await s.close()
