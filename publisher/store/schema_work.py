"""Tables of the work around publishing: recurring schedules and their fires, disclosure
obligations and their reminders, the review chain. Part of :mod:`publisher.store.schema`
(same ``metadata``), split off to keep each module readable."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from publisher.store.schema import Id, UTCDateTime, metadata

# Recurring schedules (publisher/schedules): the ones added through the CLI or the API (those
# in config/schedules.toml live in that file), and every fire of any schedule, claimed once per
# (schedule, fire time) before it runs and then marked with its outcome.
schedules = Table(
    "schedules",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("cron", String(100), nullable=False),
    Column("notice_file", String(500), nullable=False),
    Column("template", JSON, nullable=False),
    Column("data_glob", String(200)),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
)

schedule_fires = Table(
    "schedule_fires",
    metadata,
    Column("schedule", String(64), primary_key=True),
    Column("fire_time", UTCDateTime, primary_key=True),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("runner", String(100), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("detail", Text),
    Column("notice_id", Id),
    Column("data_file", String(500)),
    Column("finished_at", UTCDateTime),
)

# -- obligations (issue 13): disclosure duties and the reminders sent about them ------------
# ``obligations``: one row per duty, its definition as JSON (publisher.obligations.spec);
# ``deleted`` keeps a name removed through the API from being seeded again from the file.
obligations = Table(
    "obligations",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(100), nullable=False),
)

# One row per reminder (obligation reminders and freshness alarms): sent once, or failed and
# retried at the next run. ``subject`` names what it is about, ``period`` which occurrence.
obligation_reminders = Table(
    "obligation_reminders",
    metadata,
    Column("subject", String(200), primary_key=True),
    Column("period", String(100), primary_key=True),
    Column("step", String(20), primary_key=True),
    Column("recipients", JSON, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("first_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_obligation_reminders_status", "status"),
)

# The review chain (publisher/review, migration 0012): one row per reviewed notice, and each
# approval or rejection; ``held`` keeps the rendered deliveries until the last approval.
reviews = Table(
    "reviews",
    metadata,
    Column("notice_id", Id, ForeignKey("notices.id"), primary_key=True, autoincrement=False),
    Column("state", String(20), nullable=False),
    Column("steps", JSON, nullable=False),
    Column("step", Integer, nullable=False),
    Column("round", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("held", JSON),
    Column("drafted_by", String(100), nullable=False),
    Column("fast_path", Boolean, nullable=False),
    Column("released_by", String(100)),
    Column("released_at", UTCDateTime),
    Column("told", JSON),
    Column("warnings", JSON),  # the content checks' warnings, shown to reviewers
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_reviews_state", "state"),
)

review_decisions = Table(
    "review_decisions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("notice_id", Id, ForeignKey("notices.id"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("step", Integer, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("decision", String(10), nullable=False),
    Column("comment", Text),
    Column("fingerprint", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("notice_id", "round", "actor", name="uq_review_decisions_once"),
)
