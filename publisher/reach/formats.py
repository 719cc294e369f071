"""The reach report written out: a text table, CSV, JSON or an Excel workbook.

Every figure is labelled with its metric (the column header: 阅读, 浏览, ...) and its row says
as of when (数据截至: the oldest of the row's figures). No figure is "—" in text, CSV and XLSX,
``null`` in JSON; never 0. XLSX (openpyxl) stores numbers as numbers, under a frozen header row,
with column widths set; CSV is UTF-8 with a BOM so that Excel reads the Chinese.

A year by notice is 400,000 rows, so the writers work column by column: each distinct value
(a title, a number, a time) is turned into text once, and rows are put together by C code
(``map``, ``str.format``, ``join``) rather than by a Python loop per row.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from itertools import cycle, filterfalse, islice, repeat
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any

from publisher import labels
from publisher.reach.report import (
    CHANNEL_TYPES,
    GROUP_WORDS,
    METRICS,
    NO_DEPARTMENT,
    ReachReport,
    Row,
    utc,
)
from publisher.render import KIND_LABELS
from publisher.spreadsheet import csv_text

FORMATS = ("table", "csv", "xlsx", "json")
NONE = "—"
NOTE = "“—”表示该渠道没有这项数据；各数字为每条发布的最新采样之和。"
NO_ROWS = "（该期间没有已发布的投递）"
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
    return [column[0] for column in _columns(dataclasses.replace(report, rows=(row,)), False)]


def title(report: ReachReport) -> str:
    return (
        f"触达统计 {report.start} 至 {report.end}（按{GROUP_WORDS[report.by]}；"
        f"生成于 {labels.when(report.generated_at, report.zone)}）"
    )


class _Memo(dict[Any, Any]):
    """``memo[value]`` is ``work(value)``, worked out the first time it is asked for; so
    ``map(memo.__getitem__, column)`` turns a column into text in C, once per distinct value."""

    def __init__(self, work: Callable[[Any], Any], known: dict[Any, Any] | None = None) -> None:
        super().__init__(known or {})
        self.work = work

    def __missing__(self, value: Any) -> Any:
        done = self[value] = self.work(value)
        return done


class _LocalTimes(dict[Any, Any]):
    """A figure's as-of (as the store gives it, see :func:`utc`) as people read it:
    ``labels.when`` in the report's zone, worked out once per value. SQLite's text
    ("2025-03-27 00:00:00.000000", UTC) in a zone a whole number of hours from UTC throughout
    that hour: the local hour, looked up once per hour, and the text's minutes and seconds."""

    def __init__(self, zone: tzinfo, none: str | None) -> None:
        super().__init__({None: none})
        self.zone = zone
        self.hours: dict[str, str | None] = {}

    def __missing__(self, raw: Any) -> str:
        if isinstance(raw, str) and _SQLITE_TIME.fullmatch(raw):
            hour = self.hours.get(raw[:13], "")
            if hour == "":
                hour = self.hours[raw[:13]] = self._local_hour(raw[:13])
            if hour is not None:
                text = self[raw] = hour + raw[13:19]
                return text
        text = self[raw] = labels.when(utc(raw), self.zone)
        return text

    def _local_hour(self, prefix: str) -> str | None:
        """ "YYYY-MM-DD HH" local of the UTC hour ``prefix``, if the zone is a whole number of
        hours from UTC throughout that hour."""
        start = datetime.fromisoformat(prefix + ":00").replace(tzinfo=UTC)
        local = start.astimezone(self.zone)
        end = (start + timedelta(minutes=59, seconds=59, microseconds=999999)).astimezone(self.zone)
        shift = local.utcoffset()
        whole = shift is not None and shift == end.utcoffset() and not shift % timedelta(hours=1)
        return local.strftime("%Y-%m-%d %H") if whole else None


_SQLITE_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:[0-5]\d:[0-5]\d(?:\.\d{6})?")


def _naive_utc(raw: str | datetime) -> datetime:
    """As :func:`utc`, but naive: the store's text needs no time zone attached."""
    at = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
    return at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)


def _shown(value: Any) -> str:
    return NONE if value is None else str(value)


def _columns(report: ReachReport, shown: bool) -> list[list[Any]]:
    """The cells column by column, in :func:`headers`' order: as text if ``shown`` ("—" for
    no figure, the notice id as the store gives it), else numbers as ints, no figure as None
    and the notice id as a number."""
    rows = report.rows

    def column(index: int) -> list[Any]:
        return list(map(itemgetter(index), rows))

    keys, by = column(KEY), report.by
    lead: list[list[Any]] = []
    if by == "notice":
        titles = column(TITLE)
        number = keys if shown else list(map(_Memo(int).__getitem__, keys))
        lead += [number, list(map({None: ""}.get, titles, titles))]  # title or ""
    if by in ("notice", "kind"):  # Row.kind_label: the kind's label (by kind: the key's)
        codes = column(KIND)
        if None in codes:
            codes = [key if code is None else code for code, key in zip(codes, keys, strict=True)]
        lead.append(list(map(KIND_LABELS.get, codes, codes)))
    elif by == "department":
        lead.append([key or NO_DEPARTMENT for key in keys])
    elif by == "month":
        lead.append(keys)
    channels = column(CHANNEL)
    numbers: list[Iterable[Any]] = [column(POSTS)]
    numbers += (map(itemgetter(VALUES + i), rows) for i in range(len(METRICS)))
    if shown:
        text = _Memo(_shown).__getitem__  # int -> str, None -> "—"
        numbers = [map(text, n) for n in numbers]
    times = _LocalTimes(report.zone, NONE if shown else None).__getitem__
    return [
        *lead,
        column(ACCOUNT),
        list(map(CHANNEL_TYPES.get, channels, channels)),
        *map(list, numbers),
        list(map(times, _as_of_raw(rows))),
    ]


def _as_of_raw(rows: Iterable[Row]) -> list[Any]:
    """Each row's :attr:`Row.as_of_raw`, the oldest of its figures' times, with no Python
    function called per row."""
    return list(map(_OLDEST, map(filter, repeat(None), map(_TIMES, rows))))


_OLDEST = partial(min, default=None)
# Where a Row's cells are (it is flat: lead, then METRICS' values, then their times).
_AT = {name: i for i, name in enumerate(Row._fields)}
KEY, ACCOUNT, CHANNEL, POSTS, TITLE, KIND = (
    _AT[n] for n in ("key", "account", "channel", "posts", "title", "kind")
)
VALUES, TIMES = _AT[METRICS[0]], _AT[f"{METRICS[0]}_at"]
_TIMES = itemgetter(slice(TIMES, TIMES + len(METRICS)))  # Row.times, in C


_WIDTHS = _Memo(lambda c: 2 if unicodedata.east_asian_width(c) in "WF" else 1)


def _width(text: str) -> int:
    """How many columns ``text`` takes on a terminal (CJK characters: two)."""
    if text.isascii():
        return len(text)
    return sum(map(_WIDTHS.__getitem__, text))


def as_table(report: ReachReport) -> str:
    head = headers(report)
    columns = _columns(report, True)
    numeric = {i for i, h in enumerate(head) if h in {"通知编号", "发布条数"}} | {
        head.index(labels.metric(m)) for m in METRICS
    }
    # Per column: its width (in display columns: a CJK character takes two), and a format for
    # its cells. str.format pads by characters, so a column with wide characters gets its
    # distinct texts padded by display width instead.
    specs: list[str] = []
    for i, name in enumerate(head):
        texts = set(columns[i])
        wide = {t: w for t in filterfalse(str.isascii, texts) if (w := _width(t)) != len(t)}
        width = max(_width(name), max(map(len, texts), default=0), *wide.values())
        right = i in numeric
        head[i] = _pad(name, width - _width(name), right)
        if not wide:  # each text's width is its length
            specs.append(f"{{:{'>' if right else '<'}{width}}}")
            continue
        padded = {t: _pad(t, width - wide.get(t, len(t)), right) for t in texts}
        columns[i] = list(map(padded.__getitem__, columns[i]))
        specs.append("{}")
    template = "  ".join(specs)
    lines = [title(report), "  ".join(head).rstrip()]
    if report.rows:
        lines += map(str.rstrip, map(template.format, *columns))
    else:
        lines.append(NO_ROWS)
    lines += [NOTE, ""]
    return "\n".join(lines)


def _pad(text: str, by: int, right: bool) -> str:
    return " " * by + text if right else text + " " * by


def as_csv(report: ReachReport) -> bytes:
    """The header and the rows as ``csv.writer`` writes them (Excel's dialect), in UTF-8 with
    the byte-order mark Excel needs to read Chinese. See :func:`csv_parts`."""
    return b"".join(csv_parts(report))


_CSV_ROWS_A_PART = 50_000


def csv_parts(report: ReachReport) -> Iterator[bytes]:
    """:func:`as_csv` in parts, made as they are asked for (the API and the console stream
    them): the header, then fifty thousand rows at a time. Each part's rows are joined from
    their texts, those that need it quoted by the writer, once per distinct text. Only a
    comma, a quote or a line break makes the writer quote a field; numbers, "—" and times
    have none. A text a spreadsheet would run as a formula (a title "=…") gets an apostrophe
    before it (:func:`publisher.spreadsheet.csv_text`), as in the portal's CSV."""
    sink = _Lines()
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow(headers(report))
    yield sink.lines.pop().encode("utf-8-sig")
    for first in range(0, len(report.rows), _CSV_ROWS_A_PART):
        rows = report.rows[first : first + _CSV_ROWS_A_PART]
        columns = _columns(dataclasses.replace(report, rows=rows), True)
        for i in range(len(columns) - len(METRICS) - 2):  # lead texts, account, channel type
            distinct = list(set(columns[i]).difference({""}))  # ("" alone is written as "")
            safe = list(map(csv_text, distinct))
            if safe == distinct and not any(c in "".join(safe) for c in ',"\r\n'):
                continue
            writer.writerows(zip(safe))  # each alone on a line, quoted as need be
            quoted = dict(zip(distinct, [line[:-2] for line in sink.lines], strict=True))
            quoted[""] = ""
            sink.lines.clear()
            columns[i] = list(map(quoted.__getitem__, columns[i]))
        lines = list(map(",".join, zip(*columns, strict=True)))
        lines.append("")
        yield "\r\n".join(lines).encode()


class _Lines:
    """A file keeping each write apart (``csv.writer`` writes a line at a time)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.write = self.lines.append


def as_json(report: ReachReport) -> dict[str, Any]:
    stamp = _Memo(_stamp, {None: None}).__getitem__
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "by": report.by,
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "metrics": {m: labels.metric(m) for m in METRICS},
        "rows": [_row_json(report, r, stamp) for r in report.rows],
    }


def _stamp(raw: Any) -> str:
    """A figure's as-of as JSON gives it: ISO, UTC, seconds (``utc(raw).isoformat(...)``)."""
    return _naive_utc(raw).isoformat(timespec="seconds") + "+00:00"


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
    fast (see :func:`_json_parts`)."""
    return json_file(report).decode()


def json_file(report: ReachReport) -> bytes:
    """:func:`json_text` in UTF-8: the CLI's JSON."""
    return b"".join(_json_parts(report, 2, b"\n"))


def compact_json(report: ReachReport) -> bytes:
    """``json.dumps(as_json(report), ensure_ascii=False, separators=(",", ":"))`` in UTF-8,
    the same bytes, fast (see :func:`_json_parts`): what ``JSONResponse(as_json(report))``
    sends, the API's JSON."""
    return b"".join(compact_json_parts(report))


def compact_json_parts(report: ReachReport) -> Iterator[bytes]:
    """:func:`compact_json` in parts of a thousand rows, made as they are asked for: the API
    streams them, so a year by notice (230 MB) starts at once and is never one whole copy."""
    return _json_parts(report, None, b"")


_ROWS_A_PART = 1000


def _json_parts(report: ReachReport, indent: int | None, end: bytes) -> Iterator[bytes]:
    """``json.dumps(as_json(report), ensure_ascii=False, indent=indent)`` (compact if
    ``indent`` is None) and then ``end``, in UTF-8, in parts of a thousand rows: a year by
    notice is 400,000 rows (400 MB), too many for json.dumps (its indenting encoder is pure
    Python, and even the C one wants a dict per row) and for copies of one whole text."""
    options: dict[str, Any] = {"ensure_ascii": False, "indent": indent}
    if indent is None:
        options["separators"] = (",", ":")
    if report.by != "notice" or not report.rows:  # a few hundred rows at most
        yield json.dumps(as_json(report), **options).encode() + end
        return
    text = json.dumps(as_json(dataclasses.replace(report, rows=())), **options).encode()
    empty, opened, closed = (
        (b"[]}", b"[", b"]}") if indent is None else (b"[]\n}", b"[\n", b"\n  ]\n}")
    )
    assert text.endswith(empty)  # '"rows": []': the rows go between the brackets
    rows = _json_rows(report, options)
    comma = b"," if indent is None else b",\n"
    yield text[: -len(empty)] + opened + comma.join(islice(rows, _ROWS_A_PART))
    while part := comma.join(islice(rows, _ROWS_A_PART)):
        yield comma + part
    yield closed + end


def _json_rows(report: ReachReport, options: dict[str, Any]) -> Iterator[bytes]:
    """Each by-notice row of :func:`as_json` as json.dumps writes it among the rows, in UTF-8.
    json.dumps writes one row, with markers for its values, once; each row is then that
    text's pieces joined with the row's values, each distinct value turned into JSON once."""
    rows = report.rows

    def column(index: int) -> list[Any]:
        return list(map(itemgetter(index), rows))

    quoted = _Memo(lambda text: encode_basestring(text).encode(), {None: b"null"}).__getitem__
    number = _Memo(lambda n: str(int(n)).encode(), {None: b"null"}).__getitem__
    stamp = _Memo(lambda raw: encode_basestring(_stamp(raw)).encode(), {None: b"null"})
    keys = column(KEY)
    columns: dict[str, Iterable[bytes]] = {
        "key": map(quoted, keys),
        "notice_id": map(number, keys),
        "title": map(quoted, column(TITLE)),
        "kind": map(quoted, column(KIND)),
        "account": map(quoted, column(ACCOUNT)),
        "channel": map(quoted, column(CHANNEL)),
        "posts": map(number, column(POSTS)),
        "as_of": map(stamp.__getitem__, _as_of_raw(rows)),
    }
    fields: list[Iterable[bytes]] = []

    def marker(texts: Iterable[bytes]) -> str:
        fields.append(texts)
        return f"\x00{len(fields) - 1}\x00"

    sample = _row_json(report, rows[0], lambda raw: None)  # the row's fields, in order
    for name in sample:
        if name != "figures":
            sample[name] = marker(columns[name])
            continue
        for i, figure in enumerate(sample["figures"].values()):  # in METRICS' order
            figure["value"] = marker(map(number, map(itemgetter(VALUES + i), rows)))
            figure["as_of"] = marker(map(stamp.__getitem__, map(itemgetter(TIMES + i), rows)))
    text = json.dumps(sample, **options)
    if options["indent"]:  # a row is two levels deep in the document
        pad = " " * (2 * options["indent"])
        text = pad + text.replace("\n", "\n" + pad)
    pieces = _MARKER.split(text)  # text, marker's number, text, ..., text
    parts = [
        fields[int(piece)] if odd else repeat(piece.encode())
        for odd, piece in zip(cycle((False, True)), pieces)
    ]
    return map(b"".join, zip(*parts))  # noqa: B905 (text pieces repeat without end)


_MARKER = re.compile(r'"\\u0000(\d+)\\u0000"')  # a marker as json.dumps writes it


def as_xlsx(report: ReachReport) -> bytes:
    """The workbook, written by openpyxl's write-only (streaming) worksheet: the column
    widths and the frozen header are set before the rows. A text starting with "=" (a title)
    stays text, never a formula, as in the portal's table downloads."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("触达统计")
    head = headers(report)
    for index, (name, texts) in enumerate(zip(head, _columns(report, True), strict=True)):
        widest = max(map(_width, {name, *texts}))
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(60, widest + 2)
    sheet.freeze_panes = "A2"
    header = []
    for name in head:
        cell = WriteOnlyCell(sheet, name)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
        header.append(cell)
    sheet.append(header)
    columns: list[list[Any]] = [list(map({None: NONE}.get, c, c)) for c in _columns(report, False)]
    for i in range(len(columns) - len(METRICS) - 2):  # the lead texts, account, channel type
        if any(map(_formula_like, set(columns[i]))):
            columns[i] = [_text_cell(sheet, v) if _formula_like(v) else v for v in columns[i]]
    for row in zip(*columns, strict=True):
        sheet.append(row)
    sheet.append([])
    sheet.append([title(report)])
    sheet.append([NOTE])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _formula_like(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 1 and value.startswith("=")  # (openpyxl's)


def _text_cell(sheet: Any, text: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"  # text, though it starts with "=" (openpyxl would make a formula)
    return cell
