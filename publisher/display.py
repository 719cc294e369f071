"""Display periods (issue 13): how long a kind's portal page stays public.

A penalty decision is disclosed for a period (work-safety penalties: at least one year; the
general range is three months to three years), after which its page leaves the portal by
itself: the lists, the feeds and search no longer show it, and its own address answers
410 with a short 公示期已满 page. The record stays: ``notice show`` and the API still have it.

Nothing is written when a period ends: it is computed at read time from the clock, from the
time the page went live (``posted_at``), so a changed setting applies at once both ways.

The setting is ``display_periods = {kind = days}``; penalty_disclosure defaults to 365 days
and is kept when the setting names other kinds only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from publisher import kinds

MIN_DAYS = 90  # three months
MAX_DAYS = 1095  # three years
DEFAULTS: dict[str, int] = {"penalty_disclosure": 365}
AT_LEAST = {"penalty_disclosure": 365}  # work-safety penalties: at least one year


def check_periods(value: Mapping[str, object]) -> dict[str, int]:
    """The periods with the defaults filled in; ValueError in one line for a bad entry."""
    out = dict(DEFAULTS)
    for kind, days in value.items():
        if not kinds.is_kind(kind):
            raise ValueError(f"未知的通知类型 {kind!r}，可选 {'、'.join(kinds.NAMES)}")
        if isinstance(days, bool) or not isinstance(days, int):
            raise ValueError(f"{kind}: 公示期应为天数 (整数)，收到的是 {days!r}")
        if not MIN_DAYS <= days <= MAX_DAYS:
            raise ValueError(
                f"{kind}: 公示期 {days} 天超出范围，"
                f"应为 {MIN_DAYS} 到 {MAX_DAYS} 天 (3 个月到 3 年)"
            )
        least = AT_LEAST.get(kind)
        if least is not None and days < least:
            raise ValueError(
                f"{kind}: 安全生产行政处罚公示期不少于 {least} 天 (一年)，收到 {days} 天"
            )
        out[kind] = days
    return out


def shown_since(periods: Mapping[str, int], now: datetime) -> dict[str, datetime]:
    """Per kind, the earliest ``posted_at`` still on display at ``now``."""
    return {kind: now - timedelta(days=days) for kind, days in periods.items()}


def ends_at(kind: str, posted_at: datetime, periods: Mapping[str, int]) -> datetime | None:
    """When a page of ``kind`` that went live at ``posted_at`` leaves the portal, if ever."""
    days = periods.get(kind)
    return None if days is None else posted_at + timedelta(days=days)


def is_over(kind: str, posted_at: datetime, periods: Mapping[str, int], now: datetime) -> bool:
    end = ends_at(kind, posted_at, periods)
    return end is not None and end <= now
