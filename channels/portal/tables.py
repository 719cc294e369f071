"""Long tables on the portal: one page of rows at a time, and the whole table as CSV or XLSX.

A notice's portal body is rendered when it is delivered, the whole table included (the
``table`` macro of ``templates/portal/_macros.html``: ``<div class="table-wrap">…</div>``).
A page with 100,000 rows is tens of megabytes no reader scrolls, so the notice page cuts that
block out (:func:`split_body`) and shows :data:`ROWS_PER_PAGE` rows of ``notice.table`` in its
place, with a pager; the full table is a download.

Downloads, both built whole in memory in a worker thread and cached by the caller:

- CSV: UTF-8 with a byte-order mark, which Excel needs to read Chinese right; CRLF lines.
- XLSX (openpyxl, write-only): the header row bold and frozen, numbers as numbers except
  integers longer than Excel's 15 significant digits (kept as text so 18-digit numbers stay
  exact); text is always text, never a formula.

Both neutralise spreadsheet formulas (OWASP "CSV injection"): a text cell starting with
``=``, ``+``, ``-``, ``@``, tab or CR gets a leading apostrophe in the CSV.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from publisher.spreadsheet import csv_text

ROWS_PER_PAGE = 200
# The rendered table block: the macro writes '<div class="table-wrap…">' … '</table>\n</div>';
# cell text is escaped, so '</table>' cannot occur inside it. Found with str.find: a regex
# over tens of megabytes took half a second, holding the GIL all along.
_OPEN = '<div class="table-wrap'
_CLOSE = re.compile(r"</table>\s*</div>")
_CAPTION = re.compile(r"<caption>(.*?)</caption>", re.DOTALL)
_COUNT = re.compile(r"（共 \d+ 条）$")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
EXACT_DIGITS = 15  # Excel keeps 15 significant digits of a number


@dataclass(frozen=True)
class Split:
    """A rendered body with its table block cut out."""

    before: str
    caption: str  # the block's caption as rendered (markup), without its "（共 N 条）"
    after: str


def split_body(body_html: str) -> Split | None:
    """The body around its (first) rendered table, or None when it holds no table block."""
    start = body_html.find(_OPEN)
    end = body_html.find("</table>", start) if start >= 0 else -1
    close = _CLOSE.match(body_html, end) if end >= 0 else None
    if close is None:
        return None
    caption = _CAPTION.search(body_html, start, min(end, start + 4096))
    text = _COUNT.sub("", caption.group(1).strip()) if caption else ""
    return Split(body_html[:start], text, body_html[close.end() :])


def columns_of(table: Mapping[str, Any] | None) -> list[str]:
    return [str(c) for c in (table or {}).get("columns") or ()]


def rows_of(table: Mapping[str, Any] | None) -> Sequence[Sequence[Any]]:
    rows = (table or {}).get("rows") or ()
    return rows if isinstance(rows, Sequence) else ()


def page_count(total: int, size: int = ROWS_PER_PAGE) -> int:
    return max(1, math.ceil(total / size))


def pager(page: int, pages: int, width: int = 2) -> list[int | None]:
    """Page numbers to link: first, last and ``width`` either side of ``page``; None is a gap."""
    wanted = {1, pages, *range(max(1, page - width), min(pages, page + width) + 1)}
    out: list[int | None] = []
    last = 0
    for number in sorted(wanted):
        if number - last > 1:
            out.append(None)
        out.append(number)
        last = number
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def csv_bytes(table: Mapping[str, Any] | None) -> bytes:
    """The whole table as CSV: UTF-8 with BOM, a header row, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_text(c) for c in columns_of(table)])
    for row in rows_of(table):
        writer.writerow([_text(v) if _is_number(v) else csv_text(_text(v)) for v in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def sheet_title(caption: str) -> str:
    """A worksheet name Excel accepts: no []:*?/\\, at most 31 characters."""
    title = _SHEET_FORBIDDEN.sub(" ", caption).strip().strip("'")[:31]
    return title or "Sheet1"


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Cell:
    if isinstance(value, bool) or value is None:
        return WriteOnlyCell(sheet, _text(value))
    if isinstance(value, int) and len(str(abs(value))) <= EXACT_DIGITS:
        return WriteOnlyCell(sheet, value)
    if isinstance(value, float) and math.isfinite(value):
        return WriteOnlyCell(sheet, value)
    cell = WriteOnlyCell(sheet, None)
    cell.value = _text(value)
    cell.data_type = "s"  # text, even when it starts with "=" (openpyxl would make a formula)
    return cell


def xlsx_bytes(table: Mapping[str, Any] | None, title: str) -> bytes:
    """The whole table as an XLSX workbook: one sheet, header row bold and frozen."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title(title))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in columns_of(table):
        cell = _xlsx_cell(sheet, name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows_of(table):
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export(fmt: str, table: Mapping[str, Any], title: str) -> bytes:
    """The whole table in ``fmt`` (a key of :data:`MEDIA_TYPES`)."""
    return csv_bytes(table) if fmt == "csv" else xlsx_bytes(table, title)
