"""The data file of a fire: the month's list as CSV or XLSX, found in the inbox.

Staff drop the file into the inbox folder (the ``inbox_dir`` setting) under a name the
schedule's glob matches, or upload it (``POST /api/schedules/{name}/data``, kept in
``inbox/uploads/<name>/``). Its first row names the columns (the template's
``table.columns``, when it has them, must be exactly these); every other non-blank row is a
record. A used file moves into ``inbox/done/`` so no later fire takes it again; a refused one
stays where it is, to be corrected.

CSV is read as UTF-8 (with or without BOM), else GB18030 (what Excel writes on a Chinese
system). XLSX: the first sheet's values (openpyxl, cached formula results); dates are written
``2026-10-12``; a cell showing a formula error is refused.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from publisher.errors import InputError
from publisher.notice import MAX_FILE_BYTES

TYPES = (".csv", ".xlsx")
DONE, UPLOADS = "done", "uploads"
EXCEL_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"}


class DataFileError(InputError):
    """A data file that cannot become the notice's table (nothing is posted)."""


@dataclass(frozen=True)
class DataTable:
    path: Path
    columns: list[str]
    rows: list[list[Any]]


def uploads_dir(inbox: Path, schedule: str) -> Path:
    return inbox / UPLOADS / schedule


def find(inbox: Path, schedule: str, glob: str) -> list[Path]:
    """The schedule's data files waiting in the inbox: uploaded ones and those the glob
    matches (never what was used already, in ``done/``)."""
    found: set[Path] = set()
    uploaded = uploads_dir(inbox, schedule)
    if uploaded.is_dir():
        found.update(p for p in uploaded.iterdir() if p.is_file())
    if inbox.is_dir():
        for path in inbox.glob(glob):
            top = path.relative_to(inbox).parts[0]
            if path.is_file() and top not in (DONE, UPLOADS):
                found.add(path)
    return sorted(p for p in found if p.suffix.lower() in TYPES and not p.name.startswith("."))


def move_aside(inbox: Path, path: Path, stamp: str) -> Path:
    """Move a used data file into ``done/`` (named after the fire), so it is used once."""
    done = inbox / DONE
    done.mkdir(parents=True, exist_ok=True)
    target = done / f"{stamp}-{path.name}"
    path.replace(target)
    return target


def read(path: Path, columns: list[str] | None) -> DataTable:
    """The file's table; DataFileError names the file, row and column of the first problem."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DataFileError(f"{path.name}: 无法读取: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise DataFileError(f"{path.name}: 文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB")
    try:
        grid = _xlsx(raw) if path.suffix.lower() == ".xlsx" else _csv(raw)
        header, rows = _shape(grid, columns)
    except DataFileError as exc:
        raise DataFileError(f"{path.name}: {exc}") from None
    return DataTable(path, header, rows)


def _csv(raw: bytes) -> list[tuple[int, list[Any]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DataFileError("不是 UTF-8 或 GBK 编码的 CSV")
    if "\x00" in text:
        raise DataFileError("不是文本文件 (含 NUL 字符)")
    try:
        return [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)]
    except csv.Error as exc:
        raise DataFileError(f"CSV 格式错误: {exc}") from None


def _xlsx(raw: bytes) -> list[tuple[int, list[Any]]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (BadZipFile, KeyError, ValueError, OSError):
        raise DataFileError("不是有效的 XLSX 文件") from None
    try:
        if not book.worksheets:
            raise DataFileError("XLSX 文件没有工作表")
        sheet = book.worksheets[0]
        grid = []
        for n, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            grid.append((n, [_xlsx_cell(v, n, i) for i, v in enumerate(values, start=1)]))
        return grid
    finally:
        book.close()


def _xlsx_cell(value: Any, row: int, column: int) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise DataFileError(f"第 {row} 行第 {column} 列: 是逻辑值 (TRUE/FALSE)，应为文本或数字")
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.strip() in EXCEL_ERRORS:
        raise DataFileError(f"第 {row} 行第 {column} 列: 公式出错 ({text.strip()})")
    return text


def _blank(cells: list[Any]) -> bool:
    return all(isinstance(c, str) and not c.strip() for c in cells)


def _shape(
    grid: list[tuple[int, list[Any]]], expected: list[str] | None
) -> tuple[list[str], list[list[Any]]]:
    records = [(n, cells) for n, cells in grid if not _blank(cells)]
    if not records:
        raise DataFileError("是空文件，没有表头")
    number, header_cells = records[0]
    while header_cells and _blank(header_cells[-1:]):
        header_cells = header_cells[:-1]
    header = [str(c).strip() for c in header_cells]
    for i, name in enumerate(header, start=1):
        if not name:
            raise DataFileError(f"第 {number} 行 (表头) 第 {i} 列: 列名为空")
    if expected is not None and header != expected:
        raise DataFileError(f"表头应为 {'、'.join(expected)}，实际是 {'、'.join(header)[:300]}")
    width = len(header)
    rows = []
    for n, cells in records[1:]:
        extra = cells[width:]
        if not _blank(extra):
            raise DataFileError(f"第 {n} 行有 {len(cells)} 个单元格，表头只有 {width} 列")
        if len(cells) < width:
            raise DataFileError(f"第 {n} 行只有 {len(cells)} 个单元格，表头有 {width} 列")
        rows.append([c.strip() if isinstance(c, str) else c for c in cells[:width]])
    if not rows:
        raise DataFileError("只有表头，没有数据行")
    return header, rows
