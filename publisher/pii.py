"""The PII guard: resident ID, mobile and bank card numbers never go out by accident.

Before anything is queued, every text of a notice (title, body, summary, table cells, string
fields) is scanned. A find rejects the notice with its locations, or — when the notice says
``pii: mask`` — is masked, keeping the first and last four characters (``1101**********1234``).

What counts, to keep false alarms rare:
* resident ID (GB 11643-1999): 18 characters, a real birth date, and a valid ISO 7064
  MOD 11-2 check character;
* mobile number: 11 digits starting 13-19 (mainland numbering), not inside a longer number;
* bank card: 16-19 digits (spaces or dashes between groups allowed) passing the Luhn check.
Numbers listed in the ``pii_allow`` setting (an office's published duty mobile) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![\d])(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
BANK_CARD = re.compile(r"(?<![\d])\d{4}(?:[ -]?\d){12,15}(?!\d)")

KIND_LABELS = {"resident_id": "身份证号", "mobile": "手机号", "bank_card": "银行卡号"}


@dataclass(frozen=True)
class Finding:
    where: str  # "body", "title", "table row 3, column 企业名称", "fields.contact"
    kind: str  # resident_id | mobile | bank_card
    start: int
    end: int
    text: str

    def describe(self) -> str:
        return (
            f"{self.where} 第{self.start + 1}个字符起: {KIND_LABELS[self.kind]} {mask(self.text)}"
        )


def valid_resident_id(value: str) -> bool:
    digits = value.upper()
    try:
        born = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date.today():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == digits[17]


def luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask(text: str) -> str:
    """Keep the first and last four characters (digits only for numbers with separators)."""
    core = re.sub(r"[ -]", "", text)
    if core.startswith("+86"):
        core = core[3:]
    elif core.startswith("86") and len(core) == 13:
        core = core[2:]
    keep = 3 if len(core) == 11 else 4  # mobiles read best as 138****1234
    return core[:keep] + "*" * (len(core) - keep - 4) + core[-4:]


def scan_text(text: str, where: str, allow: frozenset[str] = frozenset()) -> list[Finding]:
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, m: re.Match[str]) -> None:
        if any(s < m.end() and m.start() < e for s, e in taken):
            return
        digits = re.sub(r"[ -]", "", m.group())
        if digits in allow or m.group() in allow:
            return
        taken.append((m.start(), m.end()))
        found.append(Finding(where, kind, m.start(), m.end(), m.group()))

    for m in RESIDENT_ID.finditer(text):
        if valid_resident_id(m.group()):
            add("resident_id", m)
    for m in BANK_CARD.finditer(text):
        if luhn(re.sub(r"[ -]", "", m.group())):
            add("bank_card", m)
    for m in MOBILE.finditer(text):
        add("mobile", m)
    return sorted(found, key=lambda f: f.start)


def mask_text(text: str, findings: Iterable[Finding]) -> str:
    for f in sorted(findings, key=lambda f: f.start, reverse=True):
        text = text[: f.start] + mask(f.text) + text[f.end :]
    return text


def texts(notice: dict[str, Any]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every scannable string of a notice dump, as (where, path) pairs."""
    for name in ("title", "body", "summary"):
        if isinstance(notice.get(name), str):
            yield name, (name,)
    table = notice.get("table")
    if table:
        for r, row in enumerate(table["rows"]):
            for c, cell in enumerate(row):
                if isinstance(cell, str):
                    yield f"表格第{r + 1}行「{table['columns'][c]}」", ("table", "rows", r, c)
    yield from _field_texts(notice.get("fields") or {}, "fields", ("fields",))


def _field_texts(
    value: Any, where: str, path: tuple[Any, ...]
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    if isinstance(value, str):
        yield where, path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _field_texts(v, f"{where}.{k}", (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _field_texts(v, f"{where}[{i}]", (*path, i))


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


def guard(
    notice: dict[str, Any], allow: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[Finding]]:
    """Scan a notice dump; return it with findings masked, and the findings."""
    findings: list[Finding] = []
    for where, path in list(texts(notice)):
        text = _get(notice, path)
        found = scan_text(text, where, allow)
        if found:
            findings.extend(found)
            _set(notice, path, mask_text(text, found))
    return notice, findings
