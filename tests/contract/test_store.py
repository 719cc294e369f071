"""The store's contract (``publisher/store/base.py`` docstrings), over every backend.

Each test runs on SQLite and on PostgreSQL (the ``store`` fixture). Time is a FakeClock the
test moves by hand, so leases, schedules, rate limits and the breaker are exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest
from helpers import delivery, notice_row, submit, submitted
from sqlalchemy import Table, create_engine, func, select
from sqlalchemy.engine import make_url

from publisher.contract import RateLimit
from publisher.errors import IdempotencyConflict, NotFoundError, StateError
from publisher.queue.admission import AdmissionPolicy
from publisher.states import Status
from publisher.store import SqlStore, open_store, upgrade
from publisher.store.records import (
    AccountLimits,
    Claimed,
    ClaimRequest,
    Job,
    Outcome,
    Submission,
)
from publisher.store.schema import deliveries, events, notices

OPEN = AccountLimits(max_concurrency=50)
LEASE = 30.0
COOLDOWN = 60.0
BREAKER = AdmissionPolicy(3, COOLDOWN)  # opens after 3 failures, for 60 s


async def claim(
    store: SqlStore,
    limits: Mapping[str, AccountLimits],
    capacity: int = 50,
    worker: str = "w1",
) -> tuple[list[Claimed], float | None]:
    return await store.claim(ClaimRequest(worker, limits, LEASE, BREAKER), capacity)


def submit_row(
    store: SqlStore, row: dict[str, Any], accounts: Sequence[str] = ("portal",)
) -> Awaitable[Submission]:
    """``store.submit`` of a notice row as given, one delivery per account."""
    now = store.clock.now()
    return store.submit(
        notice=row,
        new_deliveries=[delivery(a, now) for a in accounts],
        source="test",
        actor="tester",
    )


def posted(remote_id: str = "r1") -> Outcome:
    return Outcome(
        to_status=Status.POSTED,
        action="posted",
        remote_id=remote_id,
        url=f"https://channel.example/{remote_id}",
        success=True,
    )


def transient(store: SqlStore, why: str = "HTTP 503 from channel.example") -> Outcome:
    return Outcome(
        to_status=Status.RETRY_WAIT,
        action="retry",
        reason=why,
        error=why,
        not_before=store.clock.now(),
        failure=True,
    )


def count(database_url: str, table: Table) -> int:
    """Rows in a table, read over a connection of its own (not through the store)."""
    engine = create_engine(
        make_url(database_url).set(
            drivername="sqlite" if database_url.startswith("sqlite") else "postgresql+psycopg"
        )
    )
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
async def second_store(database_url: str, store: SqlStore) -> AsyncIterator[SqlStore]:
    """Another store object on the same database: another worker process, as far as SQL goes."""
    other = open_store(database_url, store.clock)
    try:
        yield other
    finally:
        await other.close()


# -- submit -------------------------------------------------------------------------------


async def test_submit_stores_notice_deliveries_and_their_events(store: SqlStore) -> None:
    notice_id = await submit(store, ["portal", "weibo", "oa"], title="暴雨橙色预警")
    notice = await store.get_notice(notice_id)
    assert notice.title == "暴雨橙色预警"
    assert sorted(d.account for d in notice.deliveries) == ["oa", "portal", "weibo"]
    assert {d.status for d in notice.deliveries} == {Status.PENDING}
    assert len({d.idempotency_key for d in notice.deliveries}) == 3
    actions = [(e.action, e.delivery_id) for e in notice.events]
    assert actions[0] == ("submitted", None)
    assert sorted(d for a, d in actions if a == "queued") == sorted(d.id for d in notice.deliveries)


async def test_submit_failing_mid_fan_out_writes_nothing(
    store: SqlStore, database_url: str
) -> None:
    now = store.clock.now()
    twins = [delivery("portal", now, key="same-key"), delivery("weibo", now, key="same-key")]
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await store.submit(
            notice=notice_row(idempotency_key="notice-1", fingerprint="a"),
            new_deliveries=twins,
            source="test",
            actor="tester",
        )
    written = [count(database_url, t) for t in (notices, deliveries, events)]
    assert written == [0, 0, 0]
    # The notice key was not used up: the same notice goes in once the fan-out is valid.
    notice_id, created = await submitted(
        submit_row(store, notice_row(idempotency_key="notice-1", fingerprint="a"))
    )
    assert created
    assert len((await store.get_notice(notice_id)).deliveries) == 1


async def test_same_idempotency_key_returns_the_same_notice(
    store: SqlStore, database_url: str
) -> None:
    row = notice_row(idempotency_key="cap-2026-001", fingerprint="abc")
    first, created = await submitted(submit_row(store, row))
    again, created_again = await submitted(submit_row(store, row))
    assert created and not created_again
    assert again == first
    assert count(database_url, deliveries) == 1  # no second fan-out


async def test_other_content_under_a_used_key_is_refused(
    store: SqlStore, database_url: str
) -> None:
    await submit_row(store, notice_row(idempotency_key="cap-2026-001", fingerprint="abc"))
    with pytest.raises(IdempotencyConflict, match="cap-2026-001"):
        await submit_row(
            store, notice_row("另一条通知", idempotency_key="cap-2026-001", fingerprint="xyz")
        )
    assert count(database_url, notices) == 1


async def test_racing_submits_under_one_key_make_one_notice(
    store: SqlStore, second_store: SqlStore, database_url: str
) -> None:
    row = notice_row(idempotency_key="race", fingerprint="abc")
    results = await asyncio.gather(
        *(submitted(submit_row(s, row)) for s in (store, second_store, store, second_store))
    )
    assert len({notice_id for notice_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert count(database_url, deliveries) == 1


async def test_a_bad_submit_among_concurrent_ones_fails_alone(
    store: SqlStore, database_url: str
) -> None:
    """SQLite commits concurrent submits together: one refused notice must not take the
    others down with it, nor leave half of itself behind."""
    await submit_row(store, notice_row(idempotency_key="used", fingerprint="abc"))

    def row(i: int) -> dict[str, Any]:
        if i == 3:  # a used key with other content: refused
            return notice_row("另一条通知", idempotency_key="used", fingerprint="xyz")
        return notice_row(f"通知{i}", idempotency_key=f"k{i}", fingerprint=f"f{i}")

    results = await asyncio.gather(
        *(submit_row(store, row(i), ("portal", "weibo")) for i in range(8)),
        return_exceptions=True,
    )
    assert isinstance(results[3], IdempotencyConflict)
    assert all(isinstance(r, Submission) and r.created for i, r in enumerate(results) if i != 3)
    assert count(database_url, notices) == 8  # the first one and seven of these
    assert count(database_url, deliveries) == 1 + 7 * 2


# -- claim ----------------------------------------------------------------------------------


async def test_claim_takes_urgent_work_first(store: SqlStore) -> None:
    routine = await submit(store, ["oa"], priority=0)
    urgent = await submit(store, ["oa"], priority=100)
    got, _ = await claim(store, {"oa": OPEN}, capacity=1)
    assert [c.delivery.notice_id for c in got] == [urgent]
    got, _ = await claim(store, {"oa": OPEN}, capacity=1)
    assert [c.delivery.notice_id for c in got] == [routine]


async def test_claim_takes_urgent_work_first_across_accounts(store: SqlStore) -> None:
    await submit(store, ["portal"], priority=0)
    urgent = await submit(store, ["weibo"], priority=100)
    got, _ = await claim(store, {"portal": OPEN, "weibo": OPEN}, capacity=1)
    assert [(c.delivery.account, c.delivery.notice_id) for c in got] == [("weibo", urgent)]


async def test_scheduled_work_waits_for_its_time(store: SqlStore) -> None:
    await submit(store, ["portal"], delay=3600)
    got, _ = await claim(store, {"portal": OPEN})
    assert got == []
    due = await store.next_due()
    assert due is not None and (due - store.clock.now()).total_seconds() == 3600
    store.clock.advance(3599)  # type: ignore[attr-defined]
    assert (await claim(store, {"portal": OPEN}))[0] == []
    store.clock.advance(1)  # type: ignore[attr-defined]
    got, _ = await claim(store, {"portal": OPEN})
    assert [c.job for c in got] == [Job.PUBLISH]


async def test_next_due_after_skips_work_already_due(store: SqlStore) -> None:
    """A worker sleeps until new work falls due; work due but held back must not wake it."""
    now = store.clock.now()
    await submit(store, ["weibo"])  # due now (say, held back by a rate limit)
    await submit(store, ["weibo"], delay=90)
    assert await store.next_due() == now
    assert await store.next_due(after=now) == now + timedelta(seconds=90)
    # An unknown outcome waiting to be reconciled is waiting work too.
    await submit(store, ["oa"])
    got, _ = await claim(store, {"oa": OPEN})
    assert await store.mark_sending(got[0].delivery, "w1")
    later = Outcome(
        to_status=Status.SENDING,
        action="unknown_outcome",
        reason="read timeout",
        not_before=now + timedelta(seconds=30),
        failure=True,
    )
    assert await store.finish(got[0].delivery, "w1", later, BREAKER)
    assert await store.next_due(after=now) == now + timedelta(seconds=30)


async def test_claim_skips_accounts_this_worker_does_not_serve(store: SqlStore) -> None:
    await submit(store, ["removed"])
    assert (await claim(store, {"portal": OPEN}))[0] == []


async def test_claim_honours_each_accounts_concurrency(store: SqlStore) -> None:
    for _ in range(5):
        await submit(store, ["weibo"])
    limits = {"weibo": AccountLimits(max_concurrency=2)}
    got, _ = await claim(store, limits)
    assert len(got) == 2
    nothing, hint = await claim(store, limits, worker="w2")
    assert nothing == []  # full, whoever asks
    # ... and w2 is told to look again soon: w1's finishes will not wake it.
    assert hint is not None and hint <= 0.1
    first = got[0]
    assert await store.mark_sending(first.delivery, "w1")
    assert await store.finish(first.delivery, "w1", posted(), BREAKER)
    more, _ = await claim(store, limits)
    assert len(more) == 1


async def test_a_long_remote_id_is_kept_whole(store: SqlStore) -> None:
    notice_id = await submit(store, ["oa"])
    (item,), _ = await claim(store, {"oa": OPEN})
    assert await store.mark_sending(item.delivery, "w1")
    remote_id = "msg-" + "7" * 500  # whatever a receiver's id_path points at
    assert await store.finish(item.delivery, "w1", posted(remote_id), BREAKER)
    (d,) = (await store.get_notice(notice_id)).deliveries
    assert (d.status, d.remote_id) == (Status.POSTED, remote_id)


async def test_rate_limit_is_an_exact_sliding_window(store: SqlStore) -> None:
    for _ in range(8):
        await submit(store, ["weibo"])
    limits = {"weibo": AccountLimits(max_concurrency=50, rate=RateLimit(2, 10.0))}
    got, _ = await claim(store, limits)
    assert len(got) == 2  # the window's allowance
    store.clock.advance(4)  # type: ignore[attr-defined]
    got, hint = await claim(store, limits)
    assert got == [] and hint == pytest.approx(6.0)  # until the first send leaves the window
    store.clock.advance(6)  # type: ignore[attr-defined]
    assert len((await claim(store, limits))[0]) == 2
    store.clock.advance(9.9)  # type: ignore[attr-defined]
    assert (await claim(store, limits))[0] == []  # never 3 in any 10 s, unlike a token bucket
    store.clock.advance(0.2)  # type: ignore[attr-defined]
    assert len((await claim(store, limits))[0]) == 2


async def test_rate_limit_is_shared_by_every_worker(
    store: SqlStore, second_store: SqlStore
) -> None:
    for _ in range(10):
        await submit(store, ["weibo"])
    limits = {"weibo": AccountLimits(max_concurrency=50, rate=RateLimit(3, 6.0))}
    results = await asyncio.gather(
        claim(store, limits, worker="w1"),
        claim(second_store, limits, worker="w2"),
        claim(store, limits, worker="w3"),
        claim(second_store, limits, worker="w4"),
    )
    assert sum(len(got) for got, _ in results) == 3


async def _fail(store: SqlStore, items: list[Claimed], worker: str = "w1") -> None:
    for item in items:
        assert await store.mark_sending(item.delivery, worker)
        assert await store.finish(item.delivery, worker, transient(store), BREAKER)


async def test_breaker_opens_probes_and_closes(store: SqlStore) -> None:
    for _ in range(3):
        await submit(store, ["oa"])
    await submit(store, ["portal"])
    limits = {"oa": OPEN, "portal": OPEN}
    got, _ = await claim(store, {"oa": OPEN})
    await _fail(store, got)  # three failures in a row: the breaker opens

    got, hint = await claim(store, limits)
    assert [c.delivery.account for c in got] == ["portal"]  # other accounts carry on
    assert hint == pytest.approx(COOLDOWN)
    assert await store.mark_sending(got[0].delivery, "w1")
    assert await store.finish(got[0].delivery, "w1", posted(), BREAKER)
    store.clock.advance(COOLDOWN / 2)  # type: ignore[attr-defined]
    got, hint = await claim(store, limits)
    assert got == [] and hint == pytest.approx(COOLDOWN / 2)

    store.clock.advance(COOLDOWN / 2 + 1)  # type: ignore[attr-defined]
    probe, _ = await claim(store, limits)
    assert len(probe) == 1  # half-open: one probe, though three are due
    assert (await claim(store, limits, worker="w2"))[0] == []  # nothing more while it runs
    assert await store.mark_sending(probe[0].delivery, "w1")
    assert await store.finish(probe[0].delivery, "w1", posted(), BREAKER)

    rest, _ = await claim(store, limits)
    assert len(rest) == 2  # closed again: full speed


async def test_breaker_probe_that_fails_reopens(store: SqlStore) -> None:
    for _ in range(3):
        await submit(store, ["oa"])
    got, _ = await claim(store, {"oa": OPEN})
    await _fail(store, got)
    store.clock.advance(COOLDOWN + 1)  # type: ignore[attr-defined]
    probe, _ = await claim(store, {"oa": OPEN})
    assert len(probe) == 1
    await _fail(store, probe)
    got, hint = await claim(store, {"oa": OPEN})
    assert got == [] and hint == pytest.approx(COOLDOWN)


async def test_a_success_resets_the_failure_count(store: SqlStore) -> None:
    for _ in range(5):
        await submit(store, ["oa"])
    got, _ = await claim(store, {"oa": OPEN})
    await _fail(store, got[:2])
    assert await store.mark_sending(got[2].delivery, "w1")
    assert await store.finish(got[2].delivery, "w1", posted(), BREAKER)
    await _fail(store, got[3:])  # 2 failures, 1 success, 2 failures: never 3 in a row
    assert len((await claim(store, {"oa": OPEN}))[0]) == 4


# -- leases ---------------------------------------------------------------------------------


async def test_expired_lease_before_sending_is_claimed_again_as_a_publish(
    store: SqlStore,
) -> None:
    notice_id = await submit(store, ["portal"])
    (first,), _ = await claim(store, {"portal": OPEN}, worker="w1")
    assert first.delivery.status == Status.LEASED
    assert (await claim(store, {"portal": OPEN}, worker="w2"))[0] == []  # lease still held
    store.clock.advance(LEASE + 1)  # type: ignore[attr-defined]
    (second,), _ = await claim(store, {"portal": OPEN}, worker="w2")
    assert second.job is Job.PUBLISH and second.delivery.id == first.delivery.id
    assert second.delivery.attempts == 0  # it was never sent: no attempt counted
    assert not await store.mark_sending(first.delivery, "w1")  # w1 lost it: must not send
    assert await store.mark_sending(second.delivery, "w2")
    reasons = [e.reason for e in (await store.get_notice(notice_id)).events]
    assert "上次领取已过期，尚未发送" in reasons


async def test_expired_lease_while_sending_is_claimed_for_reconciling(store: SqlStore) -> None:
    await submit(store, ["portal"])
    (first,), _ = await claim(store, {"portal": OPEN}, worker="w1")
    assert await store.mark_sending(first.delivery, "w1")
    store.clock.advance(LEASE + 1)  # type: ignore[attr-defined]
    (second,), _ = await claim(store, {"portal": OPEN}, worker="w2")
    assert second.job is Job.RECONCILE
    assert second.delivery.status == Status.SENDING and second.delivery.attempts == 1
    assert not await store.finish(first.delivery, "w1", posted("late"), BREAKER)
    assert await store.finish(second.delivery, "w2", posted("found"), BREAKER)
    final = await store.get_delivery(first.delivery.id)
    assert (final.status, final.remote_id) == (Status.POSTED, "found")


async def test_renewed_leases_are_not_taken(store: SqlStore) -> None:
    await submit(store, ["portal"])
    (item,), _ = await claim(store, {"portal": OPEN}, worker="w1")
    assert await store.mark_sending(item.delivery, "w1")
    store.clock.advance(LEASE - 1)  # type: ignore[attr-defined]
    await store.renew_leases("w1", LEASE)
    store.clock.advance(LEASE - 1)  # type: ignore[attr-defined]
    assert (await claim(store, {"portal": OPEN}, worker="w2"))[0] == []


async def test_expire_all_leases_hands_everything_back(store: SqlStore) -> None:
    await submit(store, ["portal", "weibo"])
    got, _ = await claim(store, {"portal": OPEN, "weibo": OPEN}, worker="dead")
    assert await store.mark_sending(got[0].delivery, "dead")
    assert await store.expire_all_leases("the previous process ended") == 2
    again, _ = await claim(store, {"portal": OPEN, "weibo": OPEN}, worker="new")
    jobs = {c.delivery.id: c.job for c in again}
    assert jobs == {got[0].delivery.id: Job.RECONCILE, got[1].delivery.id: Job.PUBLISH}


async def test_claim_as_sending_marks_sending_and_counts_the_attempt(store: SqlStore) -> None:
    notice_id = await submit(store, ["portal"])
    limits = {"portal": AccountLimits(50, None, claim_as_sending=True)}
    (item,), _ = await claim(store, limits)
    assert item.marked and item.job is Job.PUBLISH
    assert (item.delivery.status, item.delivery.attempts) == (Status.SENDING, 1)
    assert item.outgoing().attempt == 1
    stored = await store.get_delivery(item.delivery.id)
    assert (stored.status, stored.attempts) == (Status.SENDING, 1)  # committed, not in memory
    last = (await store.get_notice(notice_id)).events[-1]
    assert (last.action, last.from_status, last.to_status) == ("sending", "pending", "sending")
    assert await store.finish(item.delivery, "w1", posted(), BREAKER)
    # A crash after such a claim is reconciled, not re-posted blindly.
    await submit(store, ["portal"])
    (crashed,), _ = await claim(store, limits, worker="dead")
    store.clock.advance(LEASE + 1)  # type: ignore[attr-defined]
    (again,), _ = await claim(store, limits, worker="new")
    assert again.delivery.id == crashed.delivery.id and again.job is Job.RECONCILE
    assert again.delivery.attempts == 1


# -- sending and finishing --------------------------------------------------------------------


async def test_finish_records_the_outcome(store: SqlStore) -> None:
    await submit(store, ["portal"])
    (item,), _ = await claim(store, {"portal": OPEN})
    assert await store.mark_sending(item.delivery, "w1")
    assert await store.finish(item.delivery, "w1", posted("abc"), BREAKER)
    final = await store.get_delivery(item.delivery.id)
    assert final.status == Status.POSTED
    assert (final.remote_id, final.url) == ("abc", "https://channel.example/abc")
    assert final.posted_at == store.clock.now()
    assert final.lease_until is None and final.worker_id is None
    assert (await claim(store, {"portal": OPEN}))[0] == []


async def test_rate_limited_attempt_is_given_back(store: SqlStore) -> None:
    await submit(store, ["weibo"])
    (item,), _ = await claim(store, {"weibo": OPEN})
    assert await store.mark_sending(item.delivery, "w1")
    wait = Outcome(
        to_status=Status.RETRY_WAIT,
        action="rate_limited",
        reason="429",
        error="429",
        not_before=store.clock.now(),
        refund_attempt=True,
    )
    assert await store.finish(item.delivery, "w1", wait, BREAKER)
    assert (await store.get_delivery(item.delivery.id)).attempts == 0


async def test_mark_sending_and_finish_refuse_after_cancel(store: SqlStore) -> None:
    await submit(store, ["portal"])
    (item,), _ = await claim(store, {"portal": OPEN})
    await store.cancel(item.delivery.id, "duty officer")
    assert not await store.mark_sending(item.delivery, "w1")
    assert (await store.get_delivery(item.delivery.id)).status == Status.CANCELLED


async def test_fifty_concurrent_finishes_all_land(store: SqlStore) -> None:
    for _ in range(50):
        await submit(store, ["portal"])
    got, _ = await claim(store, {"portal": OPEN})
    assert len(got) == 50
    marked = await asyncio.gather(*(store.mark_sending(c.delivery, "w1") for c in got))
    assert all(marked)
    done = await asyncio.gather(
        *(store.finish(c.delivery, "w1", posted(f"r{c.delivery.id}"), BREAKER) for c in got)
    )
    assert all(done)
    assert await store.count_by_status() == {"posted": 50}
    for c in got:
        d = await store.get_delivery(c.delivery.id)
        assert d.remote_id == f"r{c.delivery.id}"
        events_ = (await store.get_notice(c.delivery.notice_id)).events
        assert [e.action for e in events_][-1] == "posted"


async def test_finish_in_a_batch_with_a_lost_lease(store: SqlStore) -> None:
    for _ in range(10):
        await submit(store, ["portal"])
    got, _ = await claim(store, {"portal": AccountLimits(9, None)}, worker="w1")
    assert len(got) == 9
    await asyncio.gather(*(store.mark_sending(c.delivery, "w1") for c in got))
    store.clock.advance(LEASE + 1)  # type: ignore[attr-defined]
    taken, _ = await claim(store, {"portal": AccountLimits(1, None)}, worker="w2")
    lost = {c.delivery.id for c in taken if c.job is Job.RECONCILE}
    assert len(lost) == 1
    done = await asyncio.gather(*(store.finish(c.delivery, "w1", posted(), BREAKER) for c in got))
    assert [c.delivery.id for c, ok in zip(got, done, strict=True) if not ok] == list(lost)


# -- people's actions -------------------------------------------------------------------------


async def test_cancel_and_retry(store: SqlStore) -> None:
    await submit(store, ["portal"])
    (d,) = await store.list_deliveries()
    cancelled = await store.cancel(d.id, "duty officer")
    assert cancelled.status == Status.CANCELLED
    assert (await claim(store, {"portal": OPEN}))[0] == []
    again = await store.retry(d.id, "duty officer")
    assert (again.status, again.attempts, again.error) == (Status.PENDING, 0, None)
    assert len((await claim(store, {"portal": OPEN}))[0]) == 1


async def test_retry_after_failure_starts_afresh(store: SqlStore) -> None:
    await submit(store, ["portal"], max_attempts=1)
    (item,), _ = await claim(store, {"portal": OPEN})
    assert await store.mark_sending(item.delivery, "w1")
    failed = Outcome(
        to_status=Status.FAILED,
        action="failed",
        reason="HTTP 400: bad title",
        error="HTTP 400: bad title",
    )
    assert await store.finish(item.delivery, "w1", failed, BREAKER)
    assert (await store.get_delivery(item.delivery.id)).error == "HTTP 400: bad title"
    again = await store.retry(item.delivery.id, "editor")
    assert (again.status, again.attempts, again.error) == (Status.PENDING, 0, None)


async def test_transitions_not_allowed_say_why(store: SqlStore) -> None:
    await submit(store, ["portal"])
    (d,) = await store.list_deliveries()
    with pytest.raises(StateError) as refused:
        await store.retry(d.id, "editor")
    assert str(refused.value) == (
        f"投递 #{d.id} 当前状态为 pending，只有 cancelled、failed、needs_review 状态的投递可以重试"
    )
    (item,), _ = await claim(store, {"portal": OPEN})
    assert await store.mark_sending(item.delivery, "w1")
    with pytest.raises(
        StateError, match=f"投递 #{d.id} 当前状态为 sending，只有 .* 状态的投递可以取消"
    ):
        await store.cancel(d.id, "editor")  # it may be on the channel already
    assert await store.finish(item.delivery, "w1", posted(), BREAKER)
    with pytest.raises(StateError, match=f"投递 #{d.id} 当前状态为 posted"):
        await store.cancel(d.id, "editor")
    with pytest.raises(StateError, match=f"投递 #{d.id} 当前状态为 posted"):
        await store.retry(d.id, "editor")
    with pytest.raises(NotFoundError, match="没有 id 为 999999 的投递"):
        await store.retry(999999, "editor")
    with pytest.raises(NotFoundError, match="没有 id 为 999999 的通知"):
        await store.get_notice(999999)


async def test_every_transition_appends_an_event(store: SqlStore) -> None:
    notice_id = await submit(store, ["portal"], max_attempts=2)
    limits = {"portal": OPEN}
    (a,), _ = await claim(store, limits)
    await store.mark_sending(a.delivery, "w1")
    await store.finish(a.delivery, "w1", transient(store, "HTTP 503"), BREAKER)
    (b,), _ = await claim(store, limits)
    await store.mark_sending(b.delivery, "w1")
    gave_up = Outcome(
        to_status=Status.FAILED,
        action="failed",
        reason="尝试 2 次后放弃：HTTP 503",
        error="HTTP 503",
        failure=True,
    )
    await store.finish(b.delivery, "w1", gave_up, BREAKER)
    await store.retry(a.delivery.id, "editor")
    await store.cancel(a.delivery.id, "editor")
    history = [
        (e.action, e.from_status, e.to_status, e.actor)
        for e in (await store.get_notice(notice_id)).events
        if e.delivery_id is not None
    ]
    assert history == [
        ("queued", None, "pending", "tester"),
        ("claimed", "pending", "leased", "w1"),
        ("sending", "leased", "sending", "w1"),
        ("retry", "sending", "retry_wait", "w1"),
        ("claimed", "retry_wait", "leased", "w1"),
        ("sending", "leased", "sending", "w1"),
        ("failed", "sending", "failed", "w1"),
        ("retry", "failed", "pending", "editor"),
        ("cancelled", "pending", "cancelled", "editor"),
    ]
    events_ = (await store.get_notice(notice_id)).events
    assert all(e.at is not None and e.reason for e in events_ if e.delivery_id is not None)


# -- several workers ----------------------------------------------------------------------


async def test_concurrent_claimers_never_share_a_delivery(
    store: SqlStore, second_store: SqlStore
) -> None:
    accounts = ["portal", "weibo", "wechat", "oa"]
    for _ in range(25):
        await submit(store, accounts)
    limits = {a: AccountLimits(max_concurrency=100) for a in accounts}
    seen: list[int] = []
    for _ in range(20):
        rounds = await asyncio.gather(
            *(
                s.claim(ClaimRequest(w, limits, LEASE, BREAKER), 7)
                for s, w in (
                    (store, "w1"),
                    (second_store, "w2"),
                    (store, "w3"),
                    (second_store, "w4"),
                )
            )
        )
        seen += [c.delivery.id for got, _ in rounds for c in got]
    assert len(seen) == 100
    assert len(set(seen)) == 100  # none claimed twice


async def test_concurrency_limit_holds_across_workers(
    store: SqlStore, second_store: SqlStore
) -> None:
    for _ in range(20):
        await submit(store, ["weibo"])
    limits = {"weibo": AccountLimits(max_concurrency=3)}
    rounds = await asyncio.gather(
        *(
            s.claim(ClaimRequest(w, limits, LEASE, BREAKER), 10)
            for s, w in ((store, "w1"), (second_store, "w2"), (store, "w3"), (second_store, "w4"))
        )
    )
    assert sum(len(got) for got, _ in rounds) == 3


@pytest.mark.postgres
async def test_two_postgres_workers_drain_the_queue_exactly_once(
    pg_url: str, clock: object
) -> None:
    one = open_store(pg_url, clock)  # type: ignore[arg-type]
    two = open_store(pg_url, clock)  # type: ignore[arg-type]
    try:
        await upgrade(one)
        for _ in range(40):
            await submit(one, ["portal", "weibo", "oa"])
        limits = {a: AccountLimits(max_concurrency=1000) for a in ("portal", "weibo", "oa")}
        counts: dict[int, int] = {}

        async def drain(s: SqlStore, name: str) -> None:
            while True:
                got, _ = await s.claim(ClaimRequest(name, limits, LEASE, BREAKER), 5)
                if not got:
                    return
                for c in got:
                    counts[c.delivery.id] = counts.get(c.delivery.id, 0) + 1
                    assert await s.mark_sending(c.delivery, name)
                    assert await s.finish(c.delivery, name, posted(), BREAKER)

        await asyncio.gather(drain(one, "w1"), drain(two, "w2"))
        assert len(counts) == 120 and set(counts.values()) == {1}
        assert await one.count_by_status() == {"posted": 120}
    finally:
        await one.close()
        await two.close()
