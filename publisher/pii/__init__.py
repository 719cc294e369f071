"""The PII guard: resident ID, mobile and bank card numbers never go out by accident.

Before anything is queued, every string and every number of a notice is scanned wherever it
sits: title, body, summary, table column names and cells (text or JSON numbers), and ``fields``
keys and values at any depth (attachment names and URLs included). A find rejects the notice
with its locations, or — when the notice says ``pii: mask`` — is masked, keeping the first and
last four digits (``1101**********1234``, a mobile ``138****5678``); a masked number becomes a
string. The masked notice is what is stored and what every channel renders.

Texts are normalised before matching (:mod:`~publisher.pii.normalize`), numbers are found by
:mod:`~publisher.pii.scan` and checked by :mod:`~publisher.pii.numbers`. Numbers listed in the
``pii_allow`` setting (an office's published duty mobile) are left alone.
"""

from __future__ import annotations

import math
from typing import Any

from publisher.pii.numbers import ID_CHECK, ID_WEIGHTS, luhn
from publisher.pii.scan import KIND_LABELS, Finding, mask, mask_text, scan_text

__all__ = [
    "ID_CHECK",
    "ID_WEIGHTS",
    "KIND_LABELS",
    "Finding",
    "guard",
    "luhn",
    "mask",
    "mask_text",
    "scan_text",
]

# A JSON number with more digits than this cannot hold a personal number on its own.
MAX_NUMBER = 10**21


def _number_text(value: int | float) -> str | None:
    """How a number reads on a page, or None when it cannot be a personal number."""
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= MAX_NUMBER:
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value) if abs(value) < MAX_NUMBER else None


class _Guard:
    def __init__(self, allow: frozenset[str]) -> None:
        self.allow = allow
        self.findings: list[Finding] = []

    def text(self, text: str, where: str) -> str:
        found = scan_text(text, where, self.allow)
        self.findings.extend(found)
        return mask_text(text, found) if found else text

    def value(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            return self.text(value, where)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            text = _number_text(value)
            if text is None:
                return value
            masked = self.text(text, where)
            return value if masked == text else masked
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                name = self.text(key, f"{where} 的键名") if isinstance(key, str) else key
                while name in out:  # two keys that mask alike stay two keys
                    name = f"{name}_"
                out[name] = self.value(item, f"{where}.{name}")
            return out
        if isinstance(value, list):
            return [self.value(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return value

    def table(self, table: dict[str, Any]) -> dict[str, Any]:
        columns = [
            self.text(str(name), f"表格第{c + 1}列列名") for c, name in enumerate(table["columns"])
        ]
        rows = [
            [self.value(cell, f"表格第{r + 1}行「{columns[c]}」") for c, cell in enumerate(row)]
            for r, row in enumerate(table["rows"])
        ]
        return {**table, "columns": columns, "rows": rows}


def guard(
    notice: dict[str, Any], allow: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[Finding]]:
    """Scan a notice dump; return a copy with every find masked, and the finds."""
    check = _Guard(allow)
    out = dict(notice)
    for name in ("title", "body", "summary"):
        if isinstance(notice.get(name), str):
            out[name] = check.text(notice[name], name)
    if notice.get("table"):
        out["table"] = check.table(notice["table"])
    if notice.get("fields"):
        out["fields"] = check.value(notice["fields"], "fields")
    return out, check.findings


def masked(text: str) -> str:
    """``text`` with every personal number masked: for messages that must quote what was sent
    (an unknown field's name) without repeating a number."""
    return _Guard(frozenset()).text(text, "")
