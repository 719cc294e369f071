"""The channel contract: what an adapter declares, what it is handed, what it must do.

An adapter is a class registered under the entry-point group ``publisher.channels``. It
declares its capabilities as frozen data; the core enforces them (limits at submit, rate
limits, concurrency and retries in the worker) so adapters never police themselves. Every
side effect is handed in through :class:`AccountContext`: the adapter never builds an HTTP
client, reads the clock or the environment, or sleeps.
"""

from __future__ import annotations

import abc
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Protocol, TypeVar, cast
from urllib.parse import urlsplit

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict

from publisher import links


class Format(enum.StrEnum):
    TEXT = "text"
    HTML = "html"
    MARKDOWN = "markdown"


class Idempotency(enum.StrEnum):
    """How a channel lets us avoid posting twice after an unknown outcome."""

    REMOTE_KEY = "remote_key"  # the channel honours our key: re-posting with it is safe
    LOOKUP = "lookup"  # we can ask the channel whether the post exists
    NONE = "none"  # neither: an unknown outcome goes to a human (needs_review)


class PublishMode(enum.StrEnum):
    IMMEDIATE = "immediate"  # publish() returns the final post
    TWO_PHASE = "two_phase"  # publish() starts a job; confirm() finishes it later


class Overflow(enum.StrEnum):
    """What the core does when a part is longer than the channel allows."""

    REJECT = "reject"  # refuse the notice at submit, naming the channel and the rule
    TRUNCATE = "truncate"  # cut to the limit and end with an ellipsis
    USE_SUMMARY = "use_summary"  # render again with ``use_summary`` set; reject if still too long


def count_chars(text: str) -> float:
    """Unicode code points: what most Chinese platforms call 字."""
    return float(len(text))


def count_utf8_bytes(text: str) -> float:
    return float(len(text.encode("utf-8")))


@dataclass(frozen=True)
class Limit:
    """A maximum for one rendered part, measured the channel's own way."""

    part: str  # "title", "body", "summary" or an adapter-specific part name
    max: float
    measure: Callable[[str], float] = count_chars
    unit: str = "字"
    overflow: Overflow = Overflow.REJECT


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` posts per ``per_seconds`` for one channel account, across all workers."""

    count: int
    per_seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.per_seconds


@dataclass(frozen=True)
class Capabilities:
    """What a channel account can do. Frozen: the core reads it, nobody changes it."""

    formats: tuple[Format, ...]
    parts: tuple[str, ...] = ("title", "body")
    limits: tuple[Limit, ...] = ()
    rate_limit: RateLimit | None = None
    max_concurrency: int = 4
    max_attempts: int = 8
    idempotency: Idempotency = Idempotency.NONE
    publish_mode: PublishMode = PublishMode.IMMEDIATE
    metrics: tuple[str, ...] = ()  # e.g. ("reads", "likes", "shares", "comments")
    metrics_lag_seconds: float = 0.0  # how long after posting numbers appear (WeChat: T+1)
    # The full copy other channels link to (the portal) / posts that link to that copy
    # (Weibo's mandatory safe-domain link, OA cards): a notice for the latter always gets
    # the former too, so no link ever points at a page that does not exist.
    hosts_copies: bool = False
    links_to_copy: bool = False


@dataclass(frozen=True)
class Rendered:
    """The text of one notice as one channel account will receive it."""

    format: Format
    parts: Mapping[str, str]

    @property
    def title(self) -> str:
        return self.parts.get("title", "")

    @property
    def body(self) -> str:
        return self.parts.get("body", "")


@dataclass(frozen=True)
class NoticeView:
    """The notice as adapters see it (read-only)."""

    id: int
    kind: str
    title: str
    body: str
    summary: str | None
    table: Mapping[str, Any] | None
    fields: Mapping[str, Any]
    urgent: bool
    publish_at: datetime | None
    created_at: datetime
    # A follow-up of an earlier notice (issue 11, lifecycle): ``{"relation": "updates" |
    # "lifts" | "withdraws", "notice_id": int, "title": str, "reason": str | None, ...}``;
    # None for an ordinary notice. Templates see the same mapping as ``notice.follows``.
    follows: Mapping[str, Any] | None = None
    # A drill (CAP status Exercise/Test, or ``"drill": true``): labelled 【演练】 and posted
    # only to accounts marked ``sandbox`` or ``drill``.
    drill: bool = False


@dataclass(frozen=True)
class OutgoingPost:
    """One delivery handed to an adapter: what to post, under which key."""

    delivery_id: int
    account: str
    idempotency_key: str
    notice: NoticeView
    rendered: Rendered
    attempt: int
    # A withdrawal (``notice.follows["relation"] == "withdraws"``): this account's post of
    # the original notice, which the adapter may delete or recall instead of posting a
    # correction. None when the original never reached this account.
    recall: PostRef | None = None


@dataclass(frozen=True)
class PostRef:
    """A post already on a channel, for confirm() and fetch_metrics()."""

    delivery_id: int
    remote_id: str | None
    url: str | None
    idempotency_key: str
    posted_at: datetime | None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishResult:
    """What publish/confirm/lookup found. ``confirming`` means: call confirm() later."""

    remote_id: str | None
    url: str | None = None
    confirming: bool = False
    confirm_after: float = 5.0
    detail: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None  # said plainly to the sender (e.g. "today's mass send was used")


@dataclass(frozen=True)
class DirectMessage:
    """A message to named people inside the bureau, not a publication: the next reviewer,
    the department that owes a disclosure, a reader who has not acknowledged a warning.

    ``recipients`` are the OA platform's own user ids; ``key`` makes a resend harmless where
    the platform honours one."""

    recipients: tuple[str, ...]
    title: str
    text: str
    url: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class MetricSample:
    """One reading of one metric of one post, as of ``observed_at``."""

    delivery_id: int
    metric: str
    value: int
    observed_at: datetime
    source: str


class Clock(Protocol):
    def now(self) -> datetime: ...


class TokenStore(Protocol):
    """Credentials shared by every worker (stored in the database)."""

    async def get(self, account: str, name: str) -> tuple[str, datetime | None] | None: ...

    async def put(
        self, account: str, name: str, value: str, expires_at: datetime | None
    ) -> None: ...


async def _no_confirm(remote_id: str) -> bool:
    return False


@dataclass(frozen=True)
class AccountContext:
    """Everything an adapter may touch, handed in by the core."""

    account: str
    options: BaseModel
    http: httpx.AsyncClient
    clock: Clock
    tokens: TokenStore
    log: logging.Logger
    base_url: str  # where this publisher's own web server is reachable (portal links)
    # Two-phase channels: a callback (e.g. WeChat PUBLISHJOBFINISH) says a job finished;
    # the core then confirms the delivery with this remote_id now instead of at its next poll.
    # Returns False if no delivery of this account waits under that remote_id.
    confirm_now: Callable[[str], Awaitable[bool]] = _no_confirm
    # Accounts whose posts link to the portal copy link through a tracked ``/r/<code>``.
    link_codes: links.LinkCodes | None = None

    def notice_url(self, notice_id: int, key: str | None = None) -> str:
        """Where this account's posts link for the notice's public page: the page itself
        (``links.notice_url``), or its tracked link when the account counts clicks."""
        if self.link_codes is not None:
            code = self.link_codes.code(notice_id, self.account)
            return links.tracked_url(self.base_url, code, key)
        return links.notice_url(self.base_url, notice_id, key)


def _http_url(value: str) -> str:
    # The value is not echoed: a receiver's URL may carry a token in its query.
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("应为带主机名的 http:// 或 https:// 网址")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""An http(s) URL with a host, kept as the string it was written as (``{key}`` may follow)."""


class AccountOptions(BaseModel):
    """Base of every adapter's account options (validated from config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    display_name: str = ""
    sandbox: bool = False
    drill: bool = False  # takes drills (演练) though it is a real account
    # issue 11, lifecycle: post a lift (解除) follow-up when a warning it posted expires
    lift_at_expiry: bool = False


OptionsT = TypeVar("OptionsT", bound=AccountOptions)


class ChannelAdapter(abc.ABC, Generic[OptionsT]):
    """One channel type. One instance per configured channel account.

    Subclasses name their options model twice, once for the type checker and once for the
    registry (``class WeiboAdapter(ChannelAdapter[WeiboOptions])`` with
    ``Options = WeiboOptions``), set ``type_name`` and implement ``capabilities`` and
    ``publish``. Errors are always raised as :mod:`publisher.errors` ``ChannelError``
    subclasses; any other exception is treated by the worker as :class:`OutcomeUnknown`.
    """

    type_name: ClassVar[str]
    Options: ClassVar[type[AccountOptions]]

    def __init__(self, ctx: AccountContext) -> None:
        self.ctx = ctx

    @property
    def options(self) -> OptionsT:
        """This account's options, validated from config as ``Options``."""
        options = self.ctx.options
        assert isinstance(options, self.Options)
        return cast(OptionsT, options)

    @classmethod
    def sandbox(cls) -> Any:
        """A FastAPI ``APIRouter`` that imitates this channel's API, or None.

        Mounted under ``/_sandbox/<type_name>`` by ``publisher serve`` (sandbox accounts) and
        ``publisher sandbox``. It speaks the channel's documented paths, fields and error codes.
        """
        return None

    def routes(self) -> Any:
        """A FastAPI ``APIRouter`` of web routes this account needs (callbacks, pages), or None.

        Mounted at the root of the web server; paths should include the account name.
        """
        return None

    @property
    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """The declared capabilities of this account (may depend on its options)."""

    @abc.abstractmethod
    async def publish(self, post: OutgoingPost) -> PublishResult:
        """Post once. Must send ``post.idempotency_key`` where the channel accepts a key.

        Returns the remote id and url, or ``confirming=True`` for a two-phase channel.
        Raises a ``ChannelError`` subclass on failure.
        """

    async def confirm(self, ref: PostRef) -> PublishResult:
        """Two-phase channels: is the job started by publish() finished?

        Return ``confirming=True`` again to be asked later; raise ``PermanentError`` if the
        job failed. Immediate channels never receive this call.
        """
        raise NotImplementedError(f"{self.type_name} is not a two-phase channel")

    async def lookup(self, post: OutgoingPost) -> PublishResult | None:
        """Channels declaring ``Idempotency.LOOKUP``: find an earlier post of this delivery.

        Returns the post if the channel has it, ``None`` if it certainly does not.
        Raises ``TransientError`` if it cannot tell now.
        """
        raise NotImplementedError(f"{self.type_name} cannot look posts up")

    async def notify(self, message: DirectMessage) -> PublishResult:
        """OA channels: send ``message`` to the named people only. Others raise
        ``NotImplementedError`` (``publisher.notify`` then tries the next account)."""
        raise NotImplementedError(f"{self.type_name} cannot message people")

    async def fetch_metrics(self, refs: Sequence[PostRef]) -> list[MetricSample]:
        """Read the declared metrics for a batch of posts. Default: none."""
        return []

    async def refresh_credentials(self) -> None:
        """Called once after ``AuthExpired``: fetch a fresh token (shared through ``tokens``)."""
        return None

    async def check(self) -> None:
        """Verify credentials and reachability; raise a ChannelError naming the problem."""
        return None
