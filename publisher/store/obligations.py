"""What the store keeps for obligations (issue 13): the duties, the disclosures that meet them,
the last post of every account and category, and the reminders sent. Records and protocol;
the SQL is in ``publisher/store/sql/obligations.py``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class ObligationRecord:
    name: str
    spec: Mapping[str, Any]  # the definition (publisher.obligations.spec.Obligation as JSON)
    created_at: datetime
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class Disclosure:
    """One delivery of a notice of a watched kind: the evidence an obligation is met."""

    notice_id: int
    kind: str
    title: str
    fields: Mapping[str, Any]
    created_at: datetime
    account: str
    status: str
    posted_at: datetime | None


@dataclass(frozen=True)
class LastPost:
    """The newest post of one account for one kind."""

    account: str
    channel: str
    kind: str
    posted_at: datetime


@dataclass(frozen=True)
class ReminderRecord:
    subject: str  # "obligation:<name>" or "freshness:<target>"
    period: str  # which occurrence: a period key, a notice, the last post's time
    step: str  # before | due | head | leader | d10 | alarm ...
    recipients: tuple[str, ...]
    status: str  # sent | failed
    attempts: int
    error: str | None
    first_at: datetime
    updated_at: datetime


class ObligationStore(Protocol):
    """Obligations, their evidence and their reminders."""

    async def list_obligations(self) -> list[ObligationRecord]:
        """Every obligation not deleted, by name."""

    async def get_obligation(self, name: str) -> ObligationRecord:
        """One obligation. Raises NotFoundError (also for a deleted one)."""

    async def add_obligation(
        self, name: str, spec: Mapping[str, Any], actor: str
    ) -> ObligationRecord:
        """A new obligation (a deleted name may be used again). Raises InputError when the
        name is taken, also when two adds race."""

    async def replace_obligation(
        self, name: str, spec: Mapping[str, Any], actor: str
    ) -> ObligationRecord:
        """Replace the definition. Raises NotFoundError."""

    async def delete_obligation(self, name: str, actor: str) -> None:
        """Delete (the name stays known, so the file does not seed it again). NotFoundError."""

    async def seed_obligations(
        self, specs: Mapping[str, Mapping[str, Any]], actor: str
    ) -> list[str]:
        """Add the ones whose name was never stored (deleted names count as stored), in one
        transaction; returns the names added. Idempotent."""

    async def disclosures(self, kinds: Sequence[str], since: datetime) -> list[Disclosure]:
        """The deliveries of notices of ``kinds`` created or posted at or after ``since``,
        oldest notice first."""

    async def last_posts(self) -> list[LastPost]:
        """For every (account, kind) that ever posted, its newest ``posted_at``."""

    async def get_reminder(self, subject: str, period: str, step: str) -> ReminderRecord | None:
        """The record of one reminder, or None when it was never tried."""

    async def record_reminder(
        self,
        subject: str,
        period: str,
        step: str,
        recipients: Sequence[str],
        error: str | None,
    ) -> ReminderRecord:
        """Record an attempt: ``sent`` when ``error`` is None, else ``failed`` (a later
        attempt may turn it ``sent``; a sent one never changes). Counts attempts."""

    async def reminders(self, *, status: str | None = None) -> list[ReminderRecord]:
        """Reminders, oldest first, optionally of one status."""
