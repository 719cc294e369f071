"""Records of the schedule store (``ScheduleStore`` in ``publisher/store/base.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
