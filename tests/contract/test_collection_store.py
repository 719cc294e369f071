"""The store's reach-collection and OA-readers contract (publisher/store/collection.py),
over SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from helpers import submit

from publisher.errors import NotFoundError
from publisher.store import SqlStore
from tests.contract.test_store import BREAKER, OPEN, claim, posted


async def _posted(store: SqlStore, account: str = "weibo") -> int:
    await submit(store, [account])
    [item], _ = await claim(store, {account: OPEN})
    assert await store.mark_sending(item.delivery, "w1")
    assert await store.finish(item.delivery, "w1", posted(f"r{item.delivery.id}"), BREAKER)
    return item.delivery.id


async def test_polls_are_remembered_per_delivery(store: SqlStore) -> None:
    first = await _posted(store)
    second = await _posted(store)
    now = store.clock.now()
    window = (now - timedelta(days=1), now + timedelta(seconds=1))
    assert [
        (p.ref.delivery_id, p.polled_at) for p in await store.polled_refs("weibo", *window)
    ] == [
        (first, None),
        (second, None),
    ]
    await store.mark_polled({first: 3, second: 0}, now)
    later = now + timedelta(hours=1)
    await store.mark_polled({first: 3}, later)  # replaced, not added
    polled = {p.ref.delivery_id: p.polled_at for p in await store.polled_refs("weibo", *window)}
    assert polled == {first: later, second: now}
    assert await store.polled_refs("wechat", *window) == []


async def test_collection_health_counts_failures_until_a_success(store: SqlStore) -> None:
    now = store.clock.now()
    state = await store.record_collection(
        "weibo", now, "RateLimited: 10023", now + timedelta(hours=1)
    )
    assert (state.failures, state.last_success_at, state.retry_after) == (
        1,
        None,
        now + timedelta(hours=1),
    )
    state = await store.record_collection("weibo", now + timedelta(hours=1), "TransientError: 503")
    assert state.failures == 2 and state.last_error == "TransientError: 503"
    ok = await store.record_collection("weibo", now + timedelta(hours=2), None)
    assert (ok.failures, ok.last_success_at, ok.retry_after) == (0, now + timedelta(hours=2), None)
    assert ok.last_error == "TransientError: 503"  # the last error stays visible
    assert [h.account for h in await store.collection_health()] == ["weibo"]


async def test_reads_keep_the_first_time_and_nudges_happen_once(store: SqlStore) -> None:
    delivery = await _posted(store, "oa")
    now = store.clock.now()
    await store.add_recipients(delivery, ["u1", "u2", "u3"])
    await store.add_recipients(delivery, ["u1"])  # idempotent
    assert await store.record_reads(delivery, {"u1": now}, "read") == 1
    assert await store.record_reads(delivery, {"u1": now + timedelta(hours=1)}, "read") == 0
    readers = (await store.readers([delivery]))[delivery]
    assert [(r.user_id, r.read_at, r.how) for r in readers] == [
        ("u1", now, "read"),
        ("u2", None, None),
        ("u3", None, None),
    ]
    # two nudgers race: each unread recipient is claimed exactly once
    claims = await asyncio.gather(
        store.claim_nudges(delivery, ["u1", "u2", "u3"], now),
        store.claim_nudges(delivery, ["u2", "u3"], now),
    )
    assert sorted(u for c in claims for u in c) == ["u2", "u3"]
    assert await store.claim_nudges(delivery, ["u2", "u3"], now) == []
    with pytest.raises(NotFoundError):
        await store.record_reads(999_999, {"u1": now}, "read")
