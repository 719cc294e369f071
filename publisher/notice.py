"""The notice input contract, and reading it from JSON, YAML or TOML.

Other capabilities extend this model (new optional fields, kind-specific ``fields``); they do
not break it. Every problem is reported as one :class:`NoticeFormatError` line naming the
field, and nothing is written.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from publisher import problems
from publisher.documents import FORMATS, DocumentError, check_shape, decode
from publisher.errors import NoticeFormatError

Kind = Literal[
    "weather_warning",
    "approval_list",
    "penalty_disclosure",
    "accident_report",
    "budget_disclosure",
    "general",
]

MAX_FILE_BYTES = 10 * 1024 * 1024


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[str] = Field(min_length=1, max_length=50)
    rows: list[list[str | int | float]] = Field(max_length=100_000)

    @model_validator(mode="after")
    def _rows_match_columns(self) -> Table:
        width = len(self.columns)
        for number, row in enumerate(self.rows, start=1):
            if len(row) != width:
                raise ValueError(f"第 {number} 行有 {len(row)} 个单元格，表格有 {width} 列")
        return self


class NoticeInput(BaseModel):
    """A notice as submitted by a person, a script, a CAP feed or a schedule."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=1_000_000)
    summary: str | None = Field(default=None, max_length=2000)
    table: Table | None = None
    channels: list[str] | None = None
    publish_at: datetime | None = None
    urgent: bool | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    pii: Literal["reject", "mask"] = "reject"  # personal data found: refuse, or mask it

    @field_validator("publish_at")
    @classmethod
    def _offset_required(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("必须带时区偏移，例如 2026-12-01T09:00:00+08:00")
        # Far outside any schedule, and near datetime's own limits, where the queue's
        # arithmetic (backoffs, leases) would overflow.
        if not 2000 <= value.year <= 2100:
            raise ValueError("必须在 2000 年到 2100 年之间")
        return value

    @field_validator("channels")
    @classmethod
    def _channels_unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("至少要指定一个渠道账号")
            if len(set(value)) != len(value):
                raise ValueError("同一个渠道账号出现了两次")
        return value

    @property
    def is_urgent(self) -> bool:
        if self.urgent is not None:
            return self.urgent
        return self.kind == "weather_warning"


def describe_validation_error(exc: ValidationError) -> str:
    """One line: the first problem, naming the field."""
    first = exc.errors()[0]
    where = problems.location(first, "notice")
    if first["type"] == "literal_error" and where == "kind":
        expected = "、".join(get_args(Kind))
        return f"kind: 未知的通知类型 {first.get('input')!r}，可选 {expected}"
    return f"{where}: {problems.describe(first)}"


def parse_notice(data: Any) -> NoticeInput:
    if not isinstance(data, dict):
        raise NoticeFormatError("通知应为字段的键值映射 (kind、title、body 等)")
    try:
        check_shape(data)
    except DocumentError as exc:
        raise NoticeFormatError(str(exc)) from None
    try:
        return NoticeInput.model_validate(data)
    except ValidationError as exc:
        raise NoticeFormatError(describe_validation_error(exc)) from None


def decode_document(raw: bytes, suffix: str, name: str) -> Any:
    """Decode a JSON, YAML or TOML document (chosen by suffix; JSON otherwise)."""
    fmt = FORMATS.get(suffix, "JSON")
    try:
        return decode(raw, fmt)
    except DocumentError as exc:
        if not exc.syntax:
            raise NoticeFormatError(f"{name}: {exc}") from None
        at = f"，第 {exc.line} 行" if exc.line is not None else ""
        raise NoticeFormatError(f"{name}: {fmt} 格式错误{at}: {exc.problem}") from None


def load_notice_file(path: Path, fmt: str | None = None) -> NoticeInput:
    """Read a notice from a JSON, YAML or TOML file (``fmt``, else by extension; else JSON).

    The path ``-`` is standard input.
    """
    if str(path) == "-":
        raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise NoticeFormatError(f"标准输入: 超过 {MAX_FILE_BYTES // 1024 // 1024} MB")
        return _parse_document(raw, f".{fmt or 'json'}", "标准输入")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise NoticeFormatError(f"{path}: 文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NoticeFormatError(f"{path}: 文件不存在") from None
    except IsADirectoryError:
        raise NoticeFormatError(f"{path}: 是目录，不是通知文件") from None
    except PermissionError:
        raise NoticeFormatError(f"{path}: 没有读取权限") from None
    return _parse_document(raw, f".{fmt}" if fmt else path.suffix.lower(), str(path))


def _parse_document(raw: bytes, suffix: str, name: str) -> NoticeInput:
    data = decode_document(raw, suffix, name)
    try:
        return parse_notice(data)
    except NoticeFormatError as exc:
        raise NoticeFormatError(f"{name}: {exc}") from None


def notice_fingerprint(notice: NoticeInput) -> str:
    """A stable digest of a notice's content, to tell a replay from a conflicting reuse of a key."""
    import hashlib

    payload = notice.model_dump(mode="json", exclude={"idempotency_key"})
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()
