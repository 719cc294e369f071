"""Test helpers shared by the unit and contract tests: notices, deliveries, a fake channel.

``FakeAdapter`` is a channel that behaves the way a test scripts it (succeed, fail with any
error of the tree, lose the reply after the post arrived, be slow) and remembers what it
holds, so a test can tell "posted once" from "posted twice". ``StaticChannels`` hands a
Worker or an Intake a fixed set of accounts without entry points or settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from publisher.contract import (
    AccountContext,
    AccountOptions,
    Capabilities,
    ChannelAdapter,
    Clock,
    Format,
    Idempotency,
    OutgoingPost,
    PostRef,
    PublishMode,
    PublishResult,
    RateLimit,
)
from publisher.errors import OutcomeUnknown
from publisher.queue.intake import Intake
from publisher.registry import Account, Channels
from publisher.render import Renderer
from publisher.settings import Settings
from publisher.store import SqlStore, open_store, upgrade
from publisher.store.records import NewDelivery
from publisher.store.sql import new_key

# -- notices and deliveries straight into the store ---------------------------------------


def notice_row(title: str = "关于开展安全生产大检查的通知", **extra: Any) -> dict[str, Any]:
    """A notice as ``SqlStore.submit`` stores it (what Intake builds from a NoticeInput)."""
    row: dict[str, Any] = {
        "kind": "general",
        "title": title,
        "body": "各有关单位：请于本月底前完成自查。",
        "summary": None,
        "table_data": None,
        "fields": {},
        "urgent": False,
        "publish_at": None,
        "idempotency_key": None,
        "fingerprint": f"fp-{title}",
    }
    row.update(extra)
    return row


def delivery(
    account: str,
    now: datetime,
    *,
    priority: int = 0,
    delay: float = 0.0,
    max_attempts: int = 3,
    key: str | None = None,
) -> NewDelivery:
    return NewDelivery(
        account=account,
        channel="fake",
        priority=priority,
        not_before=now + timedelta(seconds=delay),
        max_attempts=max_attempts,
        idempotency_key=key or new_key(),
        rendered={"format": "text", "parts": {"title": "标题", "body": "正文"}},
    )


async def submit(
    store: SqlStore,
    accounts: Iterable[str],
    *,
    priority: int = 0,
    delay: float = 0.0,
    max_attempts: int = 3,
    title: str | None = None,
) -> int:
    """Store one notice with one delivery per account; returns the notice id."""
    now = store.clock.now()
    notice_id, created = await submitted(
        store.submit(
            notice=notice_row(title or f"通知 {new_key()[:8]}"),
            new_deliveries=[
                delivery(a, now, priority=priority, delay=delay, max_attempts=max_attempts)
                for a in accounts
            ],
            source="test",
            actor="tester",
        )
    )
    assert created
    return notice_id


async def submitted(call: Awaitable[Any]) -> tuple[int, bool]:
    """``(notice_id, created)`` from ``SqlStore.submit`` (a Submission record)."""
    result = await call
    return int(result.notice_id), bool(result.created)


# -- a scriptable channel -----------------------------------------------------------------


class FakeOptions(AccountOptions):
    type: str = "fake"
    idempotency: Idempotency = Idempotency.REMOTE_KEY
    max_concurrency: int = 4
    max_attempts: int = 3
    rate_per_minute: int | None = None
    format: Format = Format.TEXT
    two_phase: bool = False  # publish() starts a job; confirm() finishes it
    confirm_after: float = 0.05


@dataclass(frozen=True)
class Lost:
    """Script step: the post arrives at the channel, but the reply never comes back."""


@dataclass(frozen=True)
class Slow:
    """Script step: answer (successfully) only after ``seconds``."""

    seconds: float


Step = BaseException | Lost | Slow | PublishResult | None


class FakeAdapter(ChannelAdapter):
    """A channel that does what ``script`` says, one step per publish() call.

    It holds posts by idempotency key. With ``REMOTE_KEY`` a second publish under a key it
    already holds answers with the first post (as a channel honouring keys does); otherwise
    a second publish makes a second post, which tests count as a double post.
    """

    type_name = "fake"
    Options = FakeOptions

    def __init__(self, ctx: AccountContext) -> None:
        super().__init__(ctx)
        self.script: list[Step] = []
        self.calls: list[OutgoingPost] = []
        self.held: dict[str, list[PublishResult]] = {}
        self.lookups: list[str] = []
        self.looked_at: list[float] = []
        self.lookup_script: list[BaseException | None] = []
        self.confirm_script: list[BaseException | bool] = []  # True: finished, False: not yet
        self.confirms: list[str | None] = []
        self.refreshes = 0
        self.sent_at: list[float] = []
        self.in_flight = 0
        self.peak = 0  # most publish() calls running at once
        self.released = asyncio.Event()  # set to end every Slow step at once (teardown)

    @property
    def options(self) -> FakeOptions:
        assert isinstance(self.ctx.options, FakeOptions)
        return self.ctx.options

    @property
    def capabilities(self) -> Capabilities:
        o = self.options
        return Capabilities(
            formats=(o.format,),
            max_concurrency=o.max_concurrency,
            max_attempts=o.max_attempts,
            idempotency=o.idempotency,
            rate_limit=RateLimit(o.rate_per_minute, 60.0) if o.rate_per_minute else None,
            publish_mode=PublishMode.TWO_PHASE if o.two_phase else PublishMode.IMMEDIATE,
        )

    @property
    def posts(self) -> int:
        """How many posts the channel holds (a double post counts twice)."""
        return sum(len(v) for v in self.held.values())

    def _post(self, post: OutgoingPost) -> PublishResult:
        existing = self.held.get(post.idempotency_key)
        if existing and self.options.idempotency is Idempotency.REMOTE_KEY:
            return existing[0]
        number = self.posts + 1
        result = PublishResult(
            remote_id=f"{self.ctx.account}-{number}",
            url=f"https://channel.example/{self.ctx.account}/{number}",
        )
        self.held.setdefault(post.idempotency_key, []).append(result)
        return result

    async def publish(self, post: OutgoingPost) -> PublishResult:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await self._publish(post)
        finally:
            self.in_flight -= 1

    async def _publish(self, post: OutgoingPost) -> PublishResult:
        self.calls.append(post)
        self.sent_at.append(asyncio.get_running_loop().time())
        step = self.script.pop(0) if self.script else None
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, Slow):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), step.seconds)
        result = self._post(post)
        if isinstance(step, Lost):
            raise OutcomeUnknown("read timeout: no reply from the channel")
        if isinstance(step, PublishResult):
            return step
        if self.options.two_phase:
            return PublishResult(
                remote_id=result.remote_id,
                confirming=True,
                confirm_after=self.options.confirm_after,
            )
        return result

    async def confirm(self, ref: PostRef) -> PublishResult:
        self.confirms.append(ref.remote_id)
        step = self.confirm_script.pop(0) if self.confirm_script else True
        if isinstance(step, BaseException):
            raise step
        if not step:
            return PublishResult(
                remote_id=ref.remote_id, confirming=True, confirm_after=self.options.confirm_after
            )
        return PublishResult(
            remote_id=ref.remote_id, url=f"https://channel.example/{ref.remote_id}"
        )

    async def lookup(self, post: OutgoingPost) -> PublishResult | None:
        self.lookups.append(post.idempotency_key)
        self.looked_at.append(asyncio.get_running_loop().time())
        step = self.lookup_script.pop(0) if self.lookup_script else None
        if step is not None:
            raise step
        found = self.held.get(post.idempotency_key)
        return found[0] if found else None

    async def refresh_credentials(self) -> None:
        self.refreshes += 1


class FakeTokens:
    """An in-memory TokenStore."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[str, datetime | None]] = {}

    async def get(self, account: str, name: str) -> tuple[str, datetime | None] | None:
        return self.values.get((account, name))

    async def put(self, account: str, name: str, value: str, expires_at: datetime | None) -> None:
        self.values[(account, name)] = (value, expires_at)


def context(
    name: str,
    options: AccountOptions,
    clock: Clock,
    http: httpx.AsyncClient | None = None,
    tokens: Any = None,
    base_url: str = "http://127.0.0.1:9",
    confirm_now: Callable[[str], Awaitable[bool]] | None = None,
) -> AccountContext:
    extra: dict[str, Any] = {} if confirm_now is None else {"confirm_now": confirm_now}
    return AccountContext(
        account=name,
        options=options,
        http=http or httpx.AsyncClient(trust_env=False),
        clock=clock,
        tokens=tokens if tokens is not None else FakeTokens(),
        log=logging.getLogger(f"tests.{name}"),
        base_url=base_url,
        **extra,
    )


def fake_account(name: str, clock: Clock, **options: Any) -> Account:
    return Account(name=name, adapter=FakeAdapter(context(name, FakeOptions(**options), clock)))


class StaticChannels(Channels):
    """Channels over accounts built by the test (no settings, no entry points)."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self._accounts = {a.name: a for a in accounts}
        self._clients = []

    async def aclose(self) -> None:
        for account in self:
            await account.adapter.ctx.http.aclose()


def fake(channels: Channels, name: str) -> FakeAdapter:
    adapter = channels.get(name).adapter
    assert isinstance(adapter, FakeAdapter)
    return adapter


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 5.0, interval: float = 0.02
) -> None:
    """Wait until ``check()`` is true, or fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


def statuses(records: Iterable[Any]) -> list[str]:
    return [r.status for r in records]


def by_id(records: Iterable[Any]) -> Mapping[int, Any]:
    return {r.id: r for r in records}


@contextlib.asynccontextmanager
async def open_intake(
    settings: Settings, clock: Clock, tokens: Any = None
) -> AsyncIterator[Intake]:
    """An Intake over a migrated store and the settings' accounts, with test-chosen tokens."""
    store = open_store(settings.database_url, clock)
    await upgrade(store)
    channels = Channels(settings, clock, tokens=tokens)
    try:
        yield Intake(
            settings,
            store,
            channels,
            Renderer(settings.templates_dir, settings.zone, settings.organization),
            clock,
        )
    finally:
        await channels.aclose()
        await store.close()


PORTAL_ONLY = {"portal": {"type": "portal", "display_name": "门户网站", "sandbox": True}}


@contextlib.asynccontextmanager
async def app_client(
    database: Any, accounts: Mapping[str, Any] = PORTAL_ONLY
) -> AsyncIterator[httpx.AsyncClient]:
    """The application in this process (lifespan run), without a worker: nothing is sent.
    ``database`` is a folder for an SQLite file."""
    from publisher.settings import load_settings
    from publisher.web.app import create_app

    settings = load_settings(
        database_url=f"sqlite:///{database / 'publisher.db'}",
        accounts=dict(accounts),
        metrics_interval=0,
    )
    app = create_app(settings, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
