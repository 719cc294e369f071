"""A small SVG writer and the three chart shapes the reach charts use: grouped columns, lines and
ranked horizontal bars. Pure functions of their data, no JavaScript, no external resources.

Each drawing is an ``<svg>`` with a ``viewBox`` and no fixed size, so it scales to its box
(readable at 390 px wide: the canvas is 480 units, text 12-16 units); it opens with ``<title>``
and ``<desc>`` (``role="img"``, ``aria-labelledby``), and every bar or point carries its own
``<title>`` (category, series, value). A missing value (no figure) is drawn as "—", never as a
zero-height bar. Colours are the Okabe-Ito palette, told apart by colour-blind readers too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

FONTS = (
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Hiragino Sans GB', "
    "'Microsoft YaHei', 'WenQuanYi Micro Hei', 'SimHei', sans-serif"
)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
WIDTH = 480
NONE = "—"


@dataclass(frozen=True)
class Series:
    name: str  # the legend text, e.g. "weibo（微博·阅读）"
    values: tuple[int | None, ...]  # one per category; None: no figure


@dataclass(frozen=True)
class ChartData:
    title: str
    desc: str  # what is drawn and as of when, in one or two sentences
    categories: tuple[str, ...]
    series: tuple[Series, ...]


def number(value: int | None) -> str:
    """A figure as an axis or bar label: 1,834 -> "1834", 23,000 -> "2.3万", None -> "—"."""
    if value is None:
        return NONE
    if abs(value) >= 10_000:
        return f"{value / 10_000:.1f}".rstrip("0").rstrip(".") + "万"
    return str(value)


class Canvas:
    """Elements in drawing order; :meth:`render` wraps them in an accessible ``<svg>``."""

    def __init__(self, title: str, desc: str) -> None:
        self.title, self.desc = title, desc
        self.parts: list[str] = []

    def add(self, tag: str, text: str = "", *, tip: str = "", **attrs: object) -> None:
        self.emit(tag, text, tip, attrs)

    def emit(self, tag: str, text: str, tip: str, attrs: dict[str, object]) -> None:
        names = " ".join(
            f"{k.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for k, v in attrs.items()
        )
        inner = (f"<title>{escape(tip)}</title>" if tip else "") + (escape(text) if text else "")
        self.parts.append(f"<{tag} {names}>{inner}</{tag}>" if inner else f"<{tag} {names}/>")

    def text(self, x: float, y: float, text: str, size: int = 12, **attrs: object) -> None:
        place = {"x": f"{x:.1f}", "y": f"{y:.1f}", "font_size": size, "fill": "#222"}
        self.emit("text", text, "", {**place, **attrs})

    def render(self, height: float) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {math.ceil(height)}" '
            f'role="img" aria-labelledby="chart-title chart-desc" '
            f"font-family={quoteattr(FONTS)}>"
            f'<title id="chart-title">{escape(self.title)}</title>'
            f'<desc id="chart-desc">{escape(self.desc)}</desc>'
            f'<rect x="0" y="0" width="{WIDTH}" height="{math.ceil(height)}" fill="#fff"/>'
        )
        return head + "".join(self.parts) + "</svg>\n"


def _nice_max(values: Sequence[int | None]) -> int:
    """The axis top: four equal whole steps of 1, 2, 2.5 or 5 times a power of ten."""
    top = max([v for v in values if v is not None] + [0])
    quarter = max(top / 4, 1)
    power = 10 ** math.floor(math.log10(quarter))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= quarter and step == int(step):
            return int(step) * 4
    return int(10 * power) * 4  # pragma: no cover - factor 10 always fits


def _frame(chart: ChartData, canvas: Canvas, top: int) -> tuple[float, float, float, float, int]:
    """Title, subtitle, gridlines and the y axis; returns the plot box and the axis maximum."""
    canvas.text(12, 24, chart.title, size=16, font_weight="bold")
    left, right, bottom = 60.0, WIDTH - 12.0, top + 200.0
    peak = _nice_max([v for s in chart.series for v in s.values])
    for i in range(5):
        y = bottom - (bottom - top) * i / 4
        canvas.add("line", x1=left, y1=f"{y:.1f}", x2=right, y2=f"{y:.1f}", stroke="#ddd")
        canvas.text(left - 6, y + 4, number(round(peak * i / 4)), text_anchor="end")
    return left, right, float(top), bottom, peak


def _categories(chart: ChartData, canvas: Canvas, left: float, slot: float, y: float) -> None:
    every = max(1, math.ceil(len(chart.categories) * 44 / (WIDTH - left)))  # labels ~44 wide
    for i, name in enumerate(chart.categories):
        if i % every == 0:
            canvas.text(left + slot * (i + 0.5), y, name, text_anchor="middle")


def _legend(chart: ChartData, canvas: Canvas, y: float) -> float:
    for i, series in enumerate(chart.series):
        colour = PALETTE[i % len(PALETTE)]
        canvas.add("rect", x=12, y=f"{y - 10:.1f}", width=12, height=12, fill=colour)
        canvas.text(30, y, series.name)
        y += 20
    return y


def _empty(chart: ChartData) -> str:
    canvas = Canvas(chart.title, chart.desc)
    canvas.text(12, 24, chart.title, size=16, font_weight="bold")
    canvas.text(12, 56, "该期间没有数据", size=14)
    return canvas.render(72)


def column_chart(chart: ChartData) -> str:
    """Grouped columns: one group per category, one column per series."""
    if not chart.categories or not chart.series:
        return _empty(chart)
    canvas = Canvas(chart.title, chart.desc)
    left, right, top, bottom, peak = _frame(chart, canvas, 48)
    slot = (right - left) / len(chart.categories)
    bar = slot * 0.8 / len(chart.series)
    for s, series in enumerate(chart.series):
        colour = PALETTE[s % len(PALETTE)]
        for c, value in enumerate(series.values):
            x = left + slot * c + slot * 0.1 + bar * s
            tip = f"{chart.categories[c]} · {series.name}：{number(value)}"
            if value is None:
                canvas.text(x + bar / 2, bottom - 4, NONE, text_anchor="middle", fill_opacity=0.7)
                continue
            height = (bottom - top) * value / peak
            canvas.add(
                "rect", tip=tip, x=f"{x:.1f}", y=f"{bottom - height:.1f}",
                width=f"{max(bar - 1, 1):.1f}", height=f"{height:.1f}", fill=colour,
            )  # fmt: skip
    canvas.add("line", x1=left, y1=bottom, x2=right, y2=bottom, stroke="#444")
    _categories(chart, canvas, left, slot, bottom + 18)
    return canvas.render(_legend(chart, canvas, bottom + 48))


def line_chart(chart: ChartData) -> str:
    """One line per series over the categories (time); a missing value breaks the line."""
    if not chart.categories or not chart.series:
        return _empty(chart)
    canvas = Canvas(chart.title, chart.desc)
    left, right, top, bottom, peak = _frame(chart, canvas, 48)
    slot = (right - left) / len(chart.categories)
    for s, series in enumerate(chart.series):
        colour = PALETTE[s % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for c, value in enumerate(series.values):
            if value is None:
                runs.append([])
                continue
            x, y = left + slot * (c + 0.5), bottom - (bottom - top) * value / peak
            runs[-1].append(f"{x:.1f},{y:.1f}")
            tip = f"{chart.categories[c]} · {series.name}：{number(value)}"
            canvas.add("circle", tip=tip, cx=f"{x:.1f}", cy=f"{y:.1f}", r=3, fill=colour)
        for run in runs:
            if len(run) > 1:
                points = " ".join(run)
                canvas.add("polyline", points=points, fill="none", stroke=colour, stroke_width=2)
    canvas.add("line", x1=left, y1=bottom, x2=right, y2=bottom, stroke="#444")
    _categories(chart, canvas, left, slot, bottom + 18)
    return canvas.render(_legend(chart, canvas, bottom + 48))


def bar_ranking(chart: ChartData) -> str:
    """Ranked horizontal bars, one per category (its label above its bar): the first series."""
    if not chart.categories or not chart.series:
        return _empty(chart)
    canvas = Canvas(chart.title, chart.desc)
    canvas.text(12, 24, chart.title, size=16, font_weight="bold")
    values = chart.series[0].values
    peak = max([v for v in values if v is not None] + [1])
    y, span = 52.0, WIDTH - 24 - 64
    for c, (name, value) in enumerate(zip(chart.categories, values, strict=True)):
        canvas.text(12, y, f"{c + 1}. {name}", size=13)
        width = 0.0 if value is None else max(span * value / peak, 1)
        if value is not None:
            tip = f"{name}：{number(value)}"
            canvas.add(
                "rect", tip=tip, x=12, y=f"{y + 6:.1f}", width=f"{width:.1f}", height=14,
                fill=PALETTE[0],
            )  # fmt: skip
        canvas.text(12 + width + 6, y + 18, number(value))
        y += 44
    canvas.text(12, y, chart.series[0].name, fill_opacity=0.8)
    return canvas.render(y + 12)
