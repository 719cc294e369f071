"""Records of the schedule store (``ScheduleStore`` in ``publisher/store/base.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule added through the CLI or the API, with the notice template it was given."""

    name: str
    cron: str
    notice_file: str  # the file the template was read from (shown, not read again)
    template: dict[str, Any] = field(default_factory=dict)
    data_glob: str | None = None
    enabled: bool = True
    created_at: datetime | None = None
    created_by: str = ""


@dataclass(frozen=True)
class FireRecord:
    """One fire of a schedule: claimed once per (schedule, fire time), then its outcome."""

    schedule: str
    fire_time: datetime
    claimed_at: datetime
    runner: str
    outcome: str  # publisher.schedules.outcomes
    detail: str | None = None
    notice_id: int | None = None
    data_file: str | None = None
    finished_at: datetime | None = None


class ScheduleStore(Protocol):
    """Schedules added through the CLI or the API, and every fire of any schedule."""

    async def add_schedule(self, row: ScheduleRow) -> ScheduleRow:
        """Store a new schedule, stamped with the store's clock. Raises InputError when the
        name is taken (also when two adds race)."""

    async def list_schedules(self) -> list[ScheduleRow]:
        """Every stored schedule, by name."""

    async def remove_schedule(self, name: str) -> None:
        """Remove the schedule (its fires stay on record). Raises NotFoundError."""

    async def claim_schedule_fire(
        self,
        schedule: str,
        fire_time: datetime,
        runner: str,
        outcome: str,
        detail: str | None = None,
    ) -> bool:
        """Record the fire with ``outcome``; True for exactly one caller per (schedule, fire
        time), across processes."""

    async def finish_schedule_fire(
        self,
        schedule: str,
        fire_time: datetime,
        outcome: str,
        *,
        detail: str | None = None,
        notice_id: int | None = None,
        data_file: str | None = None,
    ) -> None:
        """Set a claimed fire's outcome, stamped ``finished_at`` with the store's clock."""

    async def schedule_fires(
        self, schedule: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[FireRecord]:
        """Fires, newest first: of one schedule or of all, with ``fire_time >= since``."""

    async def latest_schedule_fires(self) -> dict[str, FireRecord]:
        """Each schedule's latest fire (by fire time), by schedule name."""

    async def retake_schedule_fire(
        self, schedule: str, fire_time: datetime, runner: str, stale_before: datetime
    ) -> bool:
        """Take over a fire still ``running`` whose claim is older than ``stale_before`` (its
        process died mid-fire); True for exactly one caller."""

    async def notice_with_key(self, key: str) -> int | None:
        """The id of the notice submitted with this idempotency key, if any."""
