"""Cutting text to a channel's limit the way a reader expects: at a sentence or clause end.

Every channel and every template that shortens text goes through :func:`cut`, so a cut never
falls inside a number with its unit (``100毫米``), a date or time (``2026年12月4日5时``), a
document number (``伊政办发〔2026〕30号``), an English word or a link, and it ends with "……".

The cut is at the last clause boundary (。！？；，or a line break) outside brackets that fits
the limit by the channel's own measure — at the end of a whole line when that keeps nearly as
much, so a list loses its last rows rather than half a row; failing that, the last 、 or ：;
failing that, the last position between two protected tokens (a single clause longer than
the limit); and only when a protected token alone is longer than the limit, anywhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

ELLIPSIS = "……"

Measure = Callable[[str], float]

# Where a reader accepts a cut: after a sentence or clause end, or a line break.
CLAUSE_ENDS = "。！？；，!?;\n"
# Weaker places, used only when no clause end fits: an enumeration comma, a colon.
PHRASE_ENDS = "、：:"
# Trailing punctuation dropped before the ellipsis ("……" replaces it).
TRAILING = CLAUSE_ENDS + PHRASE_ENDS + ",. \t"

# A cut at a line end is preferred when it keeps at least this share of the clause cut.
LINE_PREFERENCE = 0.75

OPENERS = "（(《〈“‘「『【〔["
CLOSERS = "）)》〉”’」』】〕]"

_UNITS = (
    "万亿元|亿元|万元|千元|元|毫米|厘米|公里|千米|米|平方米|立方米|公顷|亩|吨|千克|公斤|克|"
    "小时|分钟|秒|级|度|℃|°C|%|％|‰|倍|人次|人|户|家|件|项|起|名|个|辆|台|座|处|条|"
    "[万亿千百]"
)
_DATE = (
    r"(?:\d{4}年)?\d{1,2}月\d{1,2}日(?:\d{1,2}时(?:\d{1,2}分)?)?"
    r"|\d{4}年\d{1,2}月|\d{4}年"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:[+-]\d{2}:?\d{2}|Z)?)?"
    r"|\d{1,2}时\d{1,2}分|\d{1,2}:\d{2}(?::\d{2})?"
)
_NUMBER = rf"\d+(?:[.,]\d+)*(?:\s*[~～\-—至到]\s*\d+(?:[.,]\d+)*)?(?:{_UNITS})*(?:以上|以下)?"

PROTECTED = re.compile(
    "|".join(
        (
            r"https?://[-A-Za-z0-9._~!*'();:@&=+$,/?%#\[\]]+",  # a link
            r"[\u4e00-\u9fff]{0,4}[〔\[（(]\d{4}[〕\]）)]\s*第?\d+\s*号",  # 伊政办发〔2026〕30号
            _DATE,
            _NUMBER,
            r"[A-Za-z0-9][A-Za-z0-9_.'+\-/&@]*",  # an English word, a code, a version
        )
    ),
    re.IGNORECASE,
)


def count_chars(text: str) -> float:
    return float(len(text))


def count_bytes(text: str) -> float:
    return float(len(text.encode("utf-8")))


def count_html_bytes(text: str) -> float:
    """UTF-8 bytes once HTML-escaped (``&`` is 5): what an autoescaped template will send."""
    return float(len(html.escape(text).encode("utf-8")))


MEASURES: dict[str, Measure] = {
    "chars": count_chars,
    "bytes": count_bytes,
    "html_bytes": count_html_bytes,
}


def _inside_tokens(text: str) -> set[int]:
    """Positions ``i`` where a cut ``text[:i]`` would split a protected token."""
    inside: set[int] = set()
    for match in PROTECTED.finditer(text):
        inside.update(range(match.start() + 1, match.end()))
    return inside


def _bracket_depths(text: str) -> list[int]:
    """``depths[i]``: how many brackets are open before position ``i``."""
    depths = [0]
    depth = 0
    for char in text:
        if char in OPENERS:
            depth += 1
        elif char in CLOSERS and depth:
            depth -= 1
        depths.append(depth)
    return depths


def _candidates(text: str) -> list[list[int]]:
    """Cut positions by preference: clause ends, phrase ends, between tokens, anywhere.

    The last resort only serves a limit shorter than the first protected token.
    """
    inside = _inside_tokens(text)
    depths = _bracket_depths(text)
    clauses, phrases, between, anywhere = [], [], [], []
    for i in range(1, len(text)):
        anywhere.append(i)
        if i in inside:
            continue
        between.append(i)
        if depths[i]:
            continue
        if text[i - 1] in CLAUSE_ENDS:
            clauses.append(i)
        elif text[i - 1] in PHRASE_ENDS:
            phrases.append(i)
    return [clauses, phrases, between, anywhere]


def _shortened(text: str, i: int, ellipsis: str) -> str:
    head = text[:i].rstrip(TRAILING)
    # never end on an opening bracket or quote
    while head and head[-1] in OPENERS:
        head = head[:-1].rstrip(TRAILING)
    return head + ellipsis if head else ""


def cut(
    text: str,
    limit: float,
    measure: Measure | str = count_chars,
    ellipsis: str = ELLIPSIS,
) -> str:
    """``text`` if it fits ``limit`` by ``measure``; else its longest head ending at a boundary.

    ``measure`` is a function or the name of one (``"chars"``, ``"bytes"``). The result, with
    ``ellipsis``, fits the limit; when nothing does (a limit shorter than the ellipsis), the
    result is empty.

    >>> cut("过去6小时降雨量已达100毫米，预计仍有强降雨。", 16)
    '过去6小时降雨量已达100毫米……'
    """
    measure_fn = MEASURES[measure] if isinstance(measure, str) else measure
    text = text or ""
    if measure_fn(text) <= limit:
        return text
    clauses, *weaker = _candidates(text)
    best = _last_fitting(text, clauses, limit, measure_fn, ellipsis)
    if best:
        # a list or several paragraphs: end on a whole line when that costs little
        lines = [i for i in clauses if text[i - 1] == "\n"]
        whole = _last_fitting(text, lines, limit, measure_fn, ellipsis)
        if whole and measure_fn(whole) >= LINE_PREFERENCE * measure_fn(best):
            return whole
        return best
    for positions in weaker:
        best = _last_fitting(text, positions, limit, measure_fn, ellipsis)
        if best:
            return best
    return ""


def _last_fitting(
    text: str, positions: list[int], limit: float, measure: Measure, ellipsis: str
) -> str:
    """The shortened text at the last position that fits (measures grow with the prefix)."""
    lo, hi = 0, len(positions) - 1
    found = -1
    while lo <= hi:  # binary search for the last fitting position
        mid = (lo + hi) // 2
        candidate = _shortened(text, positions[mid], ellipsis)
        if candidate and measure(candidate) <= limit:
            found, lo = mid, mid + 1
        else:
            hi = mid - 1
    return _shortened(text, positions[found], ellipsis) if found >= 0 else ""
