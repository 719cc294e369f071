"""The types a notice's values may have, each strict: one type per field, nothing coerced.

``"yes"`` is not a boolean, ``5`` is not a colour or a date, NaN is not a number, and a
link is an http(s) address or a clean path on this site. The characters no feed or channel
can carry (C0 controls, non-characters, bidi overrides, lone surrogates) are found by
:func:`bad_character`, which ``documents.check_shape`` applies to every text and every key.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BeforeValidator, PlainSerializer, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

# Control characters other than tab, line feed and carriage return (the two halves of a
# Windows line break); lone surrogates (no UTF-8 form); non-characters; bidi embeddings,
# overrides and isolates (U+202A-202E, U+2066-2069), which turn text around in readers.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
BAD_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\u202a-\u202e\u2066-\u2069" + _NONCHARACTERS + "]"
)
_WHAT = [
    (0x00, 0x1F, "控制字符"),
    (0xD800, 0xDFFF, "不成对的代理字符"),
    (0x202A, 0x202E, "双向文本控制符"),
    (0x2066, 0x2069, "双向文本控制符"),
]


def bad_character(text: str) -> str | None:
    """What is wrong with the first character ``text`` may not carry, or None."""
    found = BAD_CHARACTERS.search(text)
    if found is None:
        return None
    code = ord(found.group())
    what = next((name for lo, hi, name in _WHAT if lo <= code <= hi), "非字符 (noncharacter)")
    return f"U+{code:04X} ({what})"


def shown(key: str) -> str:
    """A key as it can be printed on one line: unprintable characters as ``\\uXXXX``."""
    return "".join(
        c if c.isprintable() and not BAD_CHARACTERS.match(c) else f"\\u{ord(c):04x}" for c in key
    )


# -- numbers ----------------------------------------------------------------------------------

# Beyond 2^53 a number changes on its way through JavaScript and most JSON readers.
MAX_SAFE_INTEGER = 2**53 - 1
# Python refuses to read integers longer than this (sys.get_int_max_str_digits()).
MAX_DIGITS = 4300


class TooManyDigits:
    """An integer in a document too long to read; stands in its place until refused by name."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<{self.digits} 位整数>"


def _cell(value: Any) -> str | int | float:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, (int, float, TooManyDigits)):
        raise PydanticCustomError("cell_type", "应为文本或数字")
    if isinstance(value, TooManyDigits) or (
        isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER
    ):
        raise PydanticCustomError(
            "cell_range",
            f"数字超出范围 (整数的绝对值最大 {MAX_SAFE_INTEGER}；长编号请写成文本，加引号)",
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", "应为有限的数字 (不能是 NaN 或无穷大)")
    return value


Cell = Annotated[
    str | int | float,
    BeforeValidator(_cell),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}]}),
]


# -- dates and times --------------------------------------------------------------------------

DATETIME_EXAMPLE = "2026-12-01T09:00:00+08:00"


def _moment(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError("datetime_parsing", "x") from None
    if not isinstance(value, datetime):  # a number is not a date (no Unix seconds)
        raise PydanticCustomError("datetime_type", "x")
    if value.utcoffset() is None:
        raise PydanticCustomError("value_error", f"必须带时区偏移，例如 {DATETIME_EXAMPLE}")
    # Far outside any schedule, and near datetime's own limits, where the queue's
    # arithmetic (backoffs, leases) would overflow.
    if not 2000 <= value.year <= 2100:
        raise PydanticCustomError("value_error", "必须在 2000 年到 2100 年之间")
    return value


Moment = Annotated[
    datetime,
    BeforeValidator(_moment),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": [DATETIME_EXAMPLE]}),
]
# In ``fields``: kept as the ISO text it was given, as templates and channels read it.
MomentText = Annotated[Moment, PlainSerializer(lambda value: value.isoformat(), return_type=str)]


def _day(value: Any) -> str:
    """A calendar day as ISO text (``2026-09-30``), kept as given: no time, no number."""
    if not isinstance(value, str):
        raise PydanticCustomError("value_error", "应为日期文本 YYYY-MM-DD，例如 2026-09-30")
    text = value.strip()
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise PydanticCustomError("value_error", "应为日期 YYYY-MM-DD，例如 2026-09-30")
    if not 2000 <= day.year <= 2100:
        raise PydanticCustomError("value_error", "必须在 2000 年到 2100 年之间")
    return day.isoformat()


# A day (a decision's date): ISO text in, the same text out (obligations count from it).
DayText = Annotated[
    str,
    BeforeValidator(_day),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-09-30"]}),
]


# -- text -------------------------------------------------------------------------------------


def _text(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(
        strict=True, strip_whitespace=True, min_length=min_length, max_length=max_length
    )


# Strings (nothing else), trimmed, within a length.
Line = Annotated[str, _text(200)]  # a name, a place, a short phrase
Name = Annotated[str, _text(200, min_length=1)]
Phrase = Annotated[str, _text(2000)]  # a sentence or two
Title = Annotated[str, _text(500, min_length=1)]
Body = Annotated[str, _text(1_000_000, min_length=1)]
Key = Annotated[str, _text(200, min_length=1)]


# -- links ------------------------------------------------------------------------------------

_NO_SPACE = re.compile(r"[\s\\]")


def _link(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "x")
    url = value.strip()
    if len(url) > 2000:
        raise PydanticCustomError("value_error", "网址最多 2000 个字符")
    if _NO_SPACE.search(url) or BAD_CHARACTERS.search(url) or not url.isprintable():
        raise PydanticCustomError("value_error", "网址不能含空白、反斜杠或控制字符")
    if url.startswith("/"):
        if url.startswith("//"):
            raise PydanticCustomError("value_error", "站内路径应以一个 / 开头 (不能以 // 开头)")
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError(
            "value_error", "应为 http:// 或 https:// 开头的完整网址，或以 / 开头的站内路径"
        )
    return url


Link = Annotated[
    str,
    BeforeValidator(_link),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 2000,
            "description": "http(s) 完整网址，或以单个 / 开头的站内路径",
            "examples": ["https://www.example.gov.cn/files/a.pdf", "/files/a.pdf"],
        }
    ),
]
