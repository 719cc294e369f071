"""The worker over a real SQLite store, with scripted fake channels.

Each test submits notices through Intake (as the CLI and the API do), runs a Worker wired the
way ``publisher serve`` wires it, and looks at what a user would see: delivery states, remote
ids, error messages, attempts, and how many posts each channel ended up holding.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from helpers import (
    FakeAdapter,
    Lost,
    Slow,
    StaticChannels,
    eventually,
    fake,
    fake_account,
)

from publisher.clock import SystemClock
from publisher.contract import Clock, Idempotency, PublishResult
from publisher.errors import (
    AuthExpired,
    Duplicate,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from publisher.notice import parse_notice
from publisher.queue.admission import AdmissionPolicy
from publisher.queue.intake import Intake
from publisher.queue.retry import Backoff, RetryPolicy
from publisher.queue.worker import Worker, WorkerConfig
from publisher.render import Renderer
from publisher.settings import REPO_ROOT, Settings
from publisher.states import FINAL, Status, notice_status
from publisher.store import SqlStore, open_store, upgrade
from publisher.store.records import ClaimRequest, DeliveryRecord, NoticeRecord


class UpperBound(random.Random):
    """Full jitter at its ceiling, so backoff delays are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


@dataclass
class Env:
    store: SqlStore
    channels: StaticChannels
    intake: Intake
    worker: Worker
    task: asyncio.Task[None] | None = None
    titles: dict[int, str] = field(default_factory=dict)

    def adapter(self, name: str) -> FakeAdapter:
        return fake(self.channels, name)

    def start(self) -> None:
        self.task = asyncio.create_task(self.worker.run())

    async def stop(self) -> None:
        for account in self.channels:
            fake(self.channels, account.name).released.set()
        if self.task is not None:
            self.worker.stop()
            await asyncio.wait_for(self.task, 10)
            self.task = None

    async def submit(self, channels: list[str], **fields: Any) -> int:
        notice = parse_notice(
            {
                "kind": "general",
                "title": "关于做好安全生产工作的通知",
                "body": "请各单位落实。",
                "channels": channels,
                **fields,
            }
        )
        done = await self.intake.submit(notice, source="test", actor="tester")
        self.titles[done.notice_id] = notice.title
        return done.notice_id

    async def notice(self, notice_id: int) -> NoticeRecord:
        return await self.store.get_notice(notice_id)

    async def delivery(self, notice_id: int, account: str | None = None) -> DeliveryRecord:
        found = [
            d
            for d in (await self.notice(notice_id)).deliveries
            if account is None or d.account == account
        ]
        assert len(found) == 1
        return found[0]

    async def settled(self, notice_id: int, within: float = 5.0) -> NoticeRecord:
        """Wait until every delivery of the notice is in a final state."""

        async def done() -> bool:
            return all(d.status in FINAL for d in (await self.notice(notice_id)).deliveries)

        await eventually(done, within=within)
        return await self.notice(notice_id)


MakeEnv = Callable[..., Awaitable[Env]]


@pytest.fixture
async def make_env(sqlite_url: str) -> AsyncIterator[MakeEnv]:
    made: list[Env] = []

    async def make(
        accounts: dict[str, dict[str, Any]],
        *,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        start: bool = True,
        **config: Any,
    ) -> Env:
        clock = clock or SystemClock()
        store = open_store(sqlite_url, clock)
        await upgrade(store)
        channels = StaticChannels(
            fake_account(name, clock, **options) for name, options in accounts.items()
        )
        settings = Settings(database_url=sqlite_url, accounts={})
        intake = Intake(
            settings, store, channels, Renderer(REPO_ROOT / "templates", settings.zone), clock
        )
        worker = Worker(
            store,
            channels,
            clock,
            RetryPolicy(backoff or Backoff(base=0.02, cap=0.05)),
            WorkerConfig(
                **{
                    "concurrency": 16,
                    "poll_interval": 0.05,
                    "lease_seconds": 10.0,
                    "breaker_threshold": 5,
                    "breaker_cooldown": 30.0,
                    **config,
                }
            ),
        )
        intake.claimer = worker  # as Runtime wires it: submit may hand work straight over
        env = Env(store, channels, intake, worker)
        made.append(env)
        if start:
            env.start()
            await eventually(lambda: _true(worker.running))
        return env

    yield make
    for env in made:
        await env.stop()
        await env.channels.aclose()
        await env.store.close()


async def _true(value: bool) -> bool:
    return value


def actions(notice: NoticeRecord) -> list[str]:
    return [e.action for e in notice.events if e.delivery_id is not None]


# -- the ordinary path -----------------------------------------------------------------------


async def test_posted_delivery_records_remote_id_and_url(make_env: MakeEnv) -> None:
    env = await make_env({"oa": {}, "portal": {}})
    notice_id = await env.submit(["oa", "portal"])
    notice = await env.settled(notice_id)
    assert notice_status(d.status for d in notice.deliveries) == "posted"
    oa = await env.delivery(notice_id, "oa")
    assert (oa.remote_id, oa.url) == ("oa-1", "https://channel.example/oa/1")
    assert oa.attempts == 1 and oa.error is None and oa.posted_at is not None
    assert env.adapter("oa").posts == 1 and env.adapter("portal").posts == 1
    sent = env.adapter("oa").calls[0]
    assert sent.idempotency_key == oa.idempotency_key
    assert sent.rendered.title == "关于做好安全生产工作的通知"
    assert "posted" in actions(notice)


async def test_a_notice_is_posted_once_per_account(make_env: MakeEnv) -> None:
    env = await make_env({"oa": {"max_concurrency": 8}})
    ids = [await env.submit(["oa"], title=f"第{i}号通知") for i in range(30)]
    for notice_id in ids:
        await env.settled(notice_id)
    adapter = env.adapter("oa")
    assert adapter.posts == 30 and len(adapter.calls) == 30
    assert sorted(c.notice.title for c in adapter.calls) == sorted(
        f"第{i}号通知" for i in range(30)
    )


# -- failures, by class ------------------------------------------------------------------------


async def test_transient_errors_back_off_then_fail_with_the_message(make_env: MakeEnv) -> None:
    env = await make_env(
        {"oa": {"max_attempts": 3}}, backoff=Backoff(base=0.15, cap=10, rng=UpperBound())
    )
    env.adapter("oa").script = [
        TransientError("HTTP 503 from oa.example: busy"),
        TransientError("HTTP 503 from oa.example: busy"),
        TransientError("HTTP 502 from oa.example: bad gateway"),
    ]
    notice_id = await env.submit(["oa"])
    notice = await env.settled(notice_id)
    d = notice.deliveries[0]
    assert d.status == Status.FAILED and d.attempts == 3
    assert d.error == "HTTP 502 from oa.example: bad gateway"
    assert notice.events[-1].reason == (
        "尝试 3 次后放弃：暂时性错误: HTTP 502 from oa.example: bad gateway"
    )
    assert actions(notice).count("retry") == 2
    t = env.adapter("oa").sent_at
    assert len(t) == 3
    assert t[1] - t[0] >= 0.15 - 0.01  # base * 2**0
    assert t[2] - t[1] >= 0.30 - 0.01  # base * 2**1: exponential


async def test_transient_error_then_success_is_posted(make_env: MakeEnv) -> None:
    env = await make_env({"oa": {}})
    env.adapter("oa").script = [TransientError("connect failed")]
    d = (await env.settled(await env.submit(["oa"]))).deliveries[0]
    assert (d.status, d.attempts, d.error) == (Status.POSTED, 2, None)


async def test_rate_limited_waits_retry_after_without_using_an_attempt(
    make_env: MakeEnv,
) -> None:
    env = await make_env({"weibo": {"max_attempts": 1}})
    env.adapter("weibo").script = [
        RateLimited("HTTP 429", retry_after=0.3),
        RateLimited("HTTP 429", retry_after=0.3),
    ]
    notice = await env.settled(await env.submit(["weibo"]))
    d = notice.deliveries[0]
    assert d.status == Status.POSTED  # the single attempt was not used up by the waits
    assert d.attempts == 1
    t = env.adapter("weibo").sent_at
    assert t[1] - t[0] >= 0.29 and t[2] - t[1] >= 0.29
    assert actions(notice).count("rate_limited") == 2


async def test_expired_credentials_are_refreshed_once_then_retried(make_env: MakeEnv) -> None:
    env = await make_env({"wechat": {}})
    env.adapter("wechat").script = [AuthExpired("40001 invalid credential", code=40001)]
    d = (await env.settled(await env.submit(["wechat"]))).deliveries[0]
    adapter = env.adapter("wechat")
    assert d.status == Status.POSTED and d.attempts == 1
    assert adapter.refreshes == 1 and len(adapter.calls) == 2


async def test_credentials_still_rejected_after_refresh_are_not_refreshed_again(
    make_env: MakeEnv,
) -> None:
    env = await make_env({"wechat": {"max_attempts": 1}})
    env.adapter("wechat").script = [AuthExpired("40001"), AuthExpired("40001 again")]
    d = (await env.settled(await env.submit(["wechat"]))).deliveries[0]
    adapter = env.adapter("wechat")
    assert d.status == Status.FAILED and d.error == "40001 again"
    assert adapter.refreshes == 1 and len(adapter.calls) == 2


async def test_permanent_error_fails_at_once_with_the_channels_words(make_env: MakeEnv) -> None:
    env = await make_env({"weibo": {"max_attempts": 5}})
    env.adapter("weibo").script = [PermanentError("20019 相同内容短时间内不能重复发布", code=20019)]
    notice = await env.settled(await env.submit(["weibo"]))
    d = notice.deliveries[0]
    assert (d.status, d.attempts) == (Status.FAILED, 1)
    assert d.error == "20019 相同内容短时间内不能重复发布"
    assert "20019 相同内容短时间内不能重复发布" in (notice.events[-1].reason or "")
    assert len(env.adapter("weibo").calls) == 1


async def test_duplicate_counts_as_posted(make_env: MakeEnv) -> None:
    env = await make_env({"oa": {}})
    env.adapter("oa").script = [Duplicate("409 already have it", remote_id="earlier-7")]
    d = (await env.settled(await env.submit(["oa"]))).deliveries[0]
    assert (d.status, d.remote_id) == (Status.POSTED, "earlier-7")


# -- unknown outcomes: reconcile, never re-post blindly ----------------------------------------


async def test_unknown_outcome_with_lookup_finds_the_post(make_env: MakeEnv) -> None:
    env = await make_env({"oa": {"idempotency": Idempotency.LOOKUP}})
    env.adapter("oa").script = [Lost()]
    notice = await env.settled(await env.submit(["oa"]))
    d = notice.deliveries[0]
    adapter = env.adapter("oa")
    assert (d.status, d.remote_id) == (Status.POSTED, "oa-1")
    assert len(adapter.calls) == 1 and adapter.posts == 1  # found, not posted again
    assert adapter.lookups == [d.idempotency_key]
    assert actions(notice)[-1] == "reconciled"


async def test_unknown_outcome_with_lookup_reposts_what_never_arrived(
    make_env: MakeEnv,
) -> None:
    env = await make_env({"oa": {"idempotency": Idempotency.LOOKUP}})
    env.adapter("oa").script = [OutcomeUnknown("connection reset before the reply")]
    d = (await env.settled(await env.submit(["oa"]))).deliveries[0]
    adapter = env.adapter("oa")
    assert d.status == Status.POSTED and adapter.posts == 1
    assert len(adapter.lookups) == 1 and len(adapter.calls) == 2


async def test_lookup_that_fails_is_asked_again_not_skipped(make_env: MakeEnv) -> None:
    env = await make_env({"oa": {"idempotency": Idempotency.LOOKUP, "max_attempts": 3}})
    adapter = env.adapter("oa")
    adapter.script = [Lost()]
    adapter.lookup_script = [TransientError("HTTP 503 on lookup"), None]
    d = (await env.settled(await env.submit(["oa"]))).deliveries[0]
    assert d.status == Status.POSTED
    assert adapter.posts == 1 and len(adapter.calls) == 1  # never a blind second post
    assert len(adapter.lookups) == 2


async def test_a_channel_that_cannot_be_asked_goes_to_review_not_asked_forever(
    make_env: MakeEnv,
) -> None:
    env = await make_env(
        {"oa": {"idempotency": Idempotency.LOOKUP, "max_attempts": 3}},
        backoff=Backoff(base=0.1, cap=10, rng=UpperBound()),
    )
    adapter = env.adapter("oa")
    adapter.script = [Lost()]
    adapter.lookup_script = [TransientError("HTTP 503 on lookup")] * 3
    notice = await env.settled(await env.submit(["oa"]))
    d = notice.deliveries[0]
    assert (d.status, d.lookups) == (Status.NEEDS_REVIEW, 3)
    assert adapter.posts == 1 and len(adapter.calls) == 1  # never a blind second post
    assert len(adapter.lookups) == 3
    assert notice.events[-1].reason == (
        "无法向渠道查询之前的尝试是否已送达"
        "（3 次查询失败，最后一次：暂时性错误: HTTP 503 on lookup）"
        "；请到渠道上核实，然后重试或取消"
    )
    t = adapter.looked_at
    assert t[1] - t[0] >= 0.1 - 0.01  # base * 2**0
    assert t[2] - t[1] >= 0.2 - 0.01  # base * 2**1: each failed lookup waits longer
    # The officer checked the channel, found nothing and retried: sent again, count reset.
    await env.store.retry(d.id, "duty officer")
    again = (await env.settled(d.notice_id)).deliveries[0]
    assert (again.status, again.lookups, adapter.posts) == (Status.POSTED, 0, 2)


async def test_unknown_outcome_with_remote_key_reposts_under_the_same_key(
    make_env: MakeEnv,
) -> None:
    env = await make_env({"oa": {"idempotency": Idempotency.REMOTE_KEY}})
    env.adapter("oa").script = [Lost()]
    d = (await env.settled(await env.submit(["oa"]))).deliveries[0]
    adapter = env.adapter("oa")
    assert d.status == Status.POSTED
    assert [c.idempotency_key for c in adapter.calls] == [d.idempotency_key] * 2
    assert adapter.posts == 1  # the channel honoured the key


async def test_unknown_outcome_without_idempotency_goes_to_review(make_env: MakeEnv) -> None:
    env = await make_env({"weibo": {"idempotency": Idempotency.NONE}})
    env.adapter("weibo").script = [Lost()]
    notice = await env.settled(await env.submit(["weibo"]))
    d = notice.deliveries[0]
    assert d.status == Status.NEEDS_REVIEW
    assert "该渠道无法查询" in (notice.events[-1].reason or "")
    assert len(env.adapter("weibo").calls) == 1
    assert notice_status(x.status for x in notice.deliveries) == "needs_review"


async def test_a_crash_while_sending_is_never_reposted_blindly(make_env: MakeEnv) -> None:
    env = await make_env(
        {"weibo": {"idempotency": Idempotency.NONE}, "oa": {"idempotency": Idempotency.LOOKUP}},
        start=False,
    )
    notice_id = await env.submit(["weibo", "oa"])
    limits = env.channels.limits()
    request = ClaimRequest("dead-worker", limits, 10.0, AdmissionPolicy())
    got, _ = await env.store.claim(request, 10)
    for item in got:
        if not item.marked:
            assert await env.store.mark_sending(item.delivery, "dead-worker")
    # The dead worker's OA post arrived before it died; its Weibo post may have too.
    oa_key = (await env.delivery(notice_id, "oa")).idempotency_key
    env.adapter("oa").held[oa_key] = [PublishResult("oa-early")]
    await env.store.expire_all_leases("the previous process ended")
    env.start()
    notice = await env.settled(notice_id)
    weibo = await env.delivery(notice_id, "weibo")
    oa = await env.delivery(notice_id, "oa")
    assert weibo.status == Status.NEEDS_REVIEW and env.adapter("weibo").calls == []
    assert (oa.status, oa.remote_id) == (Status.POSTED, "oa-early")
    assert env.adapter("oa").calls == []
    assert "reconcile" in actions(notice)


# -- two-phase channels and long sends ---------------------------------------------------------


async def test_two_phase_publish_is_confirmed_later(make_env: MakeEnv) -> None:
    env = await make_env({"wechat": {"two_phase": True, "confirm_after": 0.1}})
    adapter = env.adapter("wechat")
    adapter.confirm_script = [False, True]  # still publishing, then finished
    notice = await env.settled(await env.submit(["wechat"]))
    d = notice.deliveries[0]
    assert (d.status, d.remote_id, d.url) == (
        Status.POSTED,
        "wechat-1",
        "https://channel.example/wechat-1",
    )
    assert adapter.confirms == ["wechat-1", "wechat-1"] and len(adapter.calls) == 1
    assert actions(notice)[-2:] == ["confirming", "posted"]


async def test_a_finished_callback_confirms_at_once(make_env: MakeEnv) -> None:
    env = await make_env({"wechat": {"two_phase": True, "confirm_after": 600}})
    notice_id = await env.submit(["wechat"])

    async def confirming() -> bool:
        return (await env.delivery(notice_id)).status == Status.CONFIRMING

    await eventually(confirming)
    assert await env.store.confirm_now("wechat", "wechat-1")  # e.g. PUBLISHJOBFINISH arrived
    env.worker.wake()
    await env.settled(notice_id, within=2.0)
    assert (await env.delivery(notice_id)).status == Status.POSTED


async def test_a_failed_two_phase_job_fails_with_the_channels_words(make_env: MakeEnv) -> None:
    env = await make_env({"wechat": {"two_phase": True}})
    env.adapter("wechat").confirm_script = [PermanentError("发布失败：原创校验不通过")]
    d = (await env.settled(await env.submit(["wechat"]))).deliveries[0]
    assert (d.status, d.error) == (Status.FAILED, "发布失败：原创校验不通过")


async def test_a_send_longer_than_the_lease_keeps_its_lease(make_env: MakeEnv) -> None:
    env = await make_env({"oa": {}}, lease_seconds=0.6)  # heartbeat every 0.2 s
    env.adapter("oa").script = [Slow(1.5)]
    d = (await env.settled(await env.submit(["oa"]))).deliveries[0]
    assert d.status == Status.POSTED
    assert len(env.adapter("oa").calls) == 1  # never reclaimed and sent again meanwhile


# -- independence and order ---------------------------------------------------------------------


async def test_a_slow_channel_does_not_delay_another(make_env: MakeEnv) -> None:
    env = await make_env({"slow": {}, "fast": {}})
    env.adapter("slow").script = [Slow(5.0)]
    loop = asyncio.get_running_loop()
    began = loop.time()
    first = await env.submit(["slow", "fast"])
    second = await env.submit(["fast"])

    async def fast_done() -> bool:
        a = await env.delivery(first, "fast")
        b = await env.delivery(second, "fast")
        return a.status == b.status == Status.POSTED

    await eventually(fast_done, within=1.0)
    assert loop.time() - began < 1.0
    assert (await env.delivery(first, "slow")).status == Status.SENDING


async def test_an_accounts_concurrency_is_never_exceeded(make_env: MakeEnv) -> None:
    env = await make_env({"weibo": {"max_concurrency": 2}, "oa": {"max_concurrency": 5}})
    for name in ("weibo", "oa"):
        env.adapter(name).script = [Slow(0.1)] * 10
    ids = [await env.submit(["weibo", "oa"]) for _ in range(10)]
    for notice_id in ids:
        await env.settled(notice_id)
    assert env.adapter("weibo").peak == 2  # busy, but never more than declared
    assert 2 < env.adapter("oa").peak <= 5


async def test_urgent_goes_before_routine_on_the_same_account(make_env: MakeEnv) -> None:
    env = await make_env({"oa": {"max_concurrency": 1}})
    adapter = env.adapter("oa")
    adapter.script = [Slow(0.5)]
    first = await env.submit(["oa"], title="日常一")
    await eventually(lambda: _true(len(adapter.calls) == 1))  # the only slot is busy
    routine = [await env.submit(["oa"], title=f"日常{n}") for n in ("二", "三")]
    urgent = await env.submit(["oa"], title="暴雨红色预警", urgent=True)
    for notice_id in (first, *routine, urgent):
        await env.settled(notice_id)
    assert [c.notice.title for c in adapter.calls] == ["日常一", "暴雨红色预警", "日常二", "日常三"]


class HandClock:
    """A clock the test moves (the worker still sleeps in real time between polls)."""

    def __init__(self) -> None:
        self.current = SystemClock().now()

    def now(self) -> Any:
        return self.current


async def test_scheduled_notice_is_not_sent_before_its_time(make_env: MakeEnv) -> None:
    clock = HandClock()
    env = await make_env({"portal": {}}, clock=clock)
    publish_at = clock.now() + timedelta(hours=1)
    notice_id = await env.submit(["portal"], publish_at=publish_at.isoformat())
    await asyncio.sleep(0.4)  # several polls
    d = await env.delivery(notice_id)
    assert d.status == Status.PENDING and env.adapter("portal").calls == []
    clock.current = publish_at - timedelta(seconds=1)
    await asyncio.sleep(0.3)
    assert env.adapter("portal").calls == []
    clock.current = publish_at
    notice = await env.settled(notice_id, within=2.0)
    assert notice.deliveries[0].status == Status.POSTED


# -- the worker rests when it has nothing it may do ---------------------------------------------


def count_calls(store: SqlStore, name: str) -> list[int]:
    calls = [0]
    original = getattr(store, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await original(*args, **kwargs)

    setattr(store, name, counted)
    return calls


async def test_worker_does_not_spin_while_an_account_is_rate_limited(make_env: MakeEnv) -> None:
    env = await make_env({"weibo": {"rate_per_minute": 1}}, poll_interval=0.2)
    ids = [await env.submit(["weibo"]) for _ in range(3)]
    await env.settled(ids[0])
    claims = count_calls(env.store, "claim")
    dues = count_calls(env.store, "next_due")
    await asyncio.sleep(0.6)
    assert len(env.adapter("weibo").calls) == 1  # the rate limit holds
    assert claims[0] <= 8 and dues[0] <= 8, (claims, dues)


async def test_worker_does_not_spin_while_an_account_is_full(make_env: MakeEnv) -> None:
    env = await make_env({"oa": {"max_concurrency": 1}}, poll_interval=0.2)
    env.adapter("oa").script = [Slow(5.0)]
    await env.submit(["oa"])
    await eventually(lambda: _true(len(env.adapter("oa").calls) == 1))
    await env.submit(["oa"])
    claims = count_calls(env.store, "claim")
    dues = count_calls(env.store, "next_due")
    await asyncio.sleep(0.6)
    assert claims[0] + dues[0] <= 12, (claims, dues)


async def test_a_lookup_that_says_ask_later_is_asked_again_when_it_said(
    make_env: MakeEnv,
) -> None:
    env = await make_env({"oa": {"idempotency": Idempotency.LOOKUP, "max_attempts": 3}})
    adapter = env.adapter("oa")
    adapter.script = [Lost()]
    # The channel cannot tell yet (WeChat: the article may still be publishing): 0.3 s.
    adapter.lookup_script = [RateLimited("still publishing", retry_after=0.3), None]
    notice = await env.settled(await env.submit(["oa"]))
    d = notice.deliveries[0]
    assert d.status == Status.POSTED and adapter.posts == 1 and len(adapter.lookups) == 2
    waited = [e for e in notice.events if e.action == "unknown_outcome"]
    asked_again = [e for e in notice.events if e.action == "reconcile"]
    # 0.3 s from when the channel answered; the "waited" event is stamped a moment later,
    # when its group commit runs, hence the few milliseconds of slack.
    assert (asked_again[-1].at - waited[-1].at).total_seconds() >= 0.3 - 0.02
