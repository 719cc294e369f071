"""Working days in mainland China: public holidays and make-up working days (调休上班).

Source: the State Council's yearly holiday arrangement (国务院办公厅关于部分节假日安排的通知),
as maintained in the PyPI package ``chinesecalendar`` (import name ``chinese_calendar``). A day
is a working day when the arrangement says so (a make-up Saturday or Sunday), or when it is
Monday to Friday and not a holiday of the arrangement.

Counting rule (what staff do by hand): "N working days after a date" starts on the next
working day — a decision dated Wednesday 2026-09-30, the eve of National Day, is due 7 working
days later on Thursday 2026-10-15 (10-8, 10-9, the make-up Saturday 10-10, 10-12 … 10-15).

Years the package does not know: refused. ``chinesecalendar`` covers the years between its
first and last published arrangement (1.11.0: 2004–2026); the arrangement for the next year
is announced each November and released in a new version of the package. Outside that range
every function here raises :class:`~publisher.errors.UnknownHolidayYear` with a one-line
Chinese message naming the year and the package version. There is no Monday-to-Friday
fallback, because a deadline guessed without the holidays is worse than none: it is wrong by
up to a week around the Spring Festival and National Day, in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import metadata

import chinese_calendar

from publisher.errors import UnknownHolidayYear

PACKAGE = "chinesecalendar"

WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

# The package's Chinese names are short ("中秋", "端午"); these are the ones people write.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Break:
    """Consecutive days off that include a public holiday, as skipped by a count."""

    first: date
    last: date
    holidays: tuple[str, ...]  # Chinese names, in calendar order


@dataclass(frozen=True)
class DueDate:
    """The answer to "N working days after ``start``", with what the count went through."""

    start: date
    working_days: int
    due: date
    breaks: tuple[Break, ...]  # holiday breaks skipped between start and due
    makeup_days: tuple[date, ...]  # make-up working days (on a weekend) counted


def calendar_version() -> str:
    """The holiday data in use, as people should quote it: ``chinesecalendar 1.11.0``."""
    return f"{PACKAGE} {metadata.version(PACKAGE)}"


@cache
def known_years() -> tuple[int, int]:
    """The first and last year whose holiday arrangement the installed package knows."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def _check(day: date) -> None:
    first, last = known_years()
    if first <= day.year <= last:
        return
    data = f"{calendar_version()}，收录 {first}–{last} 年"
    if day.year > last:
        message = f"{day.year} 年的节假日安排尚未收录（{data}），请升级该软件包"
    else:
        message = f"{day.year} 年早于节假日数据的范围（{data}）"
    raise UnknownHolidayYear(message, year=day.year)


def is_working_day(day: date) -> bool:
    """Whether government offices work on ``day``; raises UnknownHolidayYear outside the data."""
    _check(day)
    return bool(chinese_calendar.is_workday(day))


def is_makeup_day(day: date) -> bool:
    """A Saturday or Sunday worked in exchange for a holiday (调休上班)."""
    return day.weekday() >= 5 and is_working_day(day)


def holiday_name(day: date) -> str | None:
    """The Chinese name of the public holiday ``day`` belongs to, or None (weekends too)."""
    _check(day)
    off, name = chinese_calendar.get_holiday_detail(day)
    if not off or name is None:
        return None
    return HOLIDAY_NAMES.get(name, str(name))


def add_working_days(start: date, n: int) -> date:
    """The date ``n`` working days after ``start``, counting from the next working day.

    ``n == 0`` is ``start`` itself. A negative ``n`` counts back the same way: -3 is the third
    working day before ``start`` (a reminder before a due date). Raises UnknownHolidayYear when
    the count reaches a year the calendar does not know.
    """
    _check(start)
    step = _DAY if n > 0 else -_DAY
    day, left = start, abs(n)
    while left:
        day += step
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Working days after ``a`` up to and including ``b``; negative when ``b`` is before ``a``.

    ``working_days_between(due, today)`` is how many working days late something is (0 on the
    due date itself), and ``working_days_between(start, add_working_days(start, n)) == n`` for
    every ``n >= 0``.
    """
    if b < a:
        return -working_days_between(b, a)
    _check(a)
    _check(b)
    count, day = 0, a
    while day < b:
        day += _DAY
        count += is_working_day(day)
    return count


def due_date(start: date, n: int) -> DueDate:
    """``add_working_days(start, n)`` (``n >= 1``) with the holiday breaks and make-up days the
    count went through, for people to check it against the calendar on the wall."""
    if n < 1:
        raise ValueError("n must be at least 1")
    due = add_working_days(start, n)
    breaks: list[Break] = []
    makeup: list[date] = []
    run: list[date] = []  # the current run of days off
    day = start
    while day < due:
        day += _DAY
        if not is_working_day(day):
            run.append(day)
            continue
        if is_makeup_day(day):
            makeup.append(day)
        _close(run, breaks)
        run = []
    return DueDate(start, n, due, tuple(breaks), tuple(makeup))


def _close(run: list[date], breaks: list[Break]) -> None:
    names: list[str] = []
    for day in run:
        name = holiday_name(day)
        if name is not None and name not in names:
            names.append(name)
    if names:  # a plain weekend is not worth mentioning
        breaks.append(Break(run[0], run[-1], tuple(names)))


def weekday_name(day: date) -> str:
    """``星期一`` … ``星期日``."""
    return WEEKDAYS[day.weekday()]


def span_text(first: date, last: date) -> str:
    """``10月1日–8日``, ``1月28日–2月4日``, ``2010年12月31日–2011年1月3日``; one day: ``5月1日``."""
    if first.year != last.year:
        return f"{first.year}年{first.month}月{first.day}日–{last.year}年{last.month}月{last.day}日"
    if first == last:
        return f"{first.month}月{first.day}日"
    if first.month != last.month:
        return f"{first.month}月{first.day}日–{last.month}月{last.day}日"
    return f"{first.month}月{first.day}日–{last.day}日"
