"""Periods and due dates of recurring obligations.

A recurring obligation is about a *data period* (November's approvals, the third quarter's
penalties, the year 2025's report). Its *window* opens the day after the data period ends
(November's list counts when posted from 1 December on; normally during December, the
window shown). It is due ``working_days`` working days after the data period ends (counted by
:mod:`publisher.obligations.workdays`), or on a fixed date of the following year
(``due = "01-31"``: the annual report). Which post meets which period:
:func:`publisher.obligations.status.period_statuses`.

Years the holiday data does not know: the due date cannot be computed. :func:`due_date` then
answers the Chinese reason ("无法计算（节假日数据未覆盖 2027 年）") instead of a date; nothing
guesses a Monday-to-Friday deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from publisher.errors import UnknownHolidayYear
from publisher.obligations import workdays
from publisher.obligations.spec import Obligation

MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


@dataclass(frozen=True)
class Period:
    key: str  # 2026-11, 2026-Q3, 2026-H1, 2026
    label: str  # 2026年11月, 2026年第3季度, 2026年上半年, 2026年度
    start: date
    end: date
    window_start: date  # the first day a disclosure counts
    window_end: date  # the last


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def period_of(every: str, day: date) -> Period:
    """The data period of ``every`` (month, quarter, half_year, year) containing ``day``."""
    size = MONTHS[every]
    first_month = (day.month - 1) // size * size + 1
    start = date(day.year, first_month, 1)
    ny, nm = _add_months(day.year, first_month, size)
    end = date(ny, nm, 1) - timedelta(days=1)
    wy, wm = _add_months(ny, nm, size)
    window_end = date(wy, wm, 1) - timedelta(days=1)
    y = day.year
    if every == "month":
        key, label = f"{y}-{day.month:02d}", f"{y}年{day.month}月"
    elif every == "quarter":
        q = (first_month - 1) // 3 + 1
        key, label = f"{y}-Q{q}", f"{y}年第{q}季度"
    elif every == "half_year":
        h = 1 if first_month == 1 else 2
        key, label = f"{y}-H{h}", f"{y}年{'上' if h == 1 else '下'}半年"
    else:
        key, label = f"{y}", f"{y}年度"
    return Period(key, label, start, end, end + timedelta(days=1), window_end)


def current(every: str, today: date) -> Period:
    """The data period whose window ``today`` is in: the one that ended most recently."""
    return previous(period_of(every, today))


def previous(period: Period) -> Period:
    every = _every_of(period)
    return period_of(every, period.start - timedelta(days=1))


def _every_of(period: Period) -> str:
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
    return {1: "month", 3: "quarter", 6: "half_year", 12: "year"}[months]


def unknown_text(year: int) -> str:
    return f"无法计算（节假日数据未覆盖 {year} 年）"


def due_date(spec: Obligation, start: date) -> tuple[date | None, str | None]:
    """The due date counted from ``start`` (a period's last day, a decision's date), or None
    and the reason it cannot be computed."""
    if spec.due is not None:
        month, day = (int(p) for p in spec.due.split("-"))
        year = start.year + 1
        if month == 2 and day == 29 and not _leap(year):
            day = 28
        return date(year, month, day), None
    assert spec.working_days is not None
    try:
        return workdays.add_working_days(start, spec.working_days), None
    except UnknownHolidayYear as exc:
        return None, unknown_text(exc.year)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_late(due: date, day: date) -> tuple[int | None, str | None]:
    """Working days ``day`` is after ``due`` (0 on the due date), or None and why not."""
    try:
        return workdays.working_days_between(due, day), None
    except UnknownHolidayYear as exc:
        return None, unknown_text(exc.year)
