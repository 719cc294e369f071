"""Plain records the store hands out. Nothing here talks to the database."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from publisher.contract import Format, NoticeView, OutgoingPost, PostRef, RateLimit, Rendered

if TYPE_CHECKING:
    from publisher.store.base import Admission


class Job(enum.StrEnum):
    """Why a worker claimed a delivery."""

    PUBLISH = "publish"  # pending / retry_wait / lease expired before sending
    RECONCILE = "reconcile"  # found in ``sending``: the previous attempt may have arrived
    CONFIRM = "confirm"  # two-phase channel: ask whether the job finished


@dataclass(frozen=True)
class AccountLimits:
    """What the core enforces for one channel account at claim time."""

    max_concurrency: int
    rate: RateLimit | None = None  # at most rate.count sends in any rate.per_seconds window
    claim_as_sending: bool = False  # outcome can be reconciled exactly: claim marks sending


@dataclass(frozen=True)
class NewDelivery:
    account: str
    channel: str
    priority: int
    not_before: datetime
    max_attempts: int
    idempotency_key: str
    rendered: Mapping[str, Any]


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    notice_id: int
    account: str
    channel: str
    status: str
    priority: int
    not_before: datetime
    attempts: int
    max_attempts: int
    idempotency_key: str
    remote_id: str | None
    url: str | None
    error: str | None
    note: str | None
    detail: Mapping[str, Any] | None
    rendered: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    posted_at: datetime | None
    lease_until: datetime | None = None
    worker_id: str | None = None
    lookups: int = 0  # failed lookups while reconciling an unknown outcome

    def as_ref(self) -> PostRef:
        """The reference a channel needs to ask about this post later."""
        return PostRef(
            delivery_id=self.id,
            remote_id=self.remote_id,
            url=self.url,
            idempotency_key=self.idempotency_key,
            posted_at=self.posted_at,
            detail=dict(self.detail or {}),
        )


@dataclass(frozen=True)
class EventRecord:
    id: int
    notice_id: int
    delivery_id: int | None
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    actor: str


@dataclass(frozen=True)
class NoticeRecord:
    id: int
    kind: str
    title: str
    body: str
    summary: str | None
    table: Mapping[str, Any] | None
    fields: Mapping[str, Any]
    urgent: bool
    publish_at: datetime | None
    idempotency_key: str | None
    fingerprint: str
    source: str
    created_by: str
    created_at: datetime
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    # Lifecycle (issue 11): the notice this one follows, how, and the mapping its templates
    # and adapters see (``NoticeView.follows``); None for an ordinary notice.
    follows_id: int | None = None
    relation: str | None = None
    follows: Mapping[str, Any] | None = None
    drill: bool = False  # drills (issue 11 C)

    def view(self) -> NoticeView:
        """The notice as adapters see it."""
        return NoticeView(
            id=self.id,
            kind=self.kind,
            title=self.title,
            body=self.body,
            summary=self.summary,
            table=self.table,
            fields=self.fields,
            urgent=self.urgent,
            publish_at=self.publish_at,
            created_at=self.created_at,
            follows=self.follows,
            drill=self.drill,
        )


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker now holds under lease, with what it needs to act."""

    job: Job
    delivery: DeliveryRecord
    notice: NoticeView
    marked: bool = False  # the claim already committed ``sending`` and counted the attempt
    recall: PostRef | None = None  # a withdrawal: this account's post of the original

    def outgoing(self) -> OutgoingPost:
        """What the adapter is asked to publish for this claim."""
        rendered = self.delivery.rendered
        return OutgoingPost(
            delivery_id=self.delivery.id,
            account=self.delivery.account,
            idempotency_key=self.delivery.idempotency_key,
            notice=self.notice,
            rendered=Rendered(format=Format(rendered["format"]), parts=rendered["parts"]),
            attempt=self.delivery.attempts + (0 if self.marked else 1),
            recall=self.recall,
        )


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended, as the worker reports it to the store."""

    to_status: str
    action: str
    reason: str | None = None
    remote_id: str | None = None
    url: str | None = None
    detail: Mapping[str, Any] | None = None
    note: str | None = None
    not_before: datetime | None = None
    error: str | None = None
    failure: bool = False  # counts towards the account's circuit breaker
    success: bool = False  # closes the account's circuit breaker
    refund_attempt: bool = False  # rate limited: the attempt does not count
    lookup_failed: bool = False  # reconciling: the channel could not be asked; count it


@dataclass(frozen=True)
class ClaimRequest:
    """A worker asks for deliveries: at :meth:`claim`, or at submit (the fast path)."""

    worker_id: str
    limits: Mapping[str, AccountLimits]
    lease_seconds: float
    admission: Admission  # decides, account by account, how much may be claimed


@dataclass(frozen=True)
class Submission:
    notice_id: int
    created: bool
    claimed: list[Claimed] = field(default_factory=list)


class Breaker(enum.StrEnum):
    """An account's circuit breaker."""

    CLOSED = "closed"  # sending normally
    OPEN = "open"  # failing: nothing is sent until ``open_until``
    HALF_OPEN = "half_open"  # cooled down: one probe is in flight; its outcome decides


@dataclass(frozen=True)
class AccountState:
    """An account's shared sending state (one ``channel_state`` row), as admission sees it."""

    account: str
    breaker: str = Breaker.CLOSED
    open_until: datetime | None = None
    failures: int = 0  # consecutive failures since the last success
    recent: tuple[float, ...] = ()  # start times (epoch seconds) of recent publishes
    last_error: str | None = None


@dataclass(frozen=True)
class Admit:
    """How much of an account's due work one claim may take, and what to do otherwise."""

    room: int  # deliveries this claim may take for the account (0: none)
    wait: float | None = None  # held back: seconds until asking again is worth it
    window: tuple[float, ...] = ()  # the rate window's publishes still inside it, oldest first


def new_key() -> str:
    """A fresh idempotency key (for a delivery, or a notice submitted without one)."""
    return uuid.uuid4().hex
