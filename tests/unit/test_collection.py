"""Reach collection on a decaying schedule, against the Weibo sandbox over real HTTP, with a
hand-moved clock: counts that grow, a deleted post, a quota refusal, T+1 lag, health."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from fastapi import FastAPI

from channels.webhook import WebhookAdapter
from channels.weibo.sandbox import WeiboSandbox
from publisher import registry
from publisher.contract import Capabilities, MetricSample, PostRef
from publisher.errors import ConfigError
from publisher.metrics import health
from publisher.metrics.collector import collect_once
from publisher.metrics.schedule import interval, is_due, parse_schedule
from publisher.notice import parse_notice
from publisher.runtime import Runtime
from publisher.settings import load_settings
from tests.conftest import FakeClock
from tests.sandbox_server import serve_app

HOUR = 3600.0
DAY = 86400.0


# -- the schedule itself ------------------------------------------------------------------


def test_the_schedule_is_read_and_refused_in_chinese() -> None:
    steps = parse_schedule("2d:1h,30d:1d,90d:7d")
    assert interval(timedelta(hours=47), steps) == timedelta(hours=1)
    assert interval(timedelta(days=2), steps) == timedelta(days=1)
    assert interval(timedelta(days=89), steps) == timedelta(days=7)
    assert interval(timedelta(days=90), steps) is None
    for bad, words in [
        ("2d", "年龄:间隔"),
        ("2x:1h", "单位"),
        ("30d:1d,2d:1h", "逐段增大"),
        ("0d:1h", "大于 0"),
    ]:
        with pytest.raises(ValueError, match=words):
            parse_schedule(bad)
    with pytest.raises(ConfigError, match="METRICS_SCHEDULE 无效: “2d”应写作"):
        load_settings(metrics_schedule="2d")


def test_a_post_is_due_when_its_interval_has_passed(clock: FakeClock) -> None:
    steps = parse_schedule("2d:1h,30d:1d,90d:7d")
    posted = clock.now()
    now = posted + timedelta(hours=5)
    assert is_due(posted, None, now, steps)
    assert not is_due(posted, now - timedelta(minutes=30), now, steps)
    # an hourly job drifting by seconds still asks every run
    assert is_due(posted, now - timedelta(minutes=59, seconds=50), now, steps)
    later = posted + timedelta(days=10)
    assert not is_due(posted, later - timedelta(hours=5), later, steps)
    assert is_due(posted, later - timedelta(hours=24), later, steps)
    # a T+1 channel is asked at most daily even while hourly would be due
    assert not is_due(posted, now - timedelta(hours=2), now, steps, lag=timedelta(days=1))


# -- a toy channel: what was asked, and when -------------------------------------------------


class Counted(WebhookAdapter):
    """A webhook that reports reads, remembering every batch it was asked for."""

    type_name = "counted_hook"
    lag: ClassVar[float] = 0.0
    asked: ClassVar[list[tuple[Any, list[int]]]] = []

    @property
    def capabilities(self) -> Capabilities:
        return dataclasses.replace(
            super().capabilities, metrics=("reads",), metrics_lag_seconds=self.lag
        )

    async def fetch_metrics(self, refs: Sequence[PostRef]) -> list[MetricSample]:
        now = self.ctx.clock.now()
        self.asked.append((now, [r.delivery_id for r in refs]))
        return [MetricSample(r.delivery_id, "reads", len(self.asked), now, "toy") for r in refs]


async def _posted(rt: Runtime, title: str, account: str, remote_id: str = "r") -> int:
    done = await rt.intake.submit(
        parse_notice({"kind": "general", "title": title, "body": "正文", "channels": [account]}),
        source="test",
        actor="t",
    )
    delivery = (await rt.store.get_notice(done.notice_id)).deliveries[0]
    now = rt.clock.now()

    def _post(conn: Any) -> None:  # posted, as the worker would record it
        conn.exec_driver_sql(
            "UPDATE deliveries SET status='posted', remote_id=?, posted_at=? WHERE id=?",
            (remote_id, now.replace(tzinfo=None).isoformat(sep=" "), delivery.id),
        )

    await rt.store._tx(_post)
    return delivery.id


@pytest.fixture
async def toy(
    tmp_path: Any, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Runtime]:
    installed = dict(registry.adapter_types())
    monkeypatch.setattr(registry, "adapter_types", lambda: {**installed, "counted_hook": Counted})
    Counted.asked = []
    Counted.lag = 0.0
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/c.db",
        accounts={"toy": {"type": "counted_hook", "url": "http://127.0.0.1:9/x"}},
    )
    rt = await Runtime.open(settings, clock=clock)
    try:
        yield rt
    finally:
        await rt.close()


async def test_hourly_for_two_days_daily_to_thirty_weekly_to_ninety(
    toy: Runtime, clock: FakeClock
) -> None:
    start = clock.now()
    delivery = await _posted(toy, "通知", "toy")
    for _ in range(100 * 24):  # an hourly job, for 100 days
        await collect_once(toy.store, toy.channels, clock)
        clock.advance(HOUR)
    ages = [(at - start) / timedelta(days=1) for at, ids in Counted.asked if delivery in ids]
    first_two = [a for a in ages if a < 2]
    to_thirty = [a for a in ages if 2 <= a < 30]
    to_ninety = [a for a in ages if 30 <= a < 90]
    assert len(first_two) == 48
    assert len(to_thirty) == 28
    assert 8 <= len(to_ninety) <= 9
    assert not [a for a in ages if a >= 90]


async def test_a_late_channel_waits_for_its_lag_then_is_asked_daily(
    toy: Runtime, clock: FakeClock
) -> None:
    Counted.lag = DAY  # WeChat's datacube: T+1
    delivery = await _posted(toy, "通知", "toy")
    for _ in range(23):
        await collect_once(toy.store, toy.channels, clock)
        clock.advance(HOUR)
    assert Counted.asked == []  # no numbers exist before a day has passed
    for _ in range(48):
        clock.advance(HOUR)
        await collect_once(toy.store, toy.channels, clock)
    assert [ids for _, ids in Counted.asked] == [[delivery], [delivery]]


async def test_a_quota_per_run_asks_the_most_overdue_first(toy: Runtime, clock: FakeClock) -> None:
    first = await _posted(toy, "一", "toy")
    clock.advance(60)
    second = await _posted(toy, "二", "toy")
    [result] = await collect_once(toy.store, toy.channels, clock, max_posts=1)
    assert (result.posts, result.deferred) == (1, 1)
    assert Counted.asked[-1][1] == [first]
    clock.advance(60)
    [result] = await collect_once(toy.store, toy.channels, clock, max_posts=1)
    assert Counted.asked[-1][1] == [second] and result.deferred == 0


# -- the Weibo sandbox over real HTTP ------------------------------------------------------


@pytest.fixture
async def weibo(tmp_path: Any, clock: FakeClock) -> AsyncIterator[tuple[Runtime, WeiboSandbox]]:
    sandbox = WeiboSandbox(clock=lambda: clock.now().timestamp())
    app = FastAPI()
    app.include_router(sandbox.router, prefix="/_sandbox/weibo")
    with serve_app(app) as base:
        settings = load_settings(
            database_url=f"sqlite:///{tmp_path}/w.db",
            base_url=base,
            accounts={"weibo": {"type": "weibo", "access_token": "tok", "sandbox": True}},
        )
        rt = await Runtime.open(settings, clock=clock)
        try:
            yield rt, sandbox
        finally:
            await rt.close()


def _share(sandbox: WeiboSandbox, text: str) -> str:
    return str(sandbox._post(1, text, {"path": "/2/statuses/share.json"})["idstr"])


async def test_counts_grow_a_deleted_post_gets_no_sample_and_a_quota_pauses_the_account(
    weibo: tuple[Runtime, WeiboSandbox], clock: FakeClock
) -> None:
    rt, sandbox = weibo
    kept = await _posted(rt, "甲", "weibo", _share(sandbox, "甲"))
    gone = await _posted(rt, "乙", "weibo", _share(sandbox, "乙"))
    clock.advance(HOUR)
    [first] = await collect_once(rt.store, rt.channels, clock)
    first_at = clock.now()
    assert (first.posts, first.error, first.silent) == (2, None, 0)
    before = await rt.store.latest_metrics([kept])

    # the second post is deleted on Weibo: left out of the answer, so no sample (never 0)
    sandbox.posts[:] = [p for p in sandbox.posts if p["text"] != "乙"]
    clock.advance(HOUR)
    [second] = await collect_once(rt.store, rt.channels, clock)
    assert (second.posts, second.silent) == (2, 1)
    after = await rt.store.latest_metrics([kept, gone])
    assert after[kept]["likes"] > before[kept]["likes"]  # counts grow (a like per 20 s)
    assert after[kept]["source"] == "weibo:statuses/count"
    assert after[gone]["as_of"] == first_at.isoformat()  # its last sample is still the first

    # Weibo's hourly user quota (10023): recorded, retried after the hour it names, never silent
    sandbox.faults = sandbox.faults.model_copy(update={"error_rate": 1.0, "error_code": 10023})
    clock.advance(HOUR)
    [refused] = await collect_once(rt.store, rt.channels, clock)
    assert refused.error and "10023" in refused.error and refused.failures == 1
    assert refused.waiting_until == clock.now() + timedelta(hours=1)
    problems: list[str] = []
    await health.doctor(rt.store, rt.channels, clock.now(), rt.settings.zone, problems)
    assert problems and "连续失败 1 次" in problems[0] and "10023" in problems[0]

    sandbox.faults = sandbox.faults.model_copy(update={"error_rate": 0.0})
    clock.advance(20 * 60)
    [waiting] = await collect_once(rt.store, rt.channels, clock)
    assert waiting.posts == 0 and waiting.waiting_until is not None
    assert "前不再查询" in health.describe(waiting, rt.settings.zone)
    clock.advance(HOUR)
    [back] = await collect_once(rt.store, rt.channels, clock)
    assert (back.posts, back.error, back.failures) == (2, None, 0)
    problems = []
    await health.doctor(rt.store, rt.channels, clock.now(), rt.settings.zone, problems)
    assert problems == []
    assert (await rt.store.latest_metrics([kept]))[kept]["as_of"] == clock.now().isoformat()


async def test_collection_health_over_the_api(tmp_path: Any) -> None:
    from helpers import app_client

    async with app_client(tmp_path) as http:
        empty = await http.get("/api/reach/collection")
        assert empty.status_code == 200 and empty.json() == {"accounts": []}
        rt = http._transport.app.state.runtime  # type: ignore[attr-defined]
        at = rt.clock.now()
        await rt.store.record_collection("weibo", at, "RateLimited: 10023")
        [row] = (await http.get("/api/reach/collection")).json()["accounts"]
    assert (row["account"], row["failures"], row["last_error"]) == (
        "weibo",
        1,
        "RateLimited: 10023",
    )
