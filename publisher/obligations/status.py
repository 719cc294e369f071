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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from publisher.obligations import periods, spec
from publisher.obligations.periods import Period
from publisher.obligations.spec import Obligation
from publisher.settings import Settings
from publisher.store import Store
from publisher.store.obligations import Disclosure

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


async def load(store: Store, settings: Settings, actor: str = "obligations_file") -> list[Loaded]:
    """The obligations in the store, after seeding the ones new in the file."""
    found = spec.read_file(settings)
    await store.seed_obligations({n: spec.dump(s) for n, s in found.items()}, actor)
    return [
        Loaded(r.name, spec.Obligation.model_validate(r.spec))
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


def period_status(
    name: str,
    s: Obligation,
    channels: Sequence[str],
    period: Period,
    found: Iterable[Disclosure],
    today: date,
    zone: ZoneInfo,
) -> Status:
    """One recurring obligation in one data period."""
    first: dict[str, datetime] = {}
    notice_of: dict[str, int] = {}
    for d in found:
        if d.posted_at is None or d.account not in channels or not _matches(s, d):
            continue
        day = d.posted_at.astimezone(zone).date()
        if period.window_start <= day <= period.window_end and (
            d.account not in first or d.posted_at < first[d.account]
        ):
            first[d.account] = d.posted_at
            notice_of[d.account] = d.notice_id
    met_at = max(first.values()) if channels and len(first) == len(channels) else None
    due, problem = periods.due_date(s, period.end)
    met_on = met_at.astimezone(zone).date() if met_at else None
    state, late, why = _state(due, met_on, today, problem)
    last = max(first, key=lambda a: first[a]) if met_at else None
    return Status(
        name,
        s,
        tuple(channels),
        period.key,
        period.label,
        (period.window_start, period.window_end),
        due,
        state,
        late,
        met_at,
        notice_of[last] if last else None,
        why,
    )


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


async def current(
    store: Store, settings: Settings, today: date, loaded: Sequence[Loaded] | None = None
) -> list[Status]:
    """Every obligation in its current period (per-notice ones: each recent or open item)."""
    zone = settings.zone
    loaded = list(loaded) if loaded is not None else await load(store, settings)
    since = today - timedelta(days=NOTICE_LOOKBACK)
    found = await _disclosures(store, loaded, since, zone)
    rows: list[Status] = []
    for o in loaded:
        channels = channels_of(o.spec, settings)
        if o.spec.every == "notice":
            for row in notice_statuses(o.name, o.spec, channels, found, today, zone):
                recent = row.due is not None and row.due >= today - timedelta(days=RECENT_DAYS)
                if row.state not in ("met", "met_late") or recent:
                    rows.append(row)
        else:
            period = periods.current(o.spec.every, today)
            rows.append(period_status(o.name, o.spec, channels, period, found, today, zone))
    return rows


async def due_in(
    store: Store, settings: Settings, first: date, last: date, today: date
) -> list[Status]:
    """Every obligation occurrence due between ``first`` and ``last`` (inclusive), as of
    ``today``; occurrences whose due date cannot be computed are included as ``unknown``."""
    zone = settings.zone
    loaded = await load(store, settings)
    since = first - timedelta(days=NOTICE_LOOKBACK)
    found = await _disclosures(store, loaded, since, zone)
    rows: list[Status] = []
    for o in loaded:
        channels = channels_of(o.spec, settings)
        if o.spec.every == "notice":
            for row in notice_statuses(o.name, o.spec, channels, found, today, zone):
                if row.due is not None and first <= row.due <= last:
                    rows.append(row)
            continue
        for period in periods.periods_due_in(o.spec.every, first, last, o.spec):
            rows.append(period_status(o.name, o.spec, channels, period, found, today, zone))
    return rows
