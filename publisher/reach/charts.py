"""The reach charts as SVG, drawn on the server: reach over time per channel account, the top
notices, by kind and by month. For the console, the API (``GET /api/reports/chart``) and
``publisher report reach --format svg``.

The API of this module, for callers:

* :func:`reach_chart` — ``await reach_chart(store, "time"|"top"|"kind"|"month", start, end,
  zone, now, metric=None, limit=10)`` returns the SVG text (runs the report, then draws it);
* :func:`draw` — the same from a :class:`~publisher.reach.report.ReachReport` already in hand;
* :func:`chart_data` — the numbers and labels without drawing (a :class:`ChartData`).

Figures follow the report: each post's latest sample per metric, summed per group and channel
account, never across accounts. Each account is drawn with one metric: ``metric`` if given,
else its first metric in :data:`~publisher.reach.report.METRICS` order that has a figure
(阅读, then 浏览, 点击, ...), named in its legend line. No figure is "—", never a zero bar.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from publisher import labels
from publisher.reach.report import (
    METRICS,
    TIMELINE_DAYS,
    ReachReport,
    ReportInputError,
    Row,
    days_of,
    months_of,
    reach_report,
    reach_timeline,
)
from publisher.reach.svg import ChartData, Series, bar_ranking, column_chart, line_chart
from publisher.store.base import ReachStore

CHARTS = ("time", "top", "kind", "month")
CHART_TITLES = {
    "time": "各渠道触达趋势",
    "top": "触达最多的通知",
    "kind": "按类别统计触达",
    "month": "按月份统计触达",
}
REPORT_BY = {"time": "month", "top": "notice", "kind": "kind", "month": "month"}
TOP_LIMIT = 10


def check_chart(chart: str, metric: str | None) -> None:
    if chart not in CHARTS:
        raise ReportInputError(f"不支持的图表 {chart!r} (可用: {'、'.join(CHARTS)})")
    if metric is not None and metric not in METRICS:
        raise ReportInputError(f"不支持的指标 {metric!r} (可用: {'、'.join(METRICS)})")


async def reach_chart(
    store: ReachStore,
    chart: str,
    start: date,
    end: date,
    zone: ZoneInfo,
    now: datetime,
    metric: str | None = None,
    limit: int = TOP_LIMIT,
) -> str:
    """The chart ``chart`` of the posts that went out from ``start`` to ``end`` as SVG text.
    Raises :class:`ReportInputError` (one Chinese line) for a bad chart, metric or period."""
    check_chart(chart, metric)
    if chart == "time":
        report = await reach_timeline(store, start, end, zone, now)
    else:
        report = await reach_report(store, start, end, REPORT_BY[chart], zone, now)
    return draw(report, chart, metric, limit)


def draw(report: ReachReport, chart: str, metric: str | None = None, limit: int = TOP_LIMIT) -> str:
    data = chart_data(report, chart, metric, limit)
    if chart == "top":
        return bar_ranking(data)
    return line_chart(data) if chart == "time" else column_chart(data)


def _headline(rows: list[Row], metric: str | None) -> dict[str, str]:
    """Each account's metric: the one asked for, or its first with any figure (else 阅读)."""
    out: dict[str, str] = {}
    for account in dict.fromkeys(r.account for r in rows):
        if metric is not None:
            out[account] = metric
            continue
        held = {
            f.metric for r in rows if r.account == account for f in r.figures if f.value is not None
        }
        out[account] = next((m for m in METRICS if m in held), METRICS[0])
    return out


def _value(row: Row, metric: str) -> int | None:
    return next(f.value for f in row.figures if f.metric == metric)


def _legend(row: Row, metric: str) -> str:
    return f"{row.account}（{row.channel_label}·{labels.metric(metric)}）"


def _as_of(report: ReachReport) -> str:
    times = [r.as_of for r in report.rows if r.as_of is not None]
    return f"数据截至 {labels.when(min(times), report.zone)}" if times else "暂无采样数据"


def chart_data(
    report: ReachReport, chart: str, metric: str | None = None, limit: int = TOP_LIMIT
) -> ChartData:
    """What ``chart`` shows of ``report``: categories, one series per account (top: one)."""
    check_chart(chart, metric)
    rows = list(report.rows)
    period = f"{report.start} 至 {report.end}"
    note = f"按发布时间统计 {period} 发布的通知，每条发布取各指标的最新采样；{_as_of(report)}。"
    title = f"{CHART_TITLES[chart]}（{period}）"
    if chart == "top":
        return _top(rows, metric or METRICS[0], limit, title, note)
    headline = _headline(rows, metric)

    def key(row: Row) -> str:
        return row.kind_label if chart == "kind" else row.key

    keys = list(dict.fromkeys(key(r) for r in rows))
    if chart in ("time", "month") and rows:  # every day or month of the period, in order
        daily = chart == "time" and (report.end - report.start).days < TIMELINE_DAYS
        buckets = (days_of if daily else months_of)(report.start, report.end, report.zone)
        keys = [k for k, _ in buckets]
    series = []
    for account, chosen in headline.items():
        mine = {key(r): r for r in rows if r.account == account}
        first = next(iter(mine.values()))
        values = tuple(_value(mine[k], chosen) if k in mine else None for k in keys)
        series.append(Series(_legend(first, chosen), values))
    categories = tuple(k[5:] if len(k) == 10 else k for k in keys)  # days as "MM-DD"
    missing = [s.name for s in series if all(v is None for v in s.values)]
    if missing:
        note += f"“—”表示没有这项数据：{'、'.join(missing)}。"
    return ChartData(title, note, categories, tuple(series))


def _top(rows: list[Row], metric: str, limit: int, title: str, note: str) -> ChartData:
    """The notices with the largest figure of ``metric`` on one account (never summed across
    accounts): each bar is one notice on one account."""
    ranked = sorted(
        ((v, r) for r in rows if (v := _value(r, metric)) is not None),
        key=lambda pair: (-pair[0], int(pair[1].key) if pair[1].key.isdigit() else 0),
    )[: max(1, limit)]
    names = tuple(f"{_short(r.title or r.key)} · {r.account}" for _, r in ranked)
    label = labels.metric(metric)
    series = Series(f"指标：{label}（每条为一个渠道账号上的一条通知）", tuple(v for v, _ in ranked))
    return ChartData(f"{title} · {label}", note, names, (series,))


def _short(text: str, size: int = 16) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
