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


metadata = MetaData()
Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite only autoincrements INTEGER
MAX_ROW_ID = 2**63 - 1  # ids are 64-bit: a larger number names no row (and overflows a query)
# Deliveries that may hold a portal page: the predicate of the portal's partial indexes.
PORTAL_PAGES = "channel = 'portal' AND posted_at IS NOT NULL"

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
    # The reach report picks the posts of a period (publisher/store/sql/reach.py).
    Index("ix_deliveries_posted", "posted_at"),
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
