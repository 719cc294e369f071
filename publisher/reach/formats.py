"""The reach report written out: a text table, CSV, JSON or an Excel workbook.

Every figure is labelled with its metric (the column header: 阅读, 浏览, ...) and its row says
as of when (数据截至: the oldest of the row's figures). No figure is "—" in text, CSV and XLSX,
``null`` in JSON; never 0. XLSX (openpyxl) stores numbers as numbers, under a frozen header row,
with column widths set; CSV is UTF-8 with a BOM so that Excel reads the Chinese.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Any

from publisher import labels
from publisher.reach.report import GROUP_WORDS, METRICS, ReachReport, Row

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
    lead: list[Any] = []
    if report.by == "notice":
        lead = [int(row.key), row.title or "", row.kind_label]
    elif report.by == "kind":
        lead = [row.kind_label]
    elif report.by == "department":
        lead = [row.department_label]
    elif report.by == "month":
        lead = [row.key]
    as_of = labels.when(row.as_of, report.zone) if row.as_of else None
    values = [f.value for f in row.figures]
    return [*lead, row.account, row.channel_label, row.posts, *values, as_of]


def title(report: ReachReport) -> str:
    return (
        f"触达统计 {report.start} 至 {report.end}（按{GROUP_WORDS[report.by]}；"
        f"生成于 {labels.when(report.generated_at, report.zone)}）"
    )


def _shown(value: Any) -> str:
    return NONE if value is None else str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def as_table(report: ReachReport) -> str:
    head = headers(report)
    body = [[_shown(c) for c in cells(report, r)] for r in report.rows]
    widths = [max(_width(t) for t in column) for column in zip(head, *body, strict=True)]
    numeric = {i for i, h in enumerate(head) if h in {"通知编号", "发布条数"}} | {
        head.index(labels.metric(m)) for m in METRICS
    }

    def line(texts: list[str]) -> str:
        parts = []
        for i, (text, width) in enumerate(zip(texts, widths, strict=True)):
            pad = " " * (width - _width(text))
            parts.append(pad + text if i in numeric else text + pad)
        return "  ".join(parts).rstrip()

    lines = [title(report), line(head)]
    lines += [line(r) for r in body] or ["（该期间没有已发布的投递）"]
    lines.append("“—”表示该渠道没有这项数据；各数字为每条发布的最新采样之和。")
    return "\n".join(lines) + "\n"


def as_csv(report: ReachReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers(report))
    for row in report.rows:
        writer.writerow([_shown(c) for c in cells(report, row)])
    return out.getvalue().encode("utf-8-sig")


def as_json(report: ReachReport) -> dict[str, Any]:
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "by": report.by,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "metrics": {m: labels.metric(m) for m in METRICS},
        "rows": [_row_json(report, r) for r in report.rows],
    }


def _row_json(report: ReachReport, row: Row) -> dict[str, Any]:
    data: dict[str, Any] = {"key": row.key}
    if report.by == "notice":
        data.update(notice_id=int(row.key), title=row.title, kind=row.kind)
    elif report.by == "kind":
        data["kind"] = row.key
    elif report.by == "department":
        data["department"] = row.key or None
    elif report.by == "month":
        data["month"] = row.key
    data.update(
        account=row.account,
        channel=row.channel,
        posts=row.posts,
        figures={
            f.metric: {
                "label": f.label,
                "value": f.value,
                "as_of": f.as_of.isoformat(timespec="seconds") if f.as_of else None,
            }
            for f in row.figures
        },
        as_of=row.as_of.isoformat(timespec="seconds") if row.as_of else None,
    )
    return data


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
    for row in report.rows:
        sheet.append([NONE if c is None else c for c in cells(report, row)])
    sheet.freeze_panes = "A2"
    shown = [[_shown(c) for c in cells(report, row)] for row in report.rows]
    for index, name in enumerate(head):
        widest = max(_width(t) for t in [name, *(r[index] for r in shown)])
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(60, widest + 2)
    note = sheet.max_row + 2
    sheet.cell(note, 1, title(report))
    sheet.cell(note + 1, 1, "“—”表示该渠道没有这项数据；各数字为每条发布的最新采样之和。")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
