"""The store's contract for people's retry and for the duplicate guard, over every backend.

``QueueStore.retry`` keeps a notice's schedule and never re-sends a ``needs_review``
delivery blindly; ``NoticeStore.submit`` with ``duplicate_window`` refuses the same content
submitted again without a key (``publisher/store/base.py``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import delivery, notice_row, submitted
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from publisher.errors import DuplicateNotice, StateError
from publisher.queue.admission import AdmissionPolicy
from publisher.states import Status
from publisher.store import SqlStore, open_store
from publisher.store.records import (
    AccountLimits,
    Claimed,
    ClaimRequest,
    Job,
    Outcome,
    Submission,
)
from publisher.store.schema import notices

LIMITS = {"portal": AccountLimits(max_concurrency=50)}
POLICY = AdmissionPolicy(3, 60.0)
DAY = timedelta(hours=24)
IN_2030 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


async def claim(store: SqlStore, worker: str = "w1") -> list[Claimed]:
    got, _ = await store.claim(ClaimRequest(worker, LIMITS, 30.0, POLICY), 50)
    return got


async def submit(
    store: SqlStore, publish_at: datetime | None = None, **row: Any
) -> tuple[int, int]:
    """One notice to ``portal``; (notice id, delivery id)."""
    now = store.clock.now()
    due = max(now, publish_at) if publish_at else now
    new = delivery("portal", now, delay=(due - now).total_seconds())
    notice_id, created = await submitted(
        store.submit(
            notice=notice_row(f"通知 {id(row)}-{now.timestamp()}", publish_at=publish_at, **row),
            new_deliveries=[new],
            source="test",
            actor="tester",
        )
    )
    assert created
    (d,) = (await store.get_notice(notice_id)).deliveries
    return notice_id, d.id


async def needs_review(store: SqlStore) -> int:
    """A delivery whose last attempt's outcome is unknown (it may be on the channel)."""
    await submit(store)
    (item,) = await claim(store)
    assert await store.mark_sending(item.delivery, "w1")
    unknown = Outcome(
        to_status=Status.NEEDS_REVIEW,
        action="needs_review",
        reason="之前的尝试可能已送达，而该渠道无法查询",
        error="read timeout",
    )
    assert await store.finish(item.delivery, "w1", unknown, POLICY)
    return item.delivery.id


# -- retry keeps the schedule -------------------------------------------------------------


async def test_retry_after_cancel_keeps_the_notices_publish_at(store: SqlStore) -> None:
    _, delivery_id = await submit(store, publish_at=IN_2030)
    await store.cancel(delivery_id, "editor")
    again = await store.retry(delivery_id, "editor")

    assert again.status == Status.PENDING
    assert again.not_before == IN_2030  # not now: the schedule still holds
    assert await claim(store) == []  # nothing is due before 2030
    assert await store.next_due() == IN_2030
    history = (await store.get_notice(again.notice_id)).events
    assert history[-1].action == "retry" and "定时发布" in (history[-1].reason or "")


async def test_retry_of_a_notice_whose_time_has_passed_is_due_now(store: SqlStore) -> None:
    soon = store.clock.now() + timedelta(minutes=5)
    _, delivery_id = await submit(store, publish_at=soon)
    await store.cancel(delivery_id, "editor")
    store.clock.advance(3600)  # type: ignore[attr-defined]
    again = await store.retry(delivery_id, "editor")
    assert again.not_before == store.clock.now()
    assert [c.delivery.id for c in await claim(store)] == [delivery_id]


# -- retry of needs_review ----------------------------------------------------------------


async def test_retry_of_needs_review_is_refused_without_reconcile_or_force(
    store: SqlStore,
) -> None:
    delivery_id = await needs_review(store)
    with pytest.raises(StateError) as refused:
        await store.retry(delivery_id, "editor")
    message = str(refused.value)
    assert "渠道 portal 上可能已经有这条发布" in message and "--force" in message
    assert "\n" not in message
    unchanged = await store.get_delivery(delivery_id)
    assert unchanged.status == Status.NEEDS_REVIEW and unchanged.attempts == 1
    assert await claim(store) == []


async def test_retry_of_needs_review_with_reconcile_is_looked_up_first(store: SqlStore) -> None:
    delivery_id = await needs_review(store)
    again = await store.retry(delivery_id, "editor", reconcile=True)
    assert (again.status, again.attempts, again.lookups, again.error) == (
        Status.SENDING,
        0,
        0,
        None,
    )
    (item,) = await claim(store)
    assert (item.delivery.id, item.job) == (delivery_id, Job.RECONCILE)  # ask before any send
    events = (await store.get_notice(again.notice_id)).events
    assert [(e.action, e.from_status, e.to_status) for e in events[-2:]] == [
        ("retry", "needs_review", "sending"),
        ("reconcile", "sending", "sending"),
    ]


async def test_retry_of_needs_review_with_force_sends_again(store: SqlStore) -> None:
    delivery_id = await needs_review(store)
    again = await store.retry(delivery_id, "editor", force=True)
    assert again.status == Status.PENDING
    (item,) = await claim(store)
    assert (item.delivery.id, item.job) == (delivery_id, Job.PUBLISH)


# -- the duplicate guard ------------------------------------------------------------------


def guarded(store: SqlStore, row: dict[str, Any], window: timedelta | None = DAY) -> Any:
    now = store.clock.now()
    return store.submit(
        notice=row,
        new_deliveries=[delivery("portal", now)],
        source="test",
        actor="tester",
        duplicate_window=window,
    )


def count_notices(database_url: str) -> int:
    engine = create_engine(
        make_url(database_url).set(
            drivername="sqlite" if database_url.startswith("sqlite") else "postgresql+psycopg"
        )
    )
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(notices)).scalar_one())
    finally:
        engine.dispose()


async def test_the_same_content_within_a_day_is_refused_naming_the_first(
    store: SqlStore, database_url: str
) -> None:
    first, _ = await submitted(guarded(store, notice_row("暴雨橙色预警")))
    store.clock.advance(3600)  # type: ignore[attr-defined]
    with pytest.raises(DuplicateNotice) as refused:
        await guarded(store, notice_row("暴雨橙色预警", summary="另一个摘要"))
    assert refused.value.notice_id == first
    assert str(refused.value) == (
        f"与 24 小时内提交的通知 #{first} 内容相同；如确需再次发布，请加 --allow-duplicate "
        '(API 请求体加 "allow_duplicate": true)'
    )
    assert count_notices(database_url) == 1  # nothing written

    # Another title, body or kind is another notice; so is the same one without the guard.
    await guarded(store, notice_row("暴雨橙色预警（更新）"))
    await guarded(store, notice_row("暴雨橙色预警", body="另一份正文"))
    await guarded(store, notice_row("暴雨橙色预警", kind="weather_warning"))
    again, created = await submitted(guarded(store, notice_row("暴雨橙色预警"), window=None))
    assert created and again != first

    # The newest one is named; a day after it, the same content is new again.
    with pytest.raises(DuplicateNotice, match=f"通知 #{again} 内容相同"):
        await guarded(store, notice_row("暴雨橙色预警"))
    store.clock.advance(DAY.total_seconds() + 1)  # type: ignore[attr-defined]
    _, created = await submitted(guarded(store, notice_row("暴雨橙色预警")))
    assert created


async def test_a_notice_with_an_idempotency_key_keeps_the_key_rules(store: SqlStore) -> None:
    keyed = notice_row("关于停水的通知", idempotency_key="bureau-1", fingerprint="fp-1")
    first, created = await submitted(guarded(store, keyed))
    assert created
    replay, created = await submitted(guarded(store, keyed))
    assert (replay, created) == (first, False)  # same key: the same notice, not a refusal
    other_key = {**keyed, "idempotency_key": "bureau-2"}
    _, created = await submitted(guarded(store, other_key))
    assert created  # a new key is the caller saying "a new notice"
    with pytest.raises(DuplicateNotice):  # without a key, the keyed one still counts
        await guarded(store, notice_row("关于停水的通知"))


async def test_two_identical_submits_at_once_store_one(store: SqlStore, database_url: str) -> None:
    other = open_store(database_url, store.clock)
    try:
        results = await asyncio.gather(
            *(guarded(s, notice_row("同时提交")) for s in (store, other, store, other)),
            return_exceptions=True,
        )
    finally:
        await other.close()
    created = [r for r in results if isinstance(r, Submission)]
    assert len(created) == 1, results
    assert all(isinstance(r, DuplicateNotice) for r in results if r not in created)
    assert count_notices(database_url) == 1


async def test_upgrading_hashes_the_last_days_notices_so_the_guard_sees_them(
    tmp_path: Any,
) -> None:
    from alembic import command
    from sqlalchemy import text

    from publisher.clock import SystemClock
    from publisher.store import upgrade
    from publisher.store.migrate import alembic_config

    store = open_store(f"sqlite:///{tmp_path}/old.db", SystemClock())
    try:
        await store._tx(lambda conn: command.upgrade(alembic_config(conn), "0006"))
        insert = text(
            "INSERT INTO notices (kind, title, body, fields, urgent, fingerprint, source,"
            " created_by, created_at) VALUES ('general', :title, '正文', '{}', 0, 'fp', 'cli',"
            " 'a', :at)"
        )
        now = datetime.now(UTC)
        for title, at in (("昨天的通知", now - timedelta(hours=2)), ("上月的通知", now - 30 * DAY)):
            await store._tx(lambda c, t=title, a=at: c.execute(insert, {"title": t, "at": a}))
        assert (await upgrade(store))[0] == "0007"  # and whatever came after it
        with pytest.raises(DuplicateNotice, match="通知 #1 内容相同"):
            await guarded(store, notice_row("昨天的通知", body="正文"))
        _, created = await submitted(guarded(store, notice_row("上月的通知", body="正文")))
        assert created
    finally:
        await store.close()
