"""Finding resident ID, mobile and bank card numbers in one text, and masking them.

The text is normalised first (full-width folded, zero-width dropped, percent-escapes
decoded). Its digits fall into groups; groups separated only by a short run of separators
(space, hyphen, dot) form a chain, so ``110101 19900307 1233`` and ``+86 138-1234-5678`` are
read as single numbers. A candidate is a run of whole groups of a chain: digits glued to more
digits (a 20-digit serial, ``2138123456789``) are never split, while letters around a number
(``ID110101…``) do not hide it. Candidates are checked by :mod:`publisher.pii.numbers`; longer
finds win over shorter overlapping ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from publisher.pii import numbers
from publisher.pii.normalize import MAX_SEPARATORS, SEPARATORS, Normalised, fold, normalise

KIND_LABELS = {"resident_id": "身份证号", "mobile": "手机号", "bank_card": "银行卡号"}
PRIORITY = {"resident_id": 0, "mobile": 1, "bank_card": 2}
MAX_DIGITS = 19
MAX_GROUPS = 6  # "+86 138 1234 5678", "6222 0212 3456 7890 128": people group in a few
LENGTHS = frozenset({11, 13, 15, 16, 17, 18, 19})  # mobile (+86, 0086), IDs, cards
# Words that introduce an organisation's number (public), not a person's.
ORG_CONTEXT = ("信用代码", "注册号", "机构代码", "登记号", "登记证号", "许可证号", "税号")
ORG_CONTEXT_WINDOW = 16

DIGITS = re.compile(r"[0-9]+")
ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Finding:
    where: str  # "body", "title", "表格第3行「电话」", "fields.contact"
    kind: str  # resident_id | mobile | bank_card
    start: int  # in the original text
    end: int
    text: str  # the original characters
    digits: str  # the number itself: 18/15 characters, 11 digits (no country code), 16-19

    def describe(self) -> str:
        label = KIND_LABELS[self.kind]
        return f"{self.where} 第{self.start + 1}个字符起: {label} {mask(self.digits)}"


def digits_of(text: str) -> str:
    """The number in ``text`` as digits (and a final X), a mobile without its country code."""
    core = "".join(ch for ch in map(fold, text) if ch.isdigit() or ch in "Xx").upper()
    return numbers.mobile(core) or core


def mask(text: str) -> str:
    """Keep the first and last four digits; a mobile keeps three and four (138****5678)."""
    core = digits_of(text)
    keep = 3 if len(core) == 11 else 4
    return core[:keep] + "*" * max(len(core) - keep - 4, 0) + core[-4:]


@lru_cache(maxsize=16)
def _allowed(allow: frozenset[str]) -> frozenset[str]:
    return frozenset(digits_of(a) for a in allow) | allow


def _chains(text: str) -> Iterator[list[tuple[int, int]]]:
    """Digit groups of ``text`` (as spans), chained across short separator runs."""
    chain: list[tuple[int, int]] = []
    for m in DIGITS.finditer(text):
        if chain:
            gap = text[chain[-1][1] : m.start()]
            if not (0 < len(gap) <= MAX_SEPARATORS and all(ch in SEPARATORS for ch in gap)):
                yield chain
                chain = []
        chain.append(m.span())
    if chain:
        yield chain


def _token(text: str, start: int, end: int) -> str:
    """The run of ASCII letters and digits around ``text[start:end]``."""
    while start > 0 and text[start - 1] in ALNUM:
        start -= 1
    while end < len(text) and text[end] in ALNUM:
        end += 1
    return text[start:end]


def _organisation(text: str, start: int, end: int, digits: str) -> bool:
    """A unified social credit code or an old registration number, not a person's ID."""
    token = _token(text, start, end)
    if numbers.social_credit_code(token) and any(
        ch.isalpha() for ch in token[:-1]
    ):  # letters inside: only organisations have them
        return True
    before = text[max(0, start - ORG_CONTEXT_WINDOW) : start]
    if not any(word in before for word in ORG_CONTEXT):
        return False
    return len(digits) == 15 or numbers.social_credit_code(digits)


def _kind(digits: str, whole: bool) -> str | None:
    """What ``digits`` is; ``whole``: they are a whole chain or a single group of digits.

    A card is only read from a whole chain: grouped digits that go on (an office's 22-digit
    account, ``2300 1234 … 12``) hold 16-digit runs passing Luhn one time in ten.
    """
    if len(digits) == 18 and numbers.resident_id_18(digits):
        return "resident_id"
    if len(digits) == 15 and numbers.resident_id_15(digits):
        return "resident_id"
    if numbers.mobile(digits):
        return "mobile"
    if whole and numbers.bank_card(digits):
        return "bank_card"
    return None


def _candidates(text: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, kind, digits) in the normalised text, for every valid candidate."""
    for chain in _chains(text):
        for i, (start, _) in enumerate(chain):
            joined = ""
            for j in range(i, min(i + MAX_GROUPS, len(chain))):
                group_start, end = chain[j]
                joined += text[group_start:end]
                if len(joined) > MAX_DIGITS:
                    break
                digits, stop = joined, end
                if len(digits) == 17 and text[end : end + 1] in ("X", "x"):
                    digits, stop = digits + "X", end + 1
                if len(digits) not in LENGTHS:
                    continue
                kind = _kind(digits, whole=i == j or (i == 0 and j == len(chain) - 1))
                if kind is None or _organisation(text, start, stop, digits):
                    continue
                begin = start
                if kind == "mobile":
                    national = numbers.mobile(digits) or digits
                    if national != digits and text[start - 1 : start] == "+":
                        begin = start - 1  # +86 goes with the number
                    digits = national
                yield begin, stop, kind, digits


def scan_normalised(
    norm: Normalised, original: str, where: str, allow: frozenset[str] = frozenset()
) -> list[Finding]:
    allowed = _allowed(allow)
    found: list[Finding] = []
    taken = bytearray(len(norm.text) + 1)  # characters already part of a find
    ranked = sorted(_candidates(norm.text), key=lambda c: (-len(c[3]), PRIORITY[c[2]], c[0]))
    for start, end, kind, digits in ranked:
        if any(taken[start:end]):
            continue
        taken[start:end] = b"\x01" * (end - start)
        o_start, o_end = norm.original_span(start, end)
        if digits in allowed or original[o_start:o_end] in allowed:
            continue
        found.append(Finding(where, kind, o_start, o_end, original[o_start:o_end], digits))
    return sorted(found, key=lambda f: f.start)


def scan_text(text: str, where: str, allow: frozenset[str] = frozenset()) -> list[Finding]:
    """Every personal number in ``text``, located in the original characters."""
    return scan_normalised(normalise(text), text, where, allow)


def mask_text(text: str, findings: Iterable[Finding]) -> str:
    pieces, pos = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        pieces += [text[pos : f.start], mask(f.digits)]
        pos = f.end
    return "".join([*pieces, text[pos:]])
