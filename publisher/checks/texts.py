"""Every text of a notice, labelled by field, joined into one string the checks scan once.

Scanning one joined string (with a separator no notice text can contain: control characters
are refused at input) keeps the per-cell Python work out of the hot loop, so a 100,000-row
table is scanned by a handful of regular-expression passes. A position in the joined string
maps back to its field and offset with a binary search.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SEP = "\x00"


def notice_texts(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) for the title, body, summary, table columns and cells, and fields values.

    Rows, columns and list items are counted from 1, as people count them. Attachment URLs
    are left to the link and attachment checks: they are addresses, not prose.
    """
    for name in ("title", "body", "summary"):
        value = data.get(name)
        if isinstance(value, str):
            yield name, value
    table = data.get("table")
    if table:
        for c, column in enumerate(table["columns"], start=1):
            yield f"table.columns[{c}]", column
        for r, row in enumerate(table["rows"], start=1):
            for c, cell in enumerate(row, start=1):
                if isinstance(cell, str):
                    yield f"table.rows[{r}][{c}]", cell
    yield from _values(data.get("fields") or {}, "fields")


def _values(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not (key == "url" and where.startswith("fields.attachments[")):
                yield from _values(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value, start=1):
            yield from _values(item, f"{where}[{i}]")


@dataclass(frozen=True)
class Corpus:
    """The notice's texts joined by :data:`SEP`; ``locate`` turns a position back into a field."""

    text: str
    wheres: list[str]
    starts: list[int]

    @classmethod
    def of(cls, pairs: Iterator[tuple[str, str]]) -> Corpus:
        wheres: list[str] = []
        texts: list[str] = []
        starts: list[int] = []
        at = 0
        for where, text in pairs:
            wheres.append(where)
            texts.append(text)
            starts.append(at)
            at += len(text) + len(SEP)
        return cls(SEP.join(texts), wheres, starts)

    def locate(self, pos: int) -> tuple[str, int]:
        """The field a position of the joined text falls in, and the offset inside it."""
        i = bisect_right(self.starts, pos) - 1
        return self.wheres[i], pos - self.starts[i]
