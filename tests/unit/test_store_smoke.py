from __future__ import annotations

from publisher.store import SqlStore


async def test_store_answers_ping(store: SqlStore) -> None:
    await store.ping()
    assert await store.count_by_status() == {}
