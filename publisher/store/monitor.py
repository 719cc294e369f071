"""What the store gives the console's delivery monitor: one row per notice × channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class MonitorFilter:
    """Every field optional; ``before`` is the keyset cursor (a delivery id, newest first)."""

    status: str | None = None
    account: str | None = None
    kind: str | None = None
    since: datetime | None = None  # the delivery was created at or after
    until: datetime | None = None  # ... and before
    before: int | None = None


@dataclass(frozen=True)
class MonitorRow:
    delivery_id: int
    notice_id: int
    title: str
    kind: str
    account: str
    channel: str
    status: str
    attempts: int
    max_attempts: int
    error: str | None
    note: str | None
    url: str | None
    created_at: datetime
    updated_at: datetime
    posted_at: datetime | None


class ConsoleReads(Protocol):
    """What the web console lists beyond the notice store (issue 15)."""

    async def last_posted(self, account: str) -> datetime | None:
        """When ``account`` last posted anything, or None (never)."""

    async def monitor_rows(self, where: MonitorFilter, limit: int = 50) -> list[MonitorRow]:
        """Deliveries with their notice's title and kind matching every filter in ``where``,
        newest first, at most ``limit`` (capped at 200); page on with ``where.before``."""
