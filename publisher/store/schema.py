"""The tables. SQLAlchemy Core: the queue's hot paths are plain SQL, not ORM sessions.

Times are stored in UTC (``UTCDateTime`` gives back aware datetimes on every backend).
Migrations in ``migrations/versions`` create exactly these tables; a test checks they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.types import TypeEngine

from publisher.store.base import REACH_METRICS


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite returns text for computed expressions
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata: MetaData = MetaData()
Id: TypeEngine[int] = BigInteger().with_variant(Integer, "sqlite")  # SQLite: INTEGER autoincrements
MAX_ROW_ID = 2**63 - 1  # ids are 64-bit: a larger number names no row (and overflows a query)
# Deliveries that may hold a portal page: the predicate of the portal's partial indexes.
PORTAL_PAGES = "channel = 'portal' AND posted_at IS NOT NULL"
# Posted deliveries: the predicate of the reach report's partial index.
POSTED_AT = "posted_at IS NOT NULL"
# Follow-ups only (issue 11): partial, so the planner's statistics see follow-ups, not the
# many ordinary notices where the column is empty.
FOLLOW_UPS = "follows_id IS NOT NULL"
WITHDRAWALS = "relation = 'withdraws'"

notices = Table(
    "notices",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("summary", Text),
    Column("table_data", JSON),
    Column("fields", JSON, nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("publish_at", UTCDateTime),
    Column("idempotency_key", String(200), unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("source", String(40), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # sha256 of kind, title and body (``sql.intake.content_hash``): finds the same content
    # submitted again without an idempotency key (the duplicate guard).
    Column("content_hash", String(64)),
    Index("ix_notices_content", "content_hash", "created_at"),
    # Lifecycle (issue 11, migration 0010): a follow-up names the notice it follows, how
    # ("updates" | "lifts" | "withdraws") and carries the ``follows`` mapping its templates
    # and adapters see. One follow-up per notice at most (unique): an updated notice is
    # superseded, a lifted or withdrawn one is final, so a second one is refused even when
    # two requests race. The original's state is read from its follow-up.
    Column("follows_id", Id),
    Column("relation", String(20)),
    Column("follows", JSON),
    Index(
        "ix_notices_follows",
        "follows_id",
        unique=True,
        sqlite_where=text(FOLLOW_UPS),
        postgresql_where=text(FOLLOW_UPS),
    ),
    # Withdrawals and what they withdrew leave the portal's lists: these keep that check an
    # index lookup however many notices there are (publisher/store/sql/portal.py).
    Index(
        "ix_notices_withdrawals",
        "id",
        "follows_id",
        sqlite_where=text(WITHDRAWALS),
        postgresql_where=text(WITHDRAWALS),
    ),
    Index(
        "ix_notices_withdrawn",
        "follows_id",
        sqlite_where=text(WITHDRAWALS),
        postgresql_where=text(WITHDRAWALS),
    ),
    # drills (issue 11 C): a drill (演练) is posted only to sandbox/drill accounts and listed
    # on the portal's drills page, never among real notices.
    Column("drill", Boolean, nullable=False, default=False, server_default=text("false")),
    # The few drills, so the portal's lists leave them out with one probe of a tiny index.
    Index("ix_notices_drill", "id", sqlite_where=text("drill"), postgresql_where=text("drill")),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("notice_id", Id, ForeignKey("notices.id", ondelete="CASCADE"), nullable=False),
    Column("account", String(100), nullable=False),
    Column("channel", String(40), nullable=False),
    # The notice's kind, copied at submit (it never changes): the portal's category pages walk
    # an index of (kind, posted_at) without joining every notice.
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("not_before", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    # Failed lookups while reconciling an unknown outcome (reset by a manual retry).
    Column("lookups", Integer, nullable=False, default=0, server_default=text("0")),
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("lease_until", UTCDateTime),
    Column("worker_id", String(100)),
    Column("rendered", JSON, nullable=False),
    Column("remote_id", Text),
    Column("url", Text),
    Column("detail", JSON),
    Column("error", Text),
    Column("note", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("posted_at", UTCDateTime),
    Index("ix_deliveries_claim", "status", "account", "not_before"),
    Index("ix_deliveries_notice", "notice_id"),
    # The portal's reads (store/sql/portal.py): partial, so only posted portal deliveries are
    # in them and the queue's writes never touch them. Queries spell the predicate out with
    # literals (a bound parameter cannot prove a partial index applies).
    Index(
        "ix_deliveries_portal_time",
        "channel",
        "posted_at",
        "notice_id",
        "status",
        sqlite_where=text(PORTAL_PAGES),
        postgresql_where=text(PORTAL_PAGES),
    ),
    Index(
        "ix_deliveries_portal_kind",
        "channel",
        "kind",
        "posted_at",
        "notice_id",
        "status",
        sqlite_where=text(PORTAL_PAGES),
        postgresql_where=text(PORTAL_PAGES),
    ),
    Index(
        "ix_deliveries_portal_notice",
        "notice_id",
        "channel",
        "posted_at",
        "status",
        sqlite_where=text(PORTAL_PAGES),
        postgresql_where=text(PORTAL_PAGES),
    ),
    # The reach report picks the posts of a period (publisher/store/sql/reach.py): covering,
    # so a year's 400,000 posts are read from the index, never from their rows (which hold
    # the rendered text, kilobytes each); partial, so the queue's writes before a delivery is
    # posted never touch it (a range on posted_at implies the predicate).
    Index(
        "ix_deliveries_posted",
        "posted_at",
        "status",
        "notice_id",
        "account",
        "channel",
        "kind",
        sqlite_where=text(POSTED_AT),
        postgresql_where=text(POSTED_AT),
    ),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("notice_id", Id, nullable=False),
    Column("delivery_id", Id),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(40), nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20)),
    Column("reason", Text),
    Column("actor", String(100), nullable=False),
    Index("ix_events_notice", "notice_id"),
)

channel_state = Table(
    "channel_state",
    metadata,
    Column("account", String(100), primary_key=True),
    # Epoch seconds of this account's sends within its rate window, oldest first: an exact
    # sliding window, so "20 per minute" never lets 21 through in any minute.
    Column("recent", JSON, nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("breaker", String(10), nullable=False, default="closed"),
    Column("open_until", UTCDateTime),
    Column("last_error", Text),
)

credentials = Table(
    "credentials",
    metadata,
    Column("account", String(100), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)

# The portal's own read counter (channels/portal/pageviews.py): one row per visitor per notice per
# local day. ``visitor_hash`` is a salted hash of client address and User-Agent; the address
# itself is never stored.
page_views = Table(
    "page_views",
    metadata,
    Column(
        "notice_id",
        Id,
        ForeignKey("notices.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("day", Date, primary_key=True),
    Column("visitor_hash", String(64), primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
)

metric_samples = Table(
    "metric_samples",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", Id, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("metric", String(40), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("source", String(100), nullable=False),
    Index("ix_metric_samples_delivery", "delivery_id", "metric", "observed_at"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(100), primary_key=True),
    Column("fire_time", UTCDateTime, primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("runner", String(100), nullable=False),
)

# People (publisher/auth): users, their roles (one row per role held) and personal API tokens
# (only the sha256 of a token is kept; see publisher/auth/secrets.py).
users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("department", String(100)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("password_hash", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("oa_id", String(100)),  # review chain (0012): the id OA messages reach them by
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True, autoincrement=False),
    Column("role", String(20), primary_key=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_api_tokens_user", "user_id"),
)

# Append-only: the store has no method that updates or deletes a row, and on PostgreSQL a
# trigger refuses UPDATE and DELETE (migration 0008).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("source", String(20), nullable=False),
    Column("notice_id", Id),
    Column("delivery_id", Id),
    Column("client", String(200)),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_log_notice", "notice_id"),
    Index("ix_audit_log_actor", "actor", "at"),
)


# Clicks on tracked links (``/r/<code>``, publisher/web/tracked.py): one row per visitor per
# delivery per local day, like ``page_views``; ``visitor_hash`` is salted and day-scoped, the
# address itself is never stored. Each new row also appends a ``clicks`` metric sample.
link_clicks = Table(
    "link_clicks",
    metadata,
    Column(
        "delivery_id",
        Id,
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("day", Date, primary_key=True),
    Column("visitor_hash", String(64), primary_key=True),
    Column("first_seen_at", UTCDateTime, nullable=False),
)


# -- reach collection and OA read receipts (issue 14, branch reach) ---------------------------

# When the collector last asked a channel for one post's numbers (the decaying schedule,
# publisher/metrics/schedule.py), and how many samples it got then (0: the channel had
# nothing, e.g. a deleted Weibo post). One row per delivery, replaced on every ask; the
# samples themselves stay append-only in ``metric_samples``.
metric_polls = Table(
    "metric_polls",
    metadata,
    Column(
        "delivery_id",
        Id,
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("polled_at", UTCDateTime, nullable=False),
    Column("samples", Integer, nullable=False),
)

# Per channel account, how reach collection went: shown by `doctor` and the console.
collection_health = Table(
    "collection_health",
    metadata,
    Column("account", String(100), primary_key=True),
    Column("last_run_at", UTCDateTime, nullable=False),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("failures", Integer, nullable=False),  # consecutive failed runs
    Column("retry_after", UTCDateTime),  # a quota said: not before then
)

# Who read or acknowledged an OA warning (DingTalk getsendresult, Feishu read_users, the
# WeCom "已知悉" link), and who was nudged: one row per delivery and recipient. A read is
# kept from the first time it is seen; ``nudged_at`` is set once and never again.
oa_readers = Table(
    "oa_readers",
    metadata,
    Column(
        "delivery_id",
        Id,
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("user_id", String(128), primary_key=True),
    Column("read_at", UTCDateTime),
    Column("how", String(20)),  # "read" | "acknowledged"
    Column("nudged_at", UTCDateTime),
)


# --- reports: each post's latest figure per metric (publisher/store/sql/reach.py) ---
def _latest_columns() -> list[Column[Any]]:
    """Per metric: the post's newest sample's value (``reads``) and when it was observed
    (``reads_at``); both NULL while the post has no sample of it."""
    return [
        column
        for m in REACH_METRICS
        for column in (Column(m, BigInteger), Column(f"{m}_at", UTCDateTime))
    ]


# One row per post (delivery) that has a sample of any REACH_METRICS, derived from the
# append-only ``metric_samples`` and kept in step with them in the same transaction: per metric
# the newest ``observed_at`` wins, at equal times the larger value. The reach report reads one
# row per post from here (a year is 400,000 posts) instead of finding the newest of every
# post's samples, or summing one row per post and metric, at query time. A metric outside
# REACH_METRICS (a plug-in channel's own) stays in the samples only.
post_reach = Table(
    "post_reach",
    metadata,
    Column(
        "delivery_id",
        Id,
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    *_latest_columns(),
)


# The tables of the work around publishing (schedules, obligations, the review chain) are in
# schema_work.py, on the same ``metadata``; imported here so that every table is known to
# ``metadata`` and importable from this module.
from publisher.store.schema_work import (  # noqa: E402
    obligation_reminders,
    obligations,
    review_decisions,
    reviews,
    schedule_fires,
    schedules,
)

__all__ = [
    "obligation_reminders",
    "obligations",
    "review_decisions",
    "reviews",
    "schedule_fires",
    "schedules",
]
