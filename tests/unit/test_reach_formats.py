"""The reach report's writers, checked against the plain way of writing the same thing: the
API's JSON is what ``JSONResponse(as_json(report))`` sent and the CLI's what
``json.dumps(..., indent=2)`` writes; CSV what ``csv.writer`` writes of each row's cells; the
table's columns line up by display width; times are local in any zone (summer time, zones
a quarter hour off); the workbook keeps numbers as numbers under a frozen bold header, with
its column widths and notes. Titles are odd on purpose: quotes, commas, line breaks, emoji."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.responses import JSONResponse
from openpyxl import load_workbook

from publisher import labels
from publisher.reach import formats
from publisher.reach.report import ReachReport, Row, utc
from publisher.spreadsheet import csv_text

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
TITLES = [
    '引号"与,逗号',
    "反斜杠\\与\n换行",
    "回车\r\n和\t制表",
    " 前后空格 ",
    "预警 🚨 emoji",
    "plain",
    "",
    None,
    "很长的标题" * 20,
    "=1+1",
]
ACCOUNTS = [("门户,主站", "portal"), ("weibo", "weibo"), ("自定义", "my_channel")]
TEXT_TIMES = [  # as SQLite gives them (UTC), and other ISO forms utc() reads
    "2025-03-27 00:00:00.000000",
    "2025-12-31 16:30:59.999999",
    "2025-06-01 08:15:00",
    "2025-06-01T23:59:59.500000",
    "2025-07-01 01:02:03+00:00",
]
AWARE_TIMES = [
    datetime(2025, 3, 27, tzinfo=UTC),
    datetime(2025, 12, 31, 16, 30, 59, 999999, tzinfo=UTC),
    datetime(2025, 6, 1, 8, 15, tzinfo=ZoneInfo("Asia/Shanghai")),
    datetime(2025, 6, 1, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
]


def rows(times: list[Any]) -> tuple[Row, ...]:
    """Notices with odd titles on three accounts: figures and none, a real 0, a big number,
    a figure with no value yet and a row with no figure at all."""
    out = []
    for n, title in enumerate(TITLES, 1):
        for a, (account, channel) in enumerate(ACCOUNTS):
            t = [times[(n + a + i) % len(times)] for i in range(3)]
            values = (n * 10, None, 0, None, 10**12 + n, None, None)
            stamps = (t[0], None, t[1], t[2], t[0], None, None)  # views: a time, no value yet
            if n == 2 and a == 2:
                values, stamps = (None,) * 7, (None,) * 7
            kind = "weather_warning" if n % 2 else "not_a_known_kind"
            out.append(Row.of(str(n * 7), account, channel, n, title, kind, values, stamps))
    return tuple(out)


def report(times: list[Any], by: str = "notice", zone: ZoneInfo = ZONE) -> ReachReport:
    found = rows(times)
    if by != "notice":  # the grouped reports' keys
        keys = {"kind": "general", "department": "", "month": "2025-06", "channel": ""}[by]
        found = tuple(
            r._replace(key=keys if i % 2 else r.title or keys) for i, r in enumerate(found)
        )
        found = tuple(r._replace(title=None, kind=None) for r in found)
    return ReachReport(by, date(2025, 1, 1), date(2025, 12, 31), zone, NOW, found)


REPORTS = [
    pytest.param(times, by, id=f"{by}-{name}")
    for name, times in (("text", TEXT_TIMES), ("aware", AWARE_TIMES))
    for by in ("notice", "channel", "kind", "department", "month")
]


@pytest.mark.parametrize(("times", "by"), REPORTS)
def test_json_is_what_json_dumps_writes(times: list[Any], by: str) -> None:
    found = report(times, by)
    data = formats.as_json(found)
    assert formats.compact_json(found) == JSONResponse(data).body  # the API's JSON
    compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    assert formats.compact_json(found) == compact.encode()
    indented = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    assert formats.json_text(found) == indented  # the CLI's JSON
    assert formats.json_file(found) == indented.encode()


def test_json_rows_say_what_each_figure_is() -> None:
    data = formats.as_json(report(TEXT_TIMES))
    first = data["rows"][0]
    assert (first["notice_id"], first["key"], first["title"]) == (7, "7", TITLES[0])
    assert first["figures"]["reads"] == {
        "label": "阅读",
        "value": 10,
        "as_of": "2025-12-31T16:30:59+00:00",
    }
    assert first["figures"]["shares"] == {"label": "分享", "value": None, "as_of": None}
    assert first["figures"]["views"]["value"] is None  # a time, but no value: still null
    assert first["as_of"] == "2025-06-01T08:15:00+00:00"  # the oldest of the row's times
    empty = data["rows"][5]
    assert empty["figures"]["reads"]["value"] is None and empty["as_of"] is None
    assert data["rows"][21]["title"] is None


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def shown(found: ReachReport, row: Row) -> list[str]:
    """A row's cells as text, worked out the plain way, one row at a time."""
    lead = {
        "notice": [row.key, row.title or "", row.kind_label],
        "kind": [row.kind_label],
        "department": [row.department_label],
        "month": [row.key],
        "channel": [],
    }[found.by]
    numbers = ["—" if v is None else str(v) for v in (row.posts, *row.values)]
    as_of = labels.when(row.as_of, found.zone) or "—"
    return [*lead, row.account, row.channel_label, *numbers, as_of]


def in_csv(found: ReachReport, row: Row) -> list[str]:
    """A row's cells as the CSV holds them: text a spreadsheet would run gets an apostrophe
    (numbers, "—" and times never start so)."""
    return [csv_text(cell) for cell in shown(found, row)]


@pytest.mark.parametrize(("times", "by"), REPORTS)
def test_csv_is_what_csv_writer_writes(times: list[Any], by: str) -> None:
    found = report(times, by)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(formats.headers(found))
    writer.writerows(in_csv(found, r) for r in found.rows)
    assert formats.as_csv(found) == out.getvalue().encode("utf-8-sig")
    back = list(csv.reader(io.StringIO(formats.as_csv(found).decode("utf-8-sig"))))
    assert back[1:] == [in_csv(found, r) for r in found.rows]


def test_csv_made_in_parts_is_the_same_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API and the console stream the CSV in parts; cut anywhere, the file is the same."""
    found = report(TEXT_TIMES)
    whole = formats.as_csv(found)
    for size in (1, 4, 7, len(found.rows) - 1):
        monkeypatch.setattr(formats, "_CSV_ROWS_A_PART", size)
        parts = list(formats.csv_parts(found))
        assert len(parts) == 1 + -(-len(found.rows) // size)  # the header, then the rows
        assert b"".join(parts) == whole


@pytest.mark.parametrize("title", ["=1+1", "+86", "-5", "@SUM(A1)", "\t=1", '=HYPERLINK("x",1)'])
def test_csv_titles_never_run_as_formulas(title: str) -> None:
    """Excel and WPS run a CSV cell starting with = + - @ or a tab; the title stays text."""
    found = ReachReport(
        "notice",
        date(2025, 1, 1),
        date(2025, 1, 31),
        ZONE,
        NOW,
        (Row.of("1", title, "weibo", 1, title, "general", (5,) * 7, ("2025-01-02 00:00:00",) * 7),),
    )
    back = list(csv.reader(io.StringIO(formats.as_csv(found).decode("utf-8-sig"))))
    assert back[1][:4] == ["1", "'" + title, "工作动态", "'" + title]
    assert back[1][6] == "5"  # numbers as they are


@pytest.mark.parametrize(("times", "by"), REPORTS)
def test_table_columns_line_up_by_display_width(times: list[Any], by: str) -> None:
    found = report(times, by)
    head = formats.headers(found)
    cells = [shown(found, r) for r in found.rows]
    widths = [max(width(t) for t in [h, *(c[i] for c in cells)]) for i, h in enumerate(head)]
    right = {i for i, h in enumerate(head) if h in {"通知编号", "发布条数"}} | set(
        range(len(head) - 8, len(head) - 1)  # the metrics
    )

    def line(texts: list[str]) -> str:
        padded = [
            " " * (w - width(t)) + t if i in right else t + " " * (w - width(t))
            for i, (t, w) in enumerate(zip(texts, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    expected = [formats.title(found), line(head), *map(line, cells), formats.NOTE]
    assert formats.as_table(found) == "\n".join(expected) + "\n"


def test_an_empty_table_says_so() -> None:
    found = ReachReport("notice", date(2025, 1, 1), date(2025, 1, 31), ZONE, NOW, ())
    assert "（该期间没有已发布的投递）" in formats.as_table(found)
    assert formats.as_csv(found).decode("utf-8-sig").count("\r\n") == 1  # the header alone
    assert json.loads(formats.json_text(found))["rows"] == []


@pytest.mark.parametrize(
    ("zone", "times"),
    [
        # summer time starts (07:00 UTC) and ends (06:00 UTC) in New York
        ("America/New_York", ["2025-03-09 06:59:59.000000", "2025-03-09 07:00:00.000000"]),
        ("America/New_York", ["2025-11-02 05:59:59.999999", "2025-11-02 06:00:00.000000"]),
        # half an hour of summer time; a zone 5:45 ahead; a zone 9:30 ahead
        ("Australia/Lord_Howe", ["2025-04-05 14:59:59.000000", "2025-04-05 15:00:00.000000"]),
        ("Asia/Kathmandu", ["2025-06-01 18:14:59.000000", "2025-06-01 18:15:00.000000"]),
        ("Australia/Darwin", ["2025-06-01 14:29:00.000000", "2025-06-01 14:30:00"]),
        ("Asia/Shanghai", ["2025-12-31 15:59:59.999999", "2025-12-31T16:00:00.000000"]),
        # summer time from 00:01 local: a whole hour's change, a minute into a UTC hour
        ("America/Moncton", ["2006-04-02 04:00:30.000000", "2006-04-02 04:01:30.000000"]),
    ],
)
def test_times_are_local_in_any_zone(zone: str, times: list[str]) -> None:
    here = ZoneInfo(zone)
    one = [Row.of("1", "portal", "portal", 1, "t", "general", (1,) * 7, (t,) * 7) for t in times]
    found = ReachReport("notice", date(2025, 1, 1), date(2025, 12, 31), here, NOW, tuple(one))
    table = list(csv.reader(io.StringIO(formats.as_csv(found).decode("utf-8-sig"))))
    assert [line[-1] for line in table[1:]] == [labels.when(utc(t), here) for t in times]
    many = report(times, zone=here)  # and the oldest of a row's times
    table = list(csv.reader(io.StringIO(formats.as_csv(many).decode("utf-8-sig"))))
    assert [line[-1] for line in table[1:]] == [shown(many, r)[-1] for r in many.rows]


def test_the_workbook_keeps_numbers_widths_header_and_notes() -> None:
    found = report(TEXT_TIMES)
    book = load_workbook(io.BytesIO(formats.as_xlsx(found)))
    sheet = book.active
    assert sheet is not None and sheet.title == "触达统计"
    head = formats.headers(found)
    assert [c.value for c in sheet[1]] == head
    assert all(c.font.b and c.alignment.horizontal == "center" for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    cells = [shown(found, r) for r in found.rows]
    for i, name in enumerate(head):  # the widest text's display width and two, at most 60
        widest = max(width(t) for t in [name, *(c[i] for c in cells)])
        letter = sheet.cell(1, i + 1).column_letter
        assert sheet.column_dimensions[letter].width == min(60, widest + 2), name
    assert sheet.column_dimensions["B"].width == 60  # the long title
    got = [[c.value for c in line] for line in sheet.iter_rows(min_row=2, max_row=len(cells) + 1)]
    first = dict(zip(head, got[0], strict=True))
    assert (first["通知编号"], first["发布条数"], first["阅读"], first["转发"]) == (
        7,
        1,
        10,
        10**12 + 1,
    )
    assert (first["点击"], first["浏览"], first["分享"]) == (0, "—", "—")  # 0 stays 0
    assert first["标题"] == TITLES[0] and first["数据截至"] == "2025-06-01 16:15:00"
    assert got[5][-1] == "—"  # no figure at all: no time either
    assert {line[1] or "" for line in got[18:24]} == {""}  # no title: an empty cell
    formula = sheet.cell(len(cells) - 1, 2)  # "=1+1": text, as the title reads, not 2
    assert (formula.value, formula.data_type) == ("=1+1", "s")
    notes = len(cells) + 3  # one empty row under the table, then the notes
    assert sheet.cell(notes - 1, 1).value is None
    assert sheet.cell(notes, 1).value == formats.title(found)
    assert sheet.cell(notes + 1, 1).value == formats.NOTE
    assert sheet.max_row == notes + 1
