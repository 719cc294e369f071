"""Met or late: each obligation's current period, its due date and state, from the store.

States: ``met`` (posted on every one of its channels by the due date), ``met_late`` (posted,
after it), ``pending`` (not yet, not yet due), ``due_today``, ``overdue`` (due date passed, not
posted), ``unknown`` (the due date cannot be computed: the holiday data does not cover the
year). Days late are working days (0 on the due date itself).

A per-notice obligation (``every = "notice"``) is about each notice of its kind that carries
the date named by ``date_field`` (``fields.decided_on``): it is due that many working days
after the date and met once the notice is posted on every channel. Only decisions entered
as notices are known: one never entered is not seen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from publisher.errors import ConfigError
from publisher.obligations import periods, spec
from publisher.obligations.periods import Period
from publisher.obligations.spec import Obligation
from publisher.settings import Settings
from publisher.store import Store
from publisher.store.obligations import Disclosure

log = logging.getLogger("publisher.obligations")

STATE_LABELS = {
    "met": "已按时发布",
    "met_late": "已发布（逾期）",
    "pending": "未到期",
    "due_today": "今天到期",
    "overdue": "已逾期",
    "unknown": "无法计算",
}
LATE = ("met_late", "overdue")
RECENT_DAYS = 31  # per-notice items met this long ago still show in the list
NOTICE_LOOKBACK = 400  # days of decisions looked at


@dataclass(frozen=True)
class Status:
    name: str
    spec: Obligation
    channels: tuple[str, ...]
    period: str  # a period's key, or notice-<id>
    period_label: str
    window: tuple[date, date] | None
    due: date | None
    state: str
    days_late: int | None
    met_at: datetime | None
    notice_id: int | None
    problem: str | None  # why the due date or the days late cannot be computed

    def as_json(self) -> dict[str, Any]:
        s = self.spec
        return {
            "name": self.name,
            "title": s.title,
            "kind": s.kind,
            "department": s.department,
            "responsible": list(s.responsible),
            "rule": s.rule_text(),
            "channels": list(self.channels),
            "period": self.period,
            "period_label": self.period_label,
            "window": [d.isoformat() for d in self.window] if self.window else None,
            "due": self.due.isoformat() if self.due else None,
            "state": self.state,
            "state_label": STATE_LABELS[self.state],
            "days_late": self.days_late,
            "met_at": self.met_at.isoformat() if self.met_at else None,
            "notice_id": self.notice_id,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class Loaded:
    name: str
    spec: Obligation
    created: date  # owed from this day: earlier occurrences are not chased


async def load(
    store: Store, settings: Settings, actor: str = "obligations_file", *, strict: bool = True
) -> list[Loaded]:
    """The obligations in the store, after seeding the ones new in the file. A file that
    cannot be read raises ConfigError; without ``strict`` (the API, the scheduled run) it is
    logged and the stored obligations are used (``doctor`` and the CLI name the problem)."""
    try:
        found = spec.read_file(settings)
    except ConfigError as exc:
        if strict:
            raise
        log.warning("obligations file not read: %s", exc)
        found = {}
    await store.seed_obligations({n: spec.dump(s) for n, s in found.items()}, actor)
    return [
        Loaded(
            r.name,
            spec.Obligation.model_validate(r.spec),
            r.created_at.astimezone(settings.zone).date(),
        )
        for r in await store.list_obligations()
    ]


def channels_of(s: Obligation, settings: Settings) -> tuple[str, ...]:
    return tuple(s.channels or settings.accounts_for(s.kind))


def _matches(s: Obligation, d: Disclosure) -> bool:
    return d.kind == s.kind and (s.title_contains is None or s.title_contains in d.title)


def _state(
    due: date | None, met_on: date | None, today: date, problem: str | None
) -> tuple[str, int | None, str | None]:
    if due is None:
        return "unknown", None, problem
    if met_on is not None:
        if met_on <= due:
            return "met", 0, None
        late, why = periods.days_late(due, met_on)
        return "met_late", late, why
    if today < due:
        return "pending", None, None
    if today == due:
        return "due_today", 0, None
    late, why = periods.days_late(due, today)
    return "overdue", late, why


def period_statuses(
    name: str,
    s: Obligation,
    channels: Sequence[str],
    history: Sequence[Period],
    found: Iterable[Disclosure],
    today: date,
    zone: ZoneInfo,
) -> list[Status]:
    """A recurring obligation over consecutive data periods (oldest first).

    Each post meets one period: the oldest one still open whose window had started when it was
    posted. A list posted late, or for a period skipped, is counted where it belongs instead
    of twice; a post before a period's window opened never counts for it."""
    posts: dict[str, list[tuple[datetime, int]]] = {c: [] for c in channels}
    for d in found:
        if d.posted_at is not None and d.account in posts and _matches(s, d):
            posts[d.account].append((d.posted_at, d.notice_id))
    for times in posts.values():
        times.sort()
    taken = dict.fromkeys(channels, 0)
    out: list[Status] = []
    for period in history:
        got: dict[str, tuple[datetime, int]] = {}
        for c in channels:
            times = posts[c]
            while taken[c] < len(times) and times[taken[c]][0].astimezone(zone).date() < (
                period.window_start
            ):
                taken[c] += 1
            if taken[c] < len(times):
                got[c] = times[taken[c]]
                taken[c] += 1
        complete = bool(channels) and len(got) == len(channels)
        last = max(got.values()) if complete else None
        met_at = last[0] if last else None
        due, problem = periods.due_date(s, period.end)
        met_on = met_at.astimezone(zone).date() if met_at else None
        state, late, why = _state(due, met_on, today, problem)
        window = (period.window_start, period.window_end)
        out.append(
            Status(
                name,
                s,
                tuple(channels),
                period.key,
                period.label,
                window,
                due,
                state,
                late,
                met_at,
                last[1] if last else None,
                why,
            )
        )
    return out


def period_status(
    name: str,
    s: Obligation,
    channels: Sequence[str],
    period: Period,
    found: Iterable[Disclosure],
    today: date,
    zone: ZoneInfo,
) -> Status:
    """One recurring obligation in one data period (as if no earlier one were open)."""
    return period_statuses(name, s, channels, [period], found, today, zone)[0]


def history(every: str, first: date, last: date) -> list[Period]:
    """The data periods whose window starts between ``first`` and ``last``, oldest first."""
    found: list[Period] = []
    period = periods.period_of(every, last)
    while period.window_start > last:
        period = periods.previous(period)
    while period.window_start >= first:
        found.append(period)
        period = periods.previous(period)
    return found[::-1]


def notice_statuses(
    name: str,
    s: Obligation,
    channels: Sequence[str],
    found: Iterable[Disclosure],
    today: date,
    zone: ZoneInfo,
) -> list[Status]:
    """One per notice carrying the obligation's date field, oldest first."""
    by_notice: dict[int, list[Disclosure]] = {}
    for d in found:
        if _matches(s, d):
            by_notice.setdefault(d.notice_id, []).append(d)
    out: list[Status] = []
    for notice_id, items in sorted(by_notice.items()):
        raw = items[0].fields.get(s.date_field or "")
        try:
            start = date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            start = None
        if start is None or start < today - timedelta(days=NOTICE_LOOKBACK):
            continue
        posted = {d.account: d.posted_at for d in items if d.posted_at is not None}
        met_at = (
            max(posted[c] for c in channels)
            if channels and all(c in posted for c in channels)
            else None
        )
        due, problem = periods.due_date(s, start)
        met_on = met_at.astimezone(zone).date() if met_at else None
        state, late, why = _state(due, met_on, today, problem)
        label = f"{items[0].title}（{start.month}月{start.day}日作出）"
        out.append(
            Status(
                name,
                s,
                tuple(channels),
                f"notice-{notice_id}",
                label,
                None,
                due,
                state,
                late,
                met_at,
                notice_id,
                why,
            )
        )
    return out


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


async def _disclosures(
    store: Store, loaded: Sequence[Loaded], since: date, zone: ZoneInfo
) -> list[Disclosure]:
    kinds = sorted({o.spec.kind for o in loaded})
    return await store.disclosures(kinds, midnight(since, zone))


HISTORY_DAYS = 400  # how far back open periods are looked for


def _open(row: Status) -> bool:
    """An older occurrence still owed and not met."""
    return row.state in ("overdue", "unknown")


def _owed(o: Loaded, span: list[Period], keep_last: bool = True) -> list[Period]:
    """The periods owed since the obligation was recorded (due then or later, or due date
    unknown); with ``keep_last``, the current period whatever its due date. Posts are only
    matched against these, so a period nobody owed cannot take a later period's post."""
    owed = [
        p for p in span if (due := periods.due_date(o.spec, p.end)[0]) is None or due >= o.created
    ]
    if keep_last and span and (not owed or owed[-1] != span[-1]):
        owed.append(span[-1])
    return owed


async def current(
    store: Store,
    settings: Settings,
    today: date,
    loaded: Sequence[Loaded] | None = None,
    *,
    strict: bool = True,
) -> list[Status]:
    """Every obligation in its current period, plus earlier periods still open (overdue
    since the obligation was recorded); per-notice ones: each recent or open item."""
    zone = settings.zone
    loaded = list(loaded) if loaded is not None else await load(store, settings, strict=strict)
    since = today - timedelta(days=HISTORY_DAYS)
    found = await _disclosures(store, loaded, since, zone)
    rows: list[Status] = []
    for o in loaded:
        channels = channels_of(o.spec, settings)
        if o.spec.every == "notice":
            for row in notice_statuses(o.name, o.spec, channels, found, today, zone):
                recent = row.due is not None and row.due >= today - timedelta(days=RECENT_DAYS)
                if row.state not in ("met", "met_late") or recent:
                    rows.append(row)
            continue
        span = _owed(o, history(o.spec.every, since, today))
        past = period_statuses(o.name, o.spec, channels, span, found, today, zone)
        rows += [r for r in past[:-1] if _open(r)] + past[-1:]
    return rows


async def due_in(
    store: Store, settings: Settings, first: date, last: date, today: date, *, strict: bool = True
) -> list[Status]:
    """Every obligation occurrence due between ``first`` and ``last`` (inclusive), as of
    ``today``; occurrences whose due date cannot be computed are included as ``unknown``
    while their window overlaps the range."""
    zone = settings.zone
    loaded = await load(store, settings, strict=strict)
    since = first - timedelta(days=HISTORY_DAYS)
    found = await _disclosures(store, loaded, since, zone)
    rows: list[Status] = []
    for o in loaded:
        channels = channels_of(o.spec, settings)
        if o.spec.every == "notice":
            for row in notice_statuses(o.name, o.spec, channels, found, today, zone):
                if row.due is not None and first <= row.due <= last:
                    rows.append(row)
            continue
        span = _owed(o, history(o.spec.every, since, max(last, today)), keep_last=False)
        for row in period_statuses(o.name, o.spec, channels, span, found, today, zone):
            if row.due is not None:
                if first <= row.due <= last:
                    rows.append(row)
            elif row.window and row.window[0] <= last and row.window[1] >= first:
                rows.append(row)
    return rows
