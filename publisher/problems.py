"""pydantic's validation problems, worded in Chinese for the people who made them.

The one place pydantic error types become interface text, for notices (files and API bodies),
settings, channel accounts and API parameters. Each caller puts the location in front (a
field path, a setting's name). A type not listed keeps pydantic's own text; ``value_error``
keeps ours, as raised by our validators.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_BOOL = "应为布尔值 (true 或 false)"
_INT = "应为整数"
_NUMBER = "应为数字"
_DATETIME = "应为带时区的日期时间，例如 2026-12-01T09:00:00+08:00"

# pydantic error type -> text; {name} is filled from the error's ``ctx``.
MESSAGES: dict[str, str] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "未知字段",
    "bool_type": _BOOL,
    "bool_parsing": _BOOL,
    "int_type": _INT,
    "int_parsing": _INT,
    "int_from_float": "应为整数，不能带小数",
    "int_parsing_size": "整数超出可用范围",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "finite_number": "应为有限的数字",
    "string_type": "应为文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符，应匹配 {pattern}",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "dict_type": "应为键值映射",
    "model_type": "应为键值映射",
    "model_attributes_type": "应为键值映射",
    "too_short": "至少 {min_length} 项，实际 {actual_length} 项",
    "too_long": "最多 {max_length} 项，实际 {actual_length} 项",
    "literal_error": "应为 {expected} 之一",
    "enum": "应为 {expected} 之一",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "url_type": "应为网址",
    "url_parsing": "不是有效的网址 ({error})",
    "url_scheme": "网址协议应为 {expected_schemes}",
    "url_too_long": "网址最多 {max_length} 个字符",
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "date_type": "应为日期，例如 2026-12-01",
    "date_parsing": "应为日期，例如 2026-12-01",
    "date_from_datetime_parsing": "应为日期，例如 2026-12-01",
    "none_required": "应为空 (null)",
    "json_invalid": "不是有效的 JSON ({error})",
}

# "'a', 'b' or 'c'" (pydantic's list of allowed values) -> "'a'、'b'、'c'"
_BETWEEN_CHOICES = re.compile(r"' or '|', '")


def describe(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as Chinese text."""
    kind = str(error.get("type", ""))
    message = str(error.get("msg", ""))
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if kind == "assertion_error":
        return message.removeprefix("Assertion failed, ")
    template = MESSAGES.get(kind)
    if template is None:
        return message
    ctx = {k: _choices(v) if k == "expected" else v for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**ctx)
    except (KeyError, IndexError, ValueError):  # a context pydantic did not give this time
        return message


def location(error: Mapping[str, Any], default: str) -> str:
    """The error's field path, dotted (``table.rows``), or ``default`` for the whole thing."""
    return ".".join(str(p) for p in error.get("loc", ())) or default


def _choices(expected: Any) -> str:
    return _BETWEEN_CHOICES.sub("'、'", str(expected))
