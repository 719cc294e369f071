"""The decaying collection schedule: young posts are asked for their numbers often, old ones
seldom, and posts past the last step not at all.

Written as steps ``AGE:EVERY`` separated by commas (setting ``metrics_schedule``), each age
and interval a number with ``m`` (minutes), ``h`` (hours), ``d`` (days) or ``w`` (weeks):
``"2d:1h,30d:1d,90d:7d"`` (the default) asks hourly while a post is under 2 days old, daily
until 30 days, weekly until 90 days, then never again.

A post is due when the interval of its age's step has passed since it was last asked for
(never asked: due at once), less a small slack so an hourly job whose runs drift by a few
seconds still asks an hourly post every run. A channel whose numbers appear late (WeChat's
datacube is T+1: ``metrics_lag_seconds``) is asked at most once per lag: asking hourly for a
figure that changes daily only spends its quota.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_SCHEDULE = "2d:1h,30d:1d,90d:7d"
SLACK = timedelta(minutes=5)
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")


@dataclass(frozen=True)
class Step:
    until: timedelta  # posts younger than this ...
    every: timedelta  # ... are asked this often


def _span(text: str) -> timedelta:
    found = _SPAN.match(text)
    if not found:
        raise ValueError(f"“{text.strip()}”应为数字加单位 m、h、d 或 w，例如 2d、1h")
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds <= 0:
        raise ValueError(f"“{text.strip()}”应大于 0")
    return timedelta(seconds=seconds)


def parse_schedule(text: str) -> tuple[Step, ...]:
    """``"2d:1h,30d:1d,90d:7d"`` as steps; ValueError (in Chinese) naming what is wrong."""
    steps = []
    for part in text.split(","):
        if ":" not in part:
            raise ValueError(f"“{part.strip()}”应写作 年龄:间隔，例如 2d:1h")
        age, every = part.split(":", 1)
        steps.append(Step(_span(age), _span(every)))
    if not steps:
        raise ValueError("至少需要一段，例如 2d:1h")
    for before, after in itertools.pairwise(steps):
        if after.until <= before.until:
            raise ValueError("各段的年龄应逐段增大，例如 2d:1h,30d:1d,90d:7d")
    return tuple(steps)


def interval(age: timedelta, steps: Sequence[Step]) -> timedelta | None:
    """How often a post of this age is asked for; None: too old, never again."""
    for step in steps:
        if age < step.until:
            return step.every
    return None


def max_age(steps: Sequence[Step]) -> timedelta:
    return steps[-1].until


def is_due(
    posted_at: datetime,
    polled_at: datetime | None,
    now: datetime,
    steps: Sequence[Step],
    lag: timedelta = timedelta(0),
) -> bool:
    """Whether a post published at ``posted_at`` and last asked at ``polled_at`` is due now."""
    every = interval(now - posted_at, steps)
    if every is None:
        return False
    if polled_at is None:
        return True
    every = max(every, lag)
    return now - polled_at >= every - min(SLACK, every / 10)


def overdue(
    posted_at: datetime, polled_at: datetime | None, now: datetime, steps: Sequence[Step]
) -> timedelta:
    """How long a due post has waited past its time (never asked: its age): the most
    overdue are asked first when a quota allows only some."""
    if polled_at is None:
        return now - posted_at
    every = interval(now - posted_at, steps) or timedelta(0)
    return now - polled_at - every
