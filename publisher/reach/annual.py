"""The annual (or half-yearly) open-government report: the figures, gathered from the store.

What a bureau publishes under the 2019 《中华人民共和国政府信息公开条例》 in the national format
of 国办公开办函〔2021〕30号. This module gathers what the product knows for the period; the text
(:mod:`publisher.reach.annual_text`) and the files (:mod:`publisher.reach.annual_files`: md,
html, xlsx, docx) are built from an :class:`AnnualReport`.

* 行政许可 / 行政处罚 decisions: the rows of the ``approval_list`` / ``penalty_disclosure``
  notices first published in the period (each row one decision); a list without a table is
  counted as a batch and named, but adds no decisions.
* notices per kind, warnings per colour, disclosure batches: notices first posted in the period.
* posts and reads per channel: the reach report by channel account (each post's latest sample
  per metric), summed per channel type (one type's figures mean the same thing).
* obligations met on time / late / missed: :func:`obligation_counts`, the occurrences the
  obligations feature (:func:`publisher.obligations.status.due_in`) finds due in the period;
  ``None`` (shown "（待日程与义务功能提供）") when the caller gives no settings to read them with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from publisher.obligations.status import due_in
from publisher.reach.report import CHANNEL_TYPES, METRICS, ReportInputError, reach_report
from publisher.settings import Settings
from publisher.store.base import Store

HALVES = {"H1": "上半年", "H2": "下半年"}
COLOURS = ("红色", "橙色", "黄色", "蓝色")
LIST_KINDS = ("approval_list", "penalty_disclosure")
# Per channel type, the metrics a sentence may name as its reach, best first.
REACH_METRICS = ("reads", "views", "clicks")


@dataclass(frozen=True)
class Period:
    year: int
    half: str | None  # "H1", "H2" or None (the whole year)
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        """``2026年`` or ``2026年上半年``."""
        return f"{self.year}年" + (HALVES[self.half] if self.half else "")

    @property
    def short(self) -> str:
        """How a sentence opens on the period: ``全年`` or ``上半年``."""
        return HALVES[self.half] if self.half else "全年"


def annual_period(year: int, half: str | None) -> Period:
    if not 2000 <= year <= 2100:
        raise ReportInputError(f"年度应在 2000 至 2100 之间，收到 {year}")
    if half is not None and half not in HALVES:
        raise ReportInputError(f"--half 应为 H1 或 H2，收到 {half!r}")
    start = date(year, 7, 1) if half == "H2" else date(year, 1, 1)
    end = date(year, 6, 30) if half == "H1" else date(year, 12, 31)
    return Period(year, half, start, end)


@dataclass(frozen=True)
class Batch:
    """One published list (行政许可 or 行政处罚): a batch of decisions."""

    notice_id: int
    kind: str
    title: str
    day: date  # local day it was first posted
    rows: int | None  # its table's rows (decisions); None: no table


@dataclass(frozen=True)
class ChannelFigure:
    """Posts and reach of one channel type (all its accounts) in the period."""

    channel: str  # the channel type code: weibo, wechat, portal, ...
    accounts: tuple[str, ...]
    posts: int
    figures: Mapping[str, int]  # metric -> sum of each post's latest sample; absent: no figure
    as_of: datetime | None  # the oldest among the figures summed

    @property
    def reach(self) -> tuple[str, int] | None:
        """The figure a sentence states as its reach (阅读, else 浏览, else 点击)."""
        return next(((m, self.figures[m]) for m in REACH_METRICS if m in self.figures), None)


@dataclass(frozen=True)
class Obligations:
    on_time: int
    late: int
    missed: int


@dataclass(frozen=True)
class AnnualReport:
    organisation: str
    period: Period
    zone: ZoneInfo
    generated_at: datetime
    by_kind: Mapping[str, int]  # kind -> notices first published in the period
    warnings_by_colour: Mapping[str, int]  # 红色 橙色 黄色 蓝色, and "" for none given
    batches: tuple[Batch, ...]
    channels: tuple[ChannelFigure, ...]
    obligations: Obligations | None  # None: the obligations feature is not there yet

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def decisions(self, kind: str) -> int:
        """Decisions (table rows) of the period's lists of ``kind``."""
        return sum(b.rows or 0 for b in self.batches if b.kind == kind)

    def batches_of(self, kind: str) -> list[Batch]:
        return [b for b in self.batches if b.kind == kind]

    @property
    def as_of(self) -> datetime | None:
        times = [c.as_of for c in self.channels if c.as_of is not None]
        return min(times) if times else None


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


async def annual_report(
    store: Store,
    organisation: str,
    period: Period,
    zone: ZoneInfo,
    now: datetime,
    settings: Settings | None = None,
) -> AnnualReport:
    """Gather the report of ``period``: what the product knows; the rest is left blank. With
    ``settings`` (the CLI, the API and the console give theirs) the obligations are counted."""
    begin, stop = _midnight(period.start, zone), _midnight(period.end + timedelta(days=1), zone)
    published = await store.published_notices(begin, stop)
    by_kind: dict[str, int] = {}
    colours: dict[str, int] = {}
    batches = []
    for notice in published:
        by_kind[notice.kind] = by_kind.get(notice.kind, 0) + 1
        if notice.kind == "weather_warning":
            colour = notice.colour if notice.colour in COLOURS else ""
            colours[colour] = colours.get(colour, 0) + 1
        if notice.kind in LIST_KINDS:
            day = notice.first_posted_at.astimezone(zone).date()
            batches.append(
                Batch(notice.notice_id, notice.kind, notice.title, day, notice.table_rows)
            )
    reach = await reach_report(store, period.start, period.end, "channel", zone, now)
    return AnnualReport(
        organisation=organisation,
        period=period,
        zone=zone,
        generated_at=now,
        by_kind=by_kind,
        warnings_by_colour=colours,
        batches=tuple(batches),
        channels=_per_channel(reach.rows),
        obligations=None
        if settings is None
        else await obligation_counts(store, settings, period, now),
    )


async def settings_report(
    store: Store, settings: Settings, period: Period, now: datetime
) -> AnnualReport:
    """The report as the CLI, the API and the console make it: the organisation and zone of
    ``settings``, with the obligations counted."""
    return await annual_report(
        store, settings.organization.name, period, settings.zone, now, settings
    )


def _per_channel(rows: Any) -> tuple[ChannelFigure, ...]:
    """The report's rows (one per account) summed per channel type, same metric with same."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = out.setdefault(
            row.channel, {"accounts": [], "posts": 0, "figures": {}, "as_of": []}
        )
        entry["accounts"].append(row.account)
        entry["posts"] += row.posts
        for figure in row.figures:
            if figure.value is not None:
                entry["figures"][figure.metric] = (
                    entry["figures"].get(figure.metric, 0) + figure.value
                )
                entry["as_of"].append(figure.as_of)
    order = list(CHANNEL_TYPES)  # the portal first, then Weibo, WeChat, the OA channels
    ranked = sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    return tuple(
        ChannelFigure(
            channel,
            tuple(e["accounts"]),
            e["posts"],
            {m: e["figures"][m] for m in METRICS if m in e["figures"]},
            min(e["as_of"]) if e["as_of"] else None,
        )
        for channel, e in ranked
    )


async def obligation_counts(
    store: Store, settings: Settings, period: Period, now: datetime
) -> Obligations:
    """The obligations due in ``period``, as of ``now``: met on time, met late, and not met by
    their due date and still not (missed). Occurrences not yet due, or whose due date cannot be
    worked out, are not counted; nor are those due before the obligation was recorded."""
    today = now.astimezone(settings.zone).date()
    found = await due_in(store, settings, period.start, period.end, today, strict=False)
    states = Counter(row.state for row in found)
    return Obligations(states["met"], states["met_late"], states["overdue"])
