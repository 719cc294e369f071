"""The store over SQLAlchemy Core; SQLite and PostgreSQL differ only in their subclasses.

``SqlStore`` implements :class:`publisher.store.base.Store` (read that for what each method
promises). It is assembled from one mixin per concern, each in its own module:

    core.py      transactions on the database thread, group commit, backend hooks
    intake.py    notices in: submit, fan-out, idempotency-key lookup (+ the claim fast path)
    claims.py    claims and admission: the claim transaction, account state rows
    outcomes.py  leases and outcomes: sending, finish, renew, expire, manual retry / cancel
    accounts.py  channel state and credentials: breakers, workers registry, credentials
    reads.py     events and read models: a notice in full, lists, counts, next due time
    reach.py     metric samples and scheduled job runs
    portal.py    the portal's reads and page views
    users.py     people: users, their roles and personal API tokens
    audit.py     the append-only audit log
    monitor.py   the console's delivery monitor (filtered, keyset-paged)
    collection.py  reach collection state and OA readers (issue 14)
    schedules.py recurring schedules and their once-only fires
    obligations.py  disclosure obligations, their evidence and reminders (issue 13)
    portal_version.py  a notice's version, the key of the portal's cached pages
    reviews.py   the review chain: held notices, decisions, release, revision (+ OA ids)
    annual.py    the notices published in a period (the annual open-government report)
    rows.py      shared statements and row-to-record converters
    lifecycle.py follow-ups (update, lift, withdraw) and the links between notices
    breakers.py  each account's breaker read back (the console's 渠道状态 page)
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from publisher.store.records import new_key
from publisher.store.sql.accounts import StoreTokens
from publisher.store.sql.annual import AnnualMixin  # reports: the annual report
from publisher.store.sql.audit import AuditMixin
from publisher.store.sql.breakers import BreakersMixin  # console: breaker state per account
from publisher.store.sql.collection import CollectionMixin  # reach: collection, OA readers
from publisher.store.sql.intake import IntakeMixin
from publisher.store.sql.lifecycle import LifecycleMixin  # issue 11: follow-ups
from publisher.store.sql.monitor import MonitorMixin
from publisher.store.sql.obligations import ObligationsMixin  # obligations (issue 13)
from publisher.store.sql.outcomes import OutcomesMixin
from publisher.store.sql.portal import PortalMixin
from publisher.store.sql.portal_version import PortalVersionMixin
from publisher.store.sql.reach import ReachMixin
from publisher.store.sql.reach_rows import ReachRowsMixin  # reach by notice, lean
from publisher.store.sql.reads import ReadsMixin
from publisher.store.sql.reviews import ReviewsMixin  # review chain
from publisher.store.sql.schedules import SchedulesMixin  # recurring schedules
from publisher.store.sql.users import UsersMixin


class SqlStore(
    LifecycleMixin,  # issue 11: follow-ups (subclasses IntakeMixin, so it comes first)
    IntakeMixin,
    OutcomesMixin,
    ReadsMixin,
    ReachMixin,
    ReachRowsMixin,  # reach report by notice, lean (issue 14 bench)
    PortalMixin,
    PortalVersionMixin,
    UsersMixin,
    AuditMixin,
    MonitorMixin,
    CollectionMixin,  # reach: collection schedule state, OA readers
    SchedulesMixin,  # recurring schedules
    ObligationsMixin,  # obligations (issue 13)
    ReviewsMixin,  # review chain
    AnnualMixin,  # reports: the annual report
    BreakersMixin,  # console: breaker state per account
):
    """Shared SQL for both backends. Subclasses add locking and wake-up signalling."""

    async def take_queue(self) -> int:
        """Before a worker starts here: nothing to take where many processes share the queue
        (the SQLite store takes sole ownership instead)."""
        return 0

    async def listen(self, on_notify: Callable[[], None]) -> None:
        """Nothing to hear where no other process adds work (PostgreSQL LISTENs instead)."""


__all__ = ["OperationalError", "SqlStore", "StoreTokens", "new_key"]
