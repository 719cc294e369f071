"""The monthly "who was late" summary per department (for the leadership group's 通报).

Everything due in the month counts once: on time (``met``), late but done (``met_late``),
still not done (``overdue``), not yet due (``pending``: the month is not over) or due date
unknown (``unknown``). For each department ``due = on_time + late + missing + pending +
unknown``; ``late_working_days`` adds up the working days late of the late and missing ones
(missing ones counted up to today).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from publisher.errors import InputError
from publisher.obligations.status import Status, due_in
from publisher.settings import Settings
from publisher.store import Store

MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str) -> tuple[date, date]:
    """``2026-11`` -> its first and last day; InputError otherwise."""
    found = MONTH.fullmatch(text.strip())
    month = int(found.group(2)) if found else 0
    if found is None or not 1 <= month <= 12 or not 2000 <= int(found.group(1)) <= 2100:
        raise InputError(f"月份应为 YYYY-MM，如 2026-11，收到的是 {text!r}")
    first = date(int(found.group(1)), month, 1)
    following = date(first.year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


@dataclass
class Department:
    name: str
    due: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0
    unknown: int = 0
    late_working_days: int = 0
    items: list[Status] = field(default_factory=list)

    def add(self, row: Status) -> None:
        self.due += 1
        counter = {
            "met": "on_time",
            "met_late": "late",
            "overdue": "missing",
            "pending": "pending",
            "due_today": "pending",
            "unknown": "unknown",
        }[row.state]
        setattr(self, counter, getattr(self, counter) + 1)
        if row.state in ("met_late", "overdue"):
            self.late_working_days += row.days_late or 0
            self.items.append(row)

    def as_json(self) -> dict[str, Any]:
        return {
            "department": self.name,
            "due": self.due,
            "on_time": self.on_time,
            "late": self.late,
            "missing": self.missing,
            "pending": self.pending,
            "unknown": self.unknown,
            "late_working_days": self.late_working_days,
            "late_items": [
                {
                    "name": r.name,
                    "title": r.spec.title,
                    "period_label": r.period_label,
                    "due": r.due.isoformat() if r.due else None,
                    "state": r.state,
                    "days_late": r.days_late,
                    "met_at": r.met_at.isoformat() if r.met_at else None,
                }
                for r in self.items
            ],
        }


async def month_summary(
    store: Store, settings: Settings, month: str, today: date, *, strict: bool = True
) -> dict[str, Any]:
    first, last = parse_month(month)
    rows = await due_in(store, settings, first, last, today, strict=strict)
    departments: dict[str, Department] = {}
    for row in rows:
        departments.setdefault(row.spec.department, Department(row.spec.department)).add(row)
    ordered = sorted(departments.values(), key=lambda d: (-(d.late + d.missing), d.name))
    return {
        "month": f"{first.year}-{first.month:02d}",
        "as_of": today.isoformat(),
        "departments": [d.as_json() for d in ordered],
        "total": {
            key: sum(getattr(d, key) for d in ordered)
            for key in ("due", "on_time", "late", "missing", "pending", "unknown")
        },
    }
