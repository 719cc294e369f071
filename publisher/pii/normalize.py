"""Text as a reader sees its digits, with the way back to the original characters.

Personal numbers arrive dressed up: full-width digits (``１３８``), spaces, hyphens or dots
between groups (``138 1234 5678``), zero-width characters inside, percent-encoding in a URL.
:func:`normalise` turns a text into a :class:`Normalised` one whose characters are plain ASCII
where they matter, each remembering the span of original characters it came from, so a find
is located and masked in the original text.

Separators are not removed here: the scanner joins digit groups across them, because which
groups belong together (``序号 1 13812345678``) is a question of the candidate, not the text.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

# Invisible characters someone may slip between digits; they are dropped everywhere.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
# Separators people put between groups of a number (after full-width folding).
SEPARATORS = frozenset(" \u00a0\u2009\u202f-\u2010\u2011\u2012\u2013\u2014\u2015\u2212.")
MAX_SEPARATORS = 3  # "138 - 1234" still reads as one number; a longer gap does not

PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# Anything normalising would change; most texts have none and are used as they are.
NEEDS_WORK = re.compile(r"[%\u200b-\u200d\u2060\ufeff\u3000\uff01-\uff5e]|(?![0-9])\d")


@dataclass(frozen=True)
class Normalised:
    text: str  # one character per kept original character (or percent-escape)
    # for each character of ``text``: its original span (None: the text is unchanged)
    spans: tuple[tuple[int, int], ...] | None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]``."""
        if self.spans is None:
            return start, end
        return self.spans[start][0], self.spans[end - 1][1]


def fold(ch: str) -> str:
    """Full-width forms and any Unicode decimal digit as their ASCII counterparts."""
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    if ch == "\u3000":
        return " "
    if code > 0x7F and ch.isdecimal():
        return str(unicodedata.decimal(ch))
    return ch


def _units(text: str) -> list[tuple[str, int, int]]:
    """(character, start, end) of ``text``, percent-escaped UTF-8 decoded to one unit."""
    units: list[tuple[str, int, int]] = []
    pos = 0
    for m in PERCENT_RUN.finditer(text):
        units.extend((ch, i, i + 1) for i, ch in enumerate(text[pos : m.start()], start=pos))
        units.extend(_decode_escapes(m.group(), m.start()))
        pos = m.end()
    units.extend((ch, i, i + 1) for i, ch in enumerate(text[pos:], start=pos))
    return units


def _decode_escapes(run: str, offset: int) -> list[tuple[str, int, int]]:
    """Decode ``%E2%80%8B%31`` into units; escapes that are not UTF-8 stay literal."""
    units: list[tuple[str, int, int]] = []
    decoder = codecs.getincrementaldecoder("utf-8")()
    started = offset
    for i in range(0, len(run), 3):
        at = offset + i
        if not decoder.getstate()[0]:
            started = at
        try:
            out = decoder.decode(bytes([int(run[i + 1 : i + 3], 16)]))
        except UnicodeDecodeError:
            decoder.reset()
            literal = run[started - offset : i + 3]
            units.extend((ch, j, j + 1) for j, ch in enumerate(literal, started))
            continue
        units.extend((ch, started, at + 3) for ch in out)
    if decoder.getstate()[0]:  # an unfinished sequence at the end
        units.extend((ch, j, j + 1) for j, ch in enumerate(run[started - offset :], started))
    return units


def normalise(text: str) -> Normalised:
    if not NEEDS_WORK.search(text):
        return Normalised(text, None)
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    for ch, start, end in _units(text):
        if ch in ZERO_WIDTH:
            continue
        chars.append(fold(ch))
        spans.append((start, end))
    return Normalised("".join(chars), tuple(spans))
