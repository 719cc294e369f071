"""A table from a spreadsheet: CSV (UTF-8, with or without BOM, or GB18030 as Excel in China
writes it) or XLSX (openpyxl), first row the column names.

What comes out is a notice's ``table`` (``{"columns": [...], "rows": [[...], ...]}``), cells as
text or numbers, ready for the notice's own validation (lengths, PII, content checks). Problems
are said per row, in Chinese, and the caller decides whether to refuse the file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

MAX_ROWS = 100_000
MAX_COLUMNS = 50


class TableFileError(ValueError):
    """The file as a whole cannot be read as a table."""


@dataclass
class ImportedTable:
    columns: list[str]
    rows: list[list[str | int | float]]
    problems: list[str] = field(default_factory=list)  # "第 3 行: ..."

    def as_table(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableFileError("CSV 文件既不是 UTF-8 也不是 GB18030 编码")


def _cell(value: Any) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if hasattr(value, "strftime"):
        text: str = (
            value.strftime("%Y-%m-%d")
            if not getattr(value, "hour", 0)
            else value.strftime("%Y-%m-%d %H:%M")
        )
        return text
    return str(value).strip()


def _rows_from_csv(raw: bytes) -> list[list[Any]]:
    text = _decode(raw)
    try:
        return [row for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise TableFileError(f"CSV 格式错误: {exc}") from None


def _rows_from_xlsx(raw: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        raise TableFileError(f"无法读取 XLSX 文件: {type(exc).__name__}") from None
    try:
        sheet = book.worksheets[0]
        out: list[list[Any]] = []
        for row in sheet.iter_rows(values_only=True):
            out.append(list(row))
            if len(out) > MAX_ROWS + 1:
                break
        return out
    finally:
        book.close()


def read_table(raw: bytes, filename: str) -> ImportedTable:
    """The table in ``raw`` (by the file name's extension). Raises TableFileError."""
    name = filename.lower()
    if name.endswith(".csv"):
        grid = _rows_from_csv(raw)
    elif name.endswith(".xlsx"):
        grid = _rows_from_xlsx(raw)
    else:
        raise TableFileError("只支持 .csv 和 .xlsx 文件")
    grid = [[_cell(c) for c in row] for row in grid]
    grid = [row for row in grid if any(c != "" for c in row)]  # blank lines are no rows
    if not grid:
        raise TableFileError("文件中没有表格 (第一行应为列名)")
    header = list(grid[0])
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise TableFileError("第一行应为列名")
    if len(header) > MAX_COLUMNS:
        raise TableFileError(f"列数 {len(header)} 超过 {MAX_COLUMNS}")
    if len(grid) - 1 > MAX_ROWS:
        raise TableFileError(f"行数超过 {MAX_ROWS}")
    columns = [str(c) for c in header]
    problems = [f"第 1 行: 第 {i + 1} 列没有列名" for i, c in enumerate(columns) if not c]
    width = len(columns)
    rows: list[list[str | int | float]] = []
    for number, row in enumerate(grid[1:], start=2):
        extra = [c for c in row[width:] if c != ""]
        if extra:
            problems.append(f"第 {number} 行: 比列名多出 {len(extra)} 个单元格")
        rows.append((list(row) + [""] * width)[:width])
    return ImportedTable(columns, rows, problems)
