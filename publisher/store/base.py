"""What the store promises: the interface every caller types against.

The store keeps notices, their deliveries (one per channel account), the event log, each
account's shared sending state, credentials, the worker registry, metric samples, scheduled
job runs, portal page views, users and the audit log. :class:`publisher.store.sql.SqlStore`
implements it over SQLite and PostgreSQL; ``tests/contract/test_store.py`` (and
``test_users_store.py`` for people and the audit log) checks this text over both.

Terms used below:

* **One transaction**: the method's writes are committed together or not at all, and every
  state change of a delivery appends its event row in that same transaction.
* **Lease**: a delivery a worker took is its own until ``lease_until``. Only the holder may
  record progress on it (:meth:`QueueStore.mark_sending`, :meth:`QueueStore.finish`); once the
  lease expires another worker may claim it, and the late holder's writes are refused.
* **Claim**: taking due deliveries under a lease, each by exactly one worker, honouring every
  account's concurrency, rate window and circuit breaker across all workers (the rules are the
  caller's :class:`Admission`; the store applies them under row locks).
* **Idempotent**: calling again with the same arguments changes nothing more and answers the
  same.

Errors: every method may raise :class:`publisher.errors.DatabaseUnavailable` when the database
cannot be reached. Other errors are listed per method.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from publisher.contract import Clock, MetricSample, PostRef
from publisher.store.breakers import BreakerReads  # console: breaker state per account
from publisher.store.collection import CollectionStore  # reach (issue 14)
from publisher.store.lifecycle import LifecycleStore  # issue 11: follow-ups
from publisher.store.monitor import ConsoleReads
from publisher.store.obligations import ObligationStore  # obligations (issue 13)
from publisher.store.people import AuditEntry, AuditRecord, UserRecord
from publisher.store.portal import PortalReads
from publisher.store.records import (
    AccountLimits,
    AccountState,
    Admit,
    Claimed,
    ClaimRequest,
    DeliveryRecord,
    NewDelivery,
    NoticeRecord,
    Outcome,
    Submission,
)
from publisher.store.reviews import ReviewStore  # review chain
from publisher.store.schedules import ScheduleStore


class Admission(Protocol):
    """The admission rules a claim applies, account by account (``publisher.queue.admission``).

    Called inside the store's transaction with the account's state row locked, so the answers
    hold across workers. Must be pure: no I/O, no clock of its own.
    """

    def admit(
        self, limits: AccountLimits, state: AccountState, busy: int, want: int, now: datetime
    ) -> Admit:
        """How many of ``want`` due deliveries may be taken now, ``busy`` being in flight."""

    def claimed(
        self,
        limits: AccountLimits,
        state: AccountState,
        admitted: Admit,
        publishes: int,
        now: datetime,
    ) -> AccountState | None:
        """The state to store after taking ``publishes`` new sends; None: unchanged."""

    def failed(
        self, state: AccountState, now: datetime, error: str | None
    ) -> tuple[AccountState, bool]:
        """The state after a failed attempt, and whether the breaker (re)opened."""


class NoticeStore(Protocol):
    """Notices in, and what became of them."""

    clock: Clock

    async def submit(
        self,
        *,
        notice: Mapping[str, Any],
        new_deliveries: Sequence[NewDelivery],
        source: str,
        actor: str,
        claim: ClaimRequest | None = None,
        duplicate_window: timedelta | None = None,
    ) -> Submission:
        """Store a notice, its deliveries (``pending``) and their events in one transaction.

        Idempotent by ``notice["idempotency_key"]``: the same key with the same
        ``fingerprint`` returns the first notice with ``created=False`` and writes nothing;
        also when two submits race. Without a key and with ``duplicate_window``, a notice
        whose kind, title and body equal one stored within the window (keyed or not) is
        refused with :class:`~publisher.errors.DuplicateNotice` naming the newest such
        notice, and nothing is written; also when two such submits race.

        With ``claim``, the caller's worker takes the due new deliveries in the same
        transaction, under the same rules as :meth:`QueueStore.claim` (the fast path); what
        the rules hold back stays pending for any worker.

        Raises :class:`~publisher.errors.IdempotencyConflict` when the key was used for a
        different content, DuplicateNotice (above), and ``ValueError`` for two deliveries
        to one account.
        """

    async def get_notice(self, notice_id: int) -> NoticeRecord:
        """The notice with its deliveries and events, in order. Raises NotFoundError."""

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord:
        """One delivery. Raises NotFoundError."""

    async def list_deliveries(
        self, *, status: str | None = None, notice_id: int | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        """Deliveries, newest first, optionally of one status and/or one notice."""

    async def count_by_status(self) -> dict[str, int]:
        """How many deliveries are in each status (statuses with none are absent)."""

    async def next_due(self, after: datetime | None = None) -> datetime | None:
        """When the earliest waiting delivery (scheduled, retrying, reconciling, confirming)
        falls due; with ``after``, the earliest such time later than ``after``."""


class QueueStore(Protocol):
    """Claims, leases and outcomes: the worker's side, and people's retry and cancel."""

    async def claim(
        self, request: ClaimRequest, capacity: int
    ) -> tuple[list[Claimed], float | None]:
        """Lease up to ``capacity`` due deliveries of ``request.limits``' accounts, urgent
        first, in one transaction.

        Due: pending or retrying work whose time has come, leases that expired before
        sending, and ``sending``/``confirming`` work due to be reconciled or confirmed
        (returned as :attr:`~publisher.store.records.Job.RECONCILE` / ``CONFIRM``). Each
        delivery goes to exactly one claimer. Returns the claimed work and, when an account
        held work back, the seconds until asking again may be worth it.
        """

    async def mark_sending(self, delivery: DeliveryRecord, worker_id: str) -> bool:
        """Commit ``sending`` and count the attempt, before the network call.

        False when the lease was lost: the caller must not send. Concurrent calls may share
        one commit; each returns only once its own row is durable.
        """

    async def finish(
        self, delivery: DeliveryRecord, worker_id: str, outcome: Outcome, admission: Admission
    ) -> bool:
        """Commit how an attempt ended, and its event, in one transaction.

        A failure counts towards the account's breaker (``admission.failed``; a trip writes
        a ``breaker_open`` event); a success closes it. False when the lease was lost (nothing
        written). Concurrent calls may share one commit.
        """

    async def confirm_now(self, account: str, remote_id: str) -> bool:
        """A channel said a two-phase job finished: make its ``confirming`` delivery due now.
        False when no such delivery waits. Idempotent."""

    async def renew_leases(self, worker_id: str, lease_seconds: float) -> None:
        """Extend every lease this worker holds, and its heartbeat. Idempotent."""

    async def expire_all_leases(self, reason: str) -> int:
        """Release every lease (one process owns the queue and it just started: they are a
        dead process's); returns how many, logged as one ``recovered`` event."""

    async def retry(
        self, delivery_id: int, actor: str, *, reconcile: bool = False, force: bool = False
    ) -> DeliveryRecord:
        """A person asks to send a failed, needs-review or cancelled delivery again.

        Back to ``pending``, attempts and lookups reset, due when its notice's ``publish_at``
        comes (now if that has passed): a retry never publishes ahead of the schedule.

        A ``needs_review`` delivery may already be on the channel. With ``reconcile`` (the
        caller knows the account can be asked: lookup or its own idempotency key) it goes to
        ``sending`` with no lease instead, due as above, so a worker reconciles it (asks the
        channel, and sends only if the post is not there). Otherwise only with ``force``
        (a person checked and wants it sent again); without either, StateError saying the
        channel may already have the post, and nothing changes.

        Raises NotFoundError, or StateError from any other state (or when it changed
        meanwhile)."""

    async def cancel(self, delivery_id: int, actor: str) -> DeliveryRecord:
        """A person cancels a delivery not yet sent (or failed / needing review). Raises
        NotFoundError, or StateError from any other state."""

    async def take_queue(self) -> int:
        """Before a worker starts in this process. Where one process owns the queue (SQLite)
        take that ownership (ConfigError if another process has it) and release the leases
        a previous process left (returned count); elsewhere 0."""

    async def listen(self, on_notify: Callable[[], None]) -> None:
        """Until cancelled, call ``on_notify`` whenever another process announces new work
        (PostgreSQL LISTEN, reconnecting as needed). Returns at once where no other process
        can add work behind this one's back (SQLite)."""


class AccountStore(Protocol):
    """Workers alive, and credentials channels keep (tokens, salts)."""

    async def register_worker(self, worker_id: str, host: str, pid: int) -> None:
        """Record a worker as alive from now (its heartbeat is :meth:`QueueStore.renew_leases`)."""

    async def unregister_worker(self, worker_id: str) -> None:
        """Forget a worker that stopped. Idempotent."""

    async def live_workers(self, within_seconds: float) -> int:
        """How many workers had a heartbeat within the last ``within_seconds``."""

    async def get_credential(self, account: str, name: str) -> tuple[str, datetime | None] | None:
        """A stored credential and its expiry, or None."""

    async def put_credential(
        self, account: str, name: str, value: str, expires_at: datetime | None
    ) -> None:
        """Store (or replace) a credential. Idempotent."""


REACH_GROUPINGS = ("notice", "channel", "kind", "department", "month")  # reports: department
# The metrics the reach report shows, in its order (阅读, 浏览, 点击, 点赞, 转发, 评论, 分享); the
# store keeps each post's latest figure of each (``post_reach``).
REACH_METRICS = ("reads", "views", "clicks", "likes", "reposts", "comments", "shares")


# Reach by notice, lean (issue 14: a year is 400,000 rows), flat: (notice id, its text,
# account, channel, posts, title, kind, then per REACH_METRICS in order the summed latest
# values, then the oldest of their as-of times; None where no post has a figure; times UTC,
# naive ISO text on SQLite, aware datetimes on PostgreSQL). The layout of
# publisher.reach.report.Row.
NoticeReachRow = tuple[Any, ...]


@dataclass(frozen=True)
class ReachGroup:
    """One row of the reach report: the posts of one group on one channel account.

    ``figures`` maps a metric to (the sum over the group's posts of each post's latest sample
    of it, the oldest ``observed_at`` among those samples). A metric no post has a sample of
    is absent: no figure, which is not 0.
    """

    key: str  # notice id, kind, department ("" none), "" (by channel) or "YYYY-MM" / bucket
    account: str
    channel: str
    posts: int
    figures: Mapping[str, tuple[int, datetime]] = field(default_factory=dict)
    title: str | None = None  # by notice
    kind: str | None = None  # by notice


class ReachStore(Protocol):
    """Metric samples (reach), tracked-link clicks and the once-only runs of scheduled jobs."""

    async def link_deliveries(self, notice_id: int) -> dict[str, int]:
        """The notice's deliveries by account (account -> delivery id); empty if unknown."""

    async def record_link_click(
        self, delivery_id: int, day: date, visitor_hash: str, now: datetime
    ) -> int | None:
        """Count one visitor's click on a delivery's tracked link for one local day, in one
        transaction with a ``clicks`` metric sample (source ``tracked_link``, as of ``now``)
        holding the delivery's new total. Returns that total, or None when this visitor was
        already counted that day (nothing written). Idempotent."""

    async def reach_notice_rows(
        self, posted_from: datetime, posted_before: datetime
    ) -> list[NoticeReachRow]:
        """Reach per notice and account of the posts in ``[posted_from, posted_before)``, as
        lean tuples (see :data:`NoticeReachRow`) ordered by notice id, then account (code
        point order): what ``reach_groups`` gives by notice, for a year's 400,000 rows."""

    async def reach_groups(
        self,
        posted_from: datetime,
        posted_before: datetime,
        by: str,
        months: Sequence[tuple[str, datetime]] = (),
    ) -> list[ReachGroup]:
        """The reach of the deliveries posted in ``[posted_from, posted_before)``, grouped by
        ``by`` (one of :data:`REACH_GROUPINGS`) and channel account, each post counted by its
        latest sample per metric (never a sum of its samples). By month, ``months`` names each
        month (or any time bucket, e.g. a day) that starts at the given instant (ascending, the
        first at ``posted_from``). By department: the submitter's ``users.department``.
        Raises ``ValueError`` for another ``by``."""

    async def posted_refs(
        self, account: str, posted_after: datetime, posted_before: datetime
    ) -> list[PostRef]:
        """The account's posted deliveries with ``posted_at`` in the closed range, oldest first."""

    async def add_metric_samples(self, samples: Sequence[MetricSample]) -> int:
        """Append samples in one transaction; returns how many."""

    async def latest_metrics(self, delivery_ids: Sequence[int]) -> dict[int, dict[str, object]]:
        """Per delivery, the newest value of each metric, with ``as_of`` (ISO time of the
        newest observation) and ``source``. Deliveries without samples are absent."""

    async def claim_job_run(self, job: str, fire_time: datetime, runner: str) -> bool:
        """True for exactly one caller per (job, fire time), across processes."""


class UserStore(Protocol):
    """People: users, the roles they hold, their personal API tokens.

    Users are never deleted, only disabled. Role codes are ``publisher.auth.roles.Role``
    values; names are checked by the caller (``publisher.auth.roles.check_user_name``). Only
    hashes are stored: argon2 for passwords, sha256 for tokens.
    """

    async def add_user(
        self,
        name: str,
        roles: Iterable[str],
        department: str | None = None,
        password_hash: str | None = None,
    ) -> UserRecord:
        """Create an enabled user holding ``roles`` (at least one), in one transaction.
        Raises InputError when the name is taken (also when two adds race) or no role given."""

    async def get_user(self, name: str) -> UserRecord:
        """One user, enabled or not. Raises NotFoundError."""

    async def list_users(self) -> list[UserRecord]:
        """Every user, disabled ones too, by name."""

    async def has_users(self) -> bool:
        """Whether any user exists (disabled ones count)."""

    async def disable_user(self, name: str) -> UserRecord:
        """The user may no longer act (its token and password are refused by the callers that
        check ``disabled``). Idempotent. Raises NotFoundError."""

    async def set_password(self, name: str, password_hash: str) -> UserRecord:
        """Replace the user's console password (argon2 hash). Raises NotFoundError, or
        StateError for a disabled user."""

    async def replace_token(self, name: str, token_hash: str) -> UserRecord:
        """Make ``token_hash`` the user's one personal API token; earlier ones stop matching,
        in the same transaction. Raises NotFoundError, or StateError for a disabled user."""

    async def user_by_token(self, token_hash: str) -> UserRecord | None:
        """The user whose current token has this hash, enabled or not; None otherwise."""


class AuditStore(Protocol):
    """The append-only audit log. There is no method to change or remove an entry; on
    PostgreSQL the database itself refuses UPDATE and DELETE on it."""

    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        """Append one entry stamped with the store's clock; returns it as stored."""

    async def audit_entries(
        self,
        *,
        notice_id: int | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """Entries matching every filter given (``since`` inclusive), oldest first: the newest
        ``limit`` of them."""


# --- reports (the annual open-government report): notices published in a period ---


@dataclass(frozen=True)
class PublishedNotice:
    """A notice first posted (on any account) within a period, as the annual report counts it."""

    notice_id: int
    kind: str
    title: str
    first_posted_at: datetime
    posts: int  # its posted deliveries (one per account)
    colour: str | None = None  # a warning's fields.color (蓝色 黄色 橙色 红色)
    table_rows: int | None = None  # rows of its table (a 行政许可 / 行政处罚 list: the decisions)


class AnnualStore(Protocol):
    """What the annual and half-yearly open-government report reads."""

    async def published_notices(
        self, posted_from: datetime, posted_before: datetime
    ) -> list[PublishedNotice]:
        """The notices whose first posted delivery went out in ``[posted_from, posted_before)``,
        oldest first. A notice never posted is not published and is absent."""


class Store(
    ReviewStore,  # review chain
    NoticeStore,
    QueueStore,
    AccountStore,
    ReachStore,
    PortalReads,
    UserStore,
    AuditStore,
    ConsoleReads,
    CollectionStore,  # reach: collection schedule state, OA readers
    ScheduleStore,  # recurring schedules
    LifecycleStore,  # issue 11: follow-ups
    ObligationStore,  # obligations (issue 13)
    AnnualStore,  # reports
    BreakerReads,  # console: breaker state per account
    Protocol,
):
    """Everything above, plus its lifecycle."""

    async def ping(self) -> None:
        """Return once a trivial query succeeds; raise DatabaseUnavailable otherwise."""

    async def close(self) -> None:
        """Release connections and the database thread(s). The store is unusable after."""
