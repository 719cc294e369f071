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

from publisher.values import MAX_DIGITS, TooManyDigits, bad_character, shown

FORMATS = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML", ".toml": "TOML"}
MAX_DEPTH = 32  # a table is 4 levels deep (notice, table, rows, row)
# The largest table a notice may carry (100,000 rows of 50 cells) fits; YAML aliases are
# stopped here, a few seconds of walking at worst.
MAX_VALUES = 6_000_000
_TOO_MANY = f"超过 {MAX_VALUES:,} 个值 (是否有 YAML 别名重复引用了大段内容？)"
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
            return yaml.load(text, Loader=_YamlLoader)
        if fmt == "TOML":
            return tomllib.loads(text)
        return json.loads(text, parse_int=_json_int)
    except DocumentError:
        raise
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
    except ValueError as exc:  # tomllib: an integer too long to read
        if "digits" not in str(exc):
            raise
        raise DocumentError(f"含有超过 {MAX_DIGITS} 位的整数") from None


def _json_int(text: str) -> int | TooManyDigits:
    """An integer, or (too long to read) a stand-in that the notice's schema refuses by name."""
    digits = len(text.lstrip("-"))
    return int(text) if digits <= MAX_DIGITS else TooManyDigits(digits)


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader that counts what aliases expand to before building anything.

    A few hundred bytes of nested aliases can stand for billions of values ("billion
    laughs"); the node graph is walked once (each node once), so refusing takes
    milliseconds, not the seconds of walking the expanded result.
    """

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expansion(node)
        return super().construct_document(node)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        digits = len(str(node.value).lstrip("+-").replace("_", ""))
        if digits > MAX_DIGITS:
            return TooManyDigits(digits)
        return super().construct_yaml_int(node)


_YamlLoader.add_constructor("tag:yaml.org,2002:int", _YamlLoader.construct_yaml_int)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a YAML node graph that expands to more than ``MAX_VALUES`` values, or to a loop."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            if size[key] > MAX_VALUES:
                raise DocumentError(_TOO_MANY)
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise DocumentError("YAML 别名引用了自身 (循环引用)")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_shape(data: Any, *, text: bool = False) -> None:
    """Refuse what no channel can take, before anything else walks the document.

    At most ``MAX_DEPTH`` levels and ``MAX_VALUES`` values, counted as they expand, and no
    NUL character in any text (PostgreSQL cannot store one). With ``text`` (a notice: what
    is published), every text and every key is also free of the characters no feed or
    reader can carry (``values.bad_character``): other control characters, lone
    surrogates, non-characters and bidi overrides, which turn text around.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    seen = 0
    while stack:
        value, path = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise DocumentError(_TOO_MANY)
        if isinstance(value, str):
            _check_text(value, path, text)
            continue
        if isinstance(value, dict):
            if text:
                for k in value:
                    if isinstance(k, str) and (problem := bad_character(k)):
                        where = ".".join((*path, shown(k)))
                        raise DocumentError(f"{where}: 字段名含有不允许的字符 {problem}")
            children: Any = [(v, (*path, str(k))) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(v, (*path, str(i + 1))) for i, v in enumerate(value)]
        else:
            continue
        if len(path) + 1 >= MAX_DEPTH:
            raise DocumentError(f"嵌套超过 {MAX_DEPTH} 层")
        stack.extend(reversed(children))  # the first problem in reading order is the one told


def _check_text(value: str, path: tuple[str, ...], strict: bool) -> None:
    where = ".".join(path) or "notice"
    if "\x00" in value:
        raise DocumentError(f"{where}: 含有 NUL 字符 (U+0000)")
    if strict and (problem := bad_character(value)):
        raise DocumentError(f"{where}: 含有不允许的字符 {problem}")
