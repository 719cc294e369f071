"""The reach report written out: a text table, CSV, JSON or an Excel workbook.

Every figure is labelled with its metric (the column header: 阅读, 浏览, ...) and its row says
as of when (数据截至: the oldest of the row's figures). No figure is "—" in text, CSV and XLSX,
``null`` in JSON; never 0. XLSX (openpyxl) stores numbers as numbers, under a frozen header row,
with column widths set; CSV is UTF-8 with a BOM so that Excel reads the Chinese.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import unicodedata
from collections.abc import Callable, Iterator
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any

from publisher import labels
from publisher.reach.report import GROUP_WORDS, METRICS, ReachReport, Row, utc

FORMATS = ("table", "csv", "xlsx", "json")
NONE = "—"
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def headers(report: ReachReport) -> list[str]:
    lead = {
        "notice": ["通知编号", "标题", "类别"],
        "kind": ["类别"],
        "department": ["科室"],
        "month": ["月份"],
        "channel": [],
    }[report.by]
    metrics = [labels.metric(m) for m in METRICS]
    return [*lead, "渠道账号", "渠道类型", "发布条数", *metrics, "数据截至"]


def cells(report: ReachReport, row: Row) -> list[Any]:
    """One row's cells: numbers as ints, no figure as None, times as local text."""
    return next(all_cells(dataclasses.replace(report, rows=(row,))))


def all_cells(report: ReachReport) -> Iterator[list[Any]]:
    """Each row's cells, as :func:`cells`; labels and as-of texts worked out once per value
    (a year by notice is 400,000 rows)."""
    by, zone = report.by, report.zone
    local: dict[Any, str | None] = {None: None}
    kinds: dict[str | None, str] = {}
    channels: dict[str, str] = {}
    for row in report.rows:
        raw = row.as_of_raw
        as_of = local.get(raw, "")
        if as_of == "":
            as_of = local[raw] = labels.when(utc(raw), zone)
        channel = channels.get(row.channel) or channels.setdefault(row.channel, row.channel_label)
        tail = [row.account, channel, row.posts, *row.values, as_of]
        if by == "notice":
            kind = kinds.get(row.kind) or kinds.setdefault(row.kind, row.kind_label)
            yield [int(row.key), row.title or "", kind, *tail]
        elif by == "kind":
            yield [row.kind_label, *tail]
        elif by == "department":
            yield [row.department_label, *tail]
        elif by == "month":
            yield [row.key, *tail]
        else:
            yield tail


def title(report: ReachReport) -> str:
    return (
        f"触达统计 {report.start} 至 {report.end}（按{GROUP_WORDS[report.by]}；"
        f"生成于 {labels.when(report.generated_at, report.zone)}）"
    )


def _shown(value: Any) -> str:
    return NONE if value is None else str(value)


def _width(text: str) -> int:
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class _Texts(dict[Any, str]):
    """A cell's text, worked out once per value: "—" for no figure."""

    def __missing__(self, value: Any) -> str:
        text = self[value] = NONE if value is None else str(value)
        return text


def _shown_rows(report: ReachReport) -> list[list[str]]:
    """Each row's cells as text (as :func:`all_cells`, None shown "—")."""
    if report.by != "notice":
        return [[NONE if c is None else str(c) for c in cs] for cs in all_cells(report)]
    text = _Texts().__getitem__
    zone = report.zone
    local: dict[Any, str] = {None: NONE}
    kinds: dict[str | None, str] = {}
    channels: dict[str, str] = {}
    out = []
    for row in report.rows:  # a year is 400,000 rows: as all_cells, without the detours
        raw = row.as_of_raw
        as_of = local.get(raw)
        if as_of is None:
            as_of = local[raw] = labels.when(utc(raw), zone)
        channel = channels.get(row.channel) or channels.setdefault(row.channel, row.channel_label)
        kind = kinds.get(row.kind) or kinds.setdefault(row.kind, row.kind_label)
        out.append(
            [
                row.key,  # the notice id, as text
                row.title or "",
                kind,
                row.account,
                channel,
                text(row.posts),
                *map(text, row.values),
                as_of,
            ]
        )
    return out


def as_table(report: ReachReport) -> str:
    head = headers(report)
    body = _shown_rows(report)
    numeric = {i for i, h in enumerate(head) if h in {"通知编号", "发布条数"}} | {
        head.index(labels.metric(m)) for m in METRICS
    }
    # Per column: its width, and a format for its cells (str.format pads by characters, so a
    # column with wide characters gets its distinct texts padded by display width instead).
    specs: list[str] = []
    padded: dict[int, dict[str, str]] = {}
    for i, name in enumerate(head):
        texts = {name, *map(itemgetter(i), body)}
        width = max(map(_width, texts))
        if all(t.isascii() for t in texts):
            specs.append(f"{{:{'>' if i in numeric else '<'}{width}}}")
            continue
        pads = {t: " " * (width - _width(t)) for t in texts}
        padded[i] = {t: pad + t if i in numeric else t + pad for t, pad in pads.items()}
        specs.append("{}")
    template = "  ".join(specs)

    def line(texts: list[str]) -> str:
        for i, pads in padded.items():
            texts[i] = pads[texts[i]]
        return template.format(*texts).rstrip()

    lines = [title(report), line(list(head))]
    lines += [line(r) for r in body] or ["（该期间没有已发布的投递）"]
    lines.append("“—”表示该渠道没有这项数据；各数字为每条发布的最新采样之和。")
    return "\n".join(lines) + "\n"


def as_csv(report: ReachReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers(report))
    writer.writerows(_shown_rows(report))
    return out.getvalue().encode("utf-8-sig")


def as_json(report: ReachReport) -> dict[str, Any]:
    stamp = _stamps()
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "by": report.by,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "metrics": {m: labels.metric(m) for m in METRICS},
        "rows": [_row_json(report, r, stamp) for r in report.rows],
    }


def _stamps() -> Callable[[Any], str | None]:
    """A figure's as-of as JSON gives it (ISO, UTC, seconds), worked out once per value."""
    done: dict[Any, str | None] = {None: None}

    def stamp(raw: Any) -> str | None:
        text = done.get(raw, "")
        if text == "":
            at = utc(raw)
            text = done[raw] = at.isoformat(timespec="seconds") if at else None
        return text

    return stamp


def _lead_json(report: ReachReport, row: Row) -> dict[str, Any]:
    data: dict[str, Any] = {"key": row.key}
    if report.by == "notice":
        data.update(notice_id=int(row.key), title=row.title, kind=row.kind)
    elif report.by == "kind":
        data["kind"] = row.key
    elif report.by == "department":
        data["department"] = row.key or None
    elif report.by == "month":
        data["month"] = row.key
    return data


def _row_json(report: ReachReport, row: Row, stamp: Callable[[Any], str | None]) -> dict[str, Any]:
    data = _lead_json(report, row)
    data.update(
        account=row.account,
        channel=row.channel,
        posts=row.posts,
        figures={
            m: {"label": label, "value": value, "as_of": stamp(at)}
            for m, label, value, at in zip(METRICS, _LABELS, row.values, row.times, strict=True)
        },
        as_of=stamp(row.as_of_raw),
    )
    return data


_LABELS = tuple(labels.metric(m) for m in METRICS)


def json_text(report: ReachReport) -> str:
    """``json.dumps(as_json(report), ensure_ascii=False, indent=2) + "\\n"``, the same text,
    written from templates: the indenting encoder is pure Python, too slow for 400,000 rows."""
    text = json.dumps(as_json(dataclasses.replace(report, rows=())), ensure_ascii=False, indent=2)
    if not report.rows:
        return text + "\n"
    stamp = _stamps()
    q = _quote
    i4, i5 = " " * 8, " " * 10
    blank = {  # a metric with no figure: the same text on every row
        m: f'{i4}{q(m)}: {{\n{i5}"label": {q(lab)},\n{i5}"value": null,\n{i5}"as_of": null\n{i4}}}'
        for m, lab in zip(METRICS, _LABELS, strict=True)
    }
    opened = {
        m: f'{i4}{q(m)}: {{\n{i5}"label": {q(lab)},\n{i5}"value": '
        for m, lab in zip(METRICS, _LABELS, strict=True)
    }
    parts: list[str] = []
    shut = f"\n{i4}}}"
    quoted: dict[Any, str] = {None: "null"}
    for row in report.rows:
        if report.by == "notice":  # a year is 400,000 rows: the lead written out directly
            kind = quoted.get(row.kind) or quoted.setdefault(row.kind, q(str(row.kind)))
            fields = (
                f'      "key": {q(row.key)},\n      "notice_id": {int(row.key)},\n'
                f'      "title": {"null" if row.title is None else q(row.title)},\n'
                f'      "kind": {kind},\n      "account": {q(row.account)},\n'
                f'      "channel": {q(row.channel)},\n      "posts": {row.posts}'
            )
        else:
            lead = _lead_json(report, row)
            lead.update(account=row.account, channel=row.channel, posts=row.posts)
            fields = ",\n".join(f"      {q(k)}: {_scalar(v)}" for k, v in lead.items())
        figures = ",\n".join(
            [
                blank[m]
                if value is None and at is None
                else f'{opened[m]}{_scalar(value)},\n{i5}"as_of": {_scalar(stamp(at))}{shut}'
                for m, value, at in zip(METRICS, row.values, row.times, strict=True)
            ]
        )
        as_of = _scalar(stamp(row.as_of_raw))
        parts.append(
            f'    {{\n{fields},\n      "figures": {{\n{figures}\n      }},\n'
            f'      "as_of": {as_of}\n    }}'
        )
    body = ",\n".join(parts)
    assert text.endswith('"rows": []\n}')
    return text[: -len("[]\n}")] + "[\n" + body + "\n  ]\n}\n"


def _quote(text: str) -> str:
    return encode_basestring(text)  # what json.dumps(text, ensure_ascii=False) writes


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return _quote(value)
    return str(int(value))


def as_xlsx(report: ReachReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "触达统计"
    head = headers(report)
    sheet.append(head)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for cs in all_cells(report):
        sheet.append([NONE if c is None else c for c in cs])
    sheet.freeze_panes = "A2"
    shown = _shown_rows(report)
    for index, name in enumerate(head):
        widest = max(_width(t) for t in [name, *(r[index] for r in shown)])
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(60, widest + 2)
    note = sheet.max_row + 2
    sheet.cell(note, 1, title(report))
    sheet.cell(note + 1, 1, "“—”表示该渠道没有这项数据；各数字为每条发布的最新采样之和。")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
