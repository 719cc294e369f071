"""Reading the documents people hand us (notice files, the settings file): JSON, YAML or
TOML from UTF-8 bytes, with one set of limits on their shape.

Each caller words the error its own way (a notice file's ``JSON 格式错误，第 3 行``, the
settings file's ``不是有效的 JSON: ... (第 3 行)``); what went wrong, and where, is found here.
The parsers' own descriptions of a syntax error are passed on as they wrote them.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import yaml

FORMATS = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML", ".toml": "TOML"}
MAX_DEPTH = 32  # a table is 4 levels deep (notice, table, rows, row)
# The largest table a notice may carry (100,000 rows of 50 cells) fits; YAML aliases are
# stopped here, a few seconds of walking at worst.
MAX_VALUES = 6_000_000
_TOML_WHERE = re.compile(r" \(at line (\d+), column \d+\)$")


class DocumentError(ValueError):
    """Why a document cannot be used. ``syntax``: the parser refused it, at ``line`` where
    the parser says."""

    def __init__(self, problem: str, *, syntax: bool = False, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.syntax = syntax
        self.line = line


def not_utf8(exc: UnicodeDecodeError) -> str:
    return f"不是 UTF-8 文本（字节偏移 {exc.start}，可能是 GBK 等编码，请另存为 UTF-8）"


def decode(raw: bytes, fmt: str) -> Any:
    """Parse UTF-8 bytes (a byte order mark is fine) as ``fmt``: JSON, YAML or TOML."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(not_utf8(exc)) from None
    try:
        if fmt == "YAML":
            return yaml.safe_load(text)
        if fmt == "TOML":
            return tomllib.loads(text)
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(exc.msg, syntax=True, line=exc.lineno) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        line = mark.line + 1 if mark is not None else None
        raise DocumentError(problem, syntax=True, line=line) from None
    except tomllib.TOMLDecodeError as exc:
        # The line is only in its message: "... (at line 3, column 9)".
        problem = " ".join(str(exc).split())
        found = _TOML_WHERE.search(problem)
        line = int(found.group(1)) if found else None
        problem = _TOML_WHERE.sub("", problem) if found else problem
        raise DocumentError(problem, syntax=True, line=line) from None
    except RecursionError:
        raise DocumentError("嵌套层数过多，无法读取") from None


def check_shape(data: Any) -> None:
    """Refuse what no channel can take, before anything else walks the document.

    At most ``MAX_DEPTH`` levels and ``MAX_VALUES`` values, counted as they expand (YAML
    aliases can make a file of a few hundred bytes stand for billions), and no NUL character
    in any text (PostgreSQL cannot store one). Other control characters are let through:
    text pasted from Word carries vertical tabs (its line breaks); each channel's output
    drops or converts them.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    seen = 0
    while stack:
        value, path = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise DocumentError(f"超过 {MAX_VALUES:,} 个值 (是否有 YAML 别名重复引用了大段内容？)")
        if isinstance(value, str):
            if "\x00" in value:
                where = ".".join(path) or "notice"
                raise DocumentError(f"{where}: 含有 NUL 字符 (U+0000)")
            continue
        if isinstance(value, dict):
            children: Any = [(v, (*path, str(k))) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(v, (*path, str(i + 1))) for i, v in enumerate(value)]
        else:
            continue
        if len(path) + 1 >= MAX_DEPTH:
            raise DocumentError(f"嵌套超过 {MAX_DEPTH} 层")
        stack.extend(children)
