"""The reach report: how far the notices of a period went, per notice, channel, kind or month.

Each post counts with its **latest** sample of each metric (never a sum of its samples), summed
over the posts of a group on one channel account; channels are never added together, since a
Weibo read and a WeChat read are not the same thing. Every figure carries its metric and the
time it is as of (the oldest among the latest samples summed into it); a metric no post of the
group has a sample of has no figure (``None``, shown "—"), never 0.

The period is local calendar days, ``start`` to ``end`` inclusive, and picks posts by when they
went out; a post's figures are its newest, whenever they were observed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import repeat
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from publisher import labels
from publisher.bulk import collector_paused
from publisher.errors import InputError
from publisher.render import KIND_LABELS
from publisher.store.base import REACH_GROUPINGS, REACH_METRICS, ReachGroup, ReachStore

# The metrics a report shows, in this order (阅读, 浏览, 点击, 点赞, 转发, 评论, 分享).
METRICS = REACH_METRICS
GROUPINGS = REACH_GROUPINGS
GROUP_WORDS = {
    "notice": "通知",
    "channel": "渠道",
    "kind": "类别",
    "department": "科室",
    "month": "月份",
}
NO_DEPARTMENT = "（未注明科室）"  # by department: a submitter with no department, or no user
CHANNEL_TYPES = {
    "portal": "门户网站",
    "weibo": "微博",
    "wechat": "微信公众号",
    "wecom_app": "企业微信应用",
    "wecom_robot": "企业微信群机器人",
    "dingtalk": "钉钉",
    "feishu": "飞书",
    "oa_webhook": "OA 接口",
    "webhook": "Webhook",
}
MAX_DAYS = 3660  # ten years: a longer period is a typo


class ReportInputError(InputError):
    """A report was asked for with a bad period or grouping."""


@dataclass(frozen=True)
class Figure:
    metric: str
    value: int | None  # None: no figure (the channel has no such number, or none yet)
    as_of: datetime | None

    @property
    def label(self) -> str:
        return labels.metric(self.metric)


At = str | datetime | None  # a figure's as-of time as the store gives it (see utc)


def utc(raw: At) -> datetime | None:
    """A figure's as-of time as the store gives it (aware, or naive ISO text in UTC)."""
    if raw is None:
        return None
    at = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class Row(NamedTuple):
    """One row: a group's posts on one channel account. A flat tuple, built cheaply (a year
    by notice is 400,000 rows, each the database driver's own tuple); its :attr:`values`,
    :attr:`times` and :attr:`figures` are made when asked for. Per metric (METRICS, in
    order): the summed latest figure, None for no figure (the channel has none yet), and the
    oldest as-of among them."""

    notice_id: int | None  # by notice: the notice (``key`` is its text); otherwise None
    key: str  # notice id, kind code, department, "" (by channel), "YYYY-MM" or "YYYY-MM-DD"
    account: str
    channel: str
    posts: int
    title: str | None
    kind: str | None
    reads: int | None
    views: int | None
    clicks: int | None
    likes: int | None
    reposts: int | None
    comments: int | None
    shares: int | None
    reads_at: At
    views_at: At
    clicks_at: At
    likes_at: At
    reposts_at: At
    comments_at: At
    shares_at: At

    @classmethod
    def of(
        cls,
        key: str,
        account: str,
        channel: str,
        posts: int,
        title: str | None,
        kind: str | None,
        values: Sequence[int | None],
        times: Sequence[At],
        notice_id: int | None = None,
    ) -> Row:
        """A row from its figures' values and times, each per METRICS."""
        return cls._make((notice_id, key, account, channel, posts, title, kind, *values, *times))

    @property
    def values(self) -> tuple[int | None, ...]:
        """The figures' numbers, per METRICS."""
        return self[7:14]  # the layout is checked below

    @property
    def times(self) -> tuple[At, ...]:
        """The figures' as-of times, per METRICS."""
        return self[14:21]

    @property
    def figures(self) -> tuple[Figure, ...]:
        """One per METRICS, in order."""
        return tuple(
            Figure(m, v, utc(t)) for m, v, t in zip(METRICS, self.values, self.times, strict=True)
        )

    @property
    def as_of_raw(self) -> At:
        times: Any = filter(None, self.times)  # all text (SQLite) or all datetimes
        return min(times, default=None)  # ISO text sorts as the times do

    @property
    def as_of(self) -> datetime | None:
        """The oldest as-of among the row's figures: every figure is at least this fresh."""
        return utc(self.as_of_raw)

    @property
    def channel_label(self) -> str:
        return CHANNEL_TYPES.get(self.channel, self.channel)

    @property
    def department_label(self) -> str:
        return self.key or NO_DEPARTMENT

    @property
    def kind_label(self) -> str:
        code = self.kind if self.kind is not None else self.key
        return KIND_LABELS.get(code, code)


@dataclass(frozen=True, repr=False)
class ReachReport:
    by: str
    start: date
    end: date
    zone: ZoneInfo
    generated_at: datetime
    rows: tuple[Row, ...]

    def __repr__(self) -> str:  # not 400,000 rows in a log line or a traceback
        return f"ReachReport(by={self.by!r}, {self.start}..{self.end}, {len(self.rows)} rows)"


def parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ReportInputError(f"{name} 应为日期 YYYY-MM-DD，收到 {text!r}") from None


def period(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The days asked for; by default from the first of the end's month to the end (today)."""
    last = parse_day(end, "结束日期") if end else today
    first = parse_day(start, "开始日期") if start else last.replace(day=1)
    return first, last


def check_period(start: date, end: date, by: str) -> None:
    if by not in GROUPINGS:
        known = "、".join(GROUPINGS)
        raise ReportInputError(f"不支持按 {by!r} 分组 (可用: {known})")
    if end < start:
        raise ReportInputError(f"结束日期 {end} 早于开始日期 {start}")
    if (end - start).days > MAX_DAYS:
        raise ReportInputError(f"统计期间过长 (最多 {MAX_DAYS} 天)")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def months_of(start: date, end: date, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    """Each month the period touches, with when it starts (the first: the period's start)."""
    out = [(f"{start.year:04d}-{start.month:02d}", _midnight(start, zone))]
    year, month = start.year, start.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        first = date(year, month, 1)
        if first > end:
            return out
        out.append((f"{year:04d}-{month:02d}", _midnight(first, zone)))


def days_of(start: date, end: date, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    """Each day of the period ("YYYY-MM-DD") with when it starts, local time."""
    return [
        ((day := start + timedelta(days=n)).isoformat(), _midnight(day, zone))
        for n in range((end - start).days + 1)
    ]


TIMELINE_DAYS = 62  # a timeline of a longer period goes by month, not by day


async def reach_timeline(
    store: ReachStore, start: date, end: date, zone: ZoneInfo, now: datetime
) -> ReachReport:
    """The report by day (a period of at most :data:`TIMELINE_DAYS` days; keys "YYYY-MM-DD")
    or else by month ("YYYY-MM"), with a row for each bucket and account that posted: what the
    posts that went out in each bucket reached. ``by`` is "month" either way."""
    check_period(start, end, "month")
    daily = (end - start).days < TIMELINE_DAYS
    buckets = days_of(start, end, zone) if daily else months_of(start, end, zone)
    groups = await store.reach_groups(
        _midnight(start, zone), _midnight(end + timedelta(days=1), zone), "month", buckets
    )
    rows = sorted((_row(g) for g in groups), key=_order)
    return ReachReport("month", start, end, zone, now, tuple(rows))


async def reach_report(
    store: ReachStore, start: date, end: date, by: str, zone: ZoneInfo, now: datetime
) -> ReachReport:
    """The report of posts that went out from ``start`` to ``end`` (local days, inclusive)."""
    check_period(start, end, by)
    posted_from, posted_before = _midnight(start, zone), _midnight(end + timedelta(days=1), zone)
    if by == "notice":  # a year is 400,000 rows: lean tuples, in order of notice and account
        # The garbage collector is held off while the rows are fetched and made (process-wide:
        # in the store's thread too), and counts them old afterwards (see publisher.bulk).
        with collector_paused():
            found = await store.reach_notice_rows(posted_from, posted_before)
            rows = tuple(map(tuple.__new__, repeat(Row), found))  # Row._make, in C
            del found
        return ReachReport(by, start, end, zone, now, rows)
    months = months_of(start, end, zone) if by == "month" else []
    groups = await store.reach_groups(posted_from, posted_before, by, months)
    ordered = sorted((_row(g) for g in groups), key=_order)
    return ReachReport(by, start, end, zone, now, tuple(ordered))


def _row(group: ReachGroup) -> Row:
    found = [group.figures.get(m) for m in METRICS]
    values = [f[0] if f else None for f in found]
    times = [f[1] if f else None for f in found]
    g = group
    return Row.of(g.key, g.account, g.channel, g.posts, g.title, g.kind, values, times)


def _order(row: Row) -> tuple[int, str, str]:
    number = int(row.key) if row.key.isdigit() else 0
    return (number, row.key, row.account)


if Row._fields[7:] != (*METRICS, *(f"{m}_at" for m in METRICS)):  # the store's layout too
    raise RuntimeError("Row's figures are not METRICS in order")
