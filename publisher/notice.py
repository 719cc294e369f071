"""The notice input contract, and reading it from JSON, YAML or TOML.

A notice is checked whole before anything is written: every field, including each key of
``fields`` against its kind's schema (``publisher.kinds``), with one type per field and no
coercion. Every problem is reported as one :class:`NoticeFormatError` line naming the field
(and, for a misspelt one, the field it probably meant).
"""

from __future__ import annotations

import difflib
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializeAsAny,
    StrictBool,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from publisher import kinds, pii, problems
from publisher.documents import FORMATS, DocumentError, check_shape, decode
from publisher.errors import NoticeFormatError
from publisher.values import Body, Cell, Key, Line, Moment, Phrase, Title

MAX_FILE_BYTES = 10 * 1024 * 1024
# A publish_at this far in the past is taken for a mistake unless the submitter says so.
PAST_GRACE = timedelta(minutes=5)


def _known_kind(value: Any) -> str:
    if not kinds.is_kind(value):
        shown = repr(value) if isinstance(value, str | int | float) else type(value).__name__
        raise PydanticCustomError(
            "value_error", f"未知的通知类型 {shown[:80]}，可选 {'、'.join(kinds.NAMES)}"
        )
    return str(value)


KindName = Annotated[
    str,
    BeforeValidator(_known_kind),
    WithJsonSchema({"type": "string", "enum": list(kinds.NAMES)}),
]


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[Line] = Field(min_length=1, max_length=50, description="列名")
    rows: list[list[Cell]] = Field(max_length=100_000, description="每行的单元格：文本或数字")

    @model_validator(mode="after")
    def _rows_match_columns(self) -> Table:
        width = len(self.columns)
        for number, row in enumerate(self.rows, start=1):
            if len(row) != width:
                raise ValueError(f"第 {number} 行有 {len(row)} 个单元格，表格有 {width} 列")
        return self


class NoticeInput(BaseModel):
    """A notice as submitted by a person, a script, a CAP feed or a schedule."""

    model_config = ConfigDict(extra="forbid")

    kind: KindName = Field(description="通知类型")
    title: Title = Field(description="标题")
    body: Body = Field(description="正文 (纯文本，空行分段)")
    summary: Phrase | None = Field(default=None, description="摘要 (微博等短渠道使用)")
    table: Table | None = None
    channels: list[Key] | None = Field(default=None, description="目标渠道账号 (默认按类型路由)")
    publish_at: Moment | None = Field(default=None, description="定时发布时间 (带时区)")
    urgent: StrictBool | None = Field(default=None, description="紧急 (默认: 预警为 true)")
    fields: SerializeAsAny[kinds.Fields] = Field(
        default_factory=kinds.Fields, description="按通知类型的专有字段"
    )
    idempotency_key: Key | None = Field(default=None, description="幂等键：同一键只发一次")
    pii: Literal["reject", "mask"] = Field(
        default="reject", description="发现个人信息时: reject 拒绝，mask 打码后发布"
    )
    allow_past: StrictBool = Field(
        default=False, description="publish_at 早于当前 5 分钟以上时仍然立即发布"
    )
    allow_duplicate: StrictBool = Field(
        default=False,
        description="与 24 小时内提交的通知内容 (类型、标题、正文) 相同时仍然发布",
    )
    # drills (issue 11 C): labelled 【演练】, posted only to sandbox/drill accounts
    drill: StrictBool = Field(default=False, description="演练：只发往演练或沙箱账号")

    @field_validator("fields", mode="wrap")
    @classmethod
    def _by_kind(cls, value: Any, handler: Any, info: ValidationInfo) -> kinds.Fields:
        """Each kind's own schema (the kind is validated first: it comes first)."""
        kind = info.data.get("kind")
        schema = kinds.spec(kind).fields if kind is not None else kinds.Fields
        if isinstance(value, schema):
            return value
        return schema.model_validate(value)

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
        return kinds.spec(self.kind).urgent


def check_timing(notice: NoticeInput, now: datetime) -> None:
    """Refuse what only the clock shows wrong: an expired warning, a past ``publish_at``."""
    valid_until = getattr(notice.fields, "valid_until", None)
    if isinstance(valid_until, datetime) and valid_until <= now:
        raise NoticeFormatError("fields.valid_until: 已经过去，预警已失效，不能再发布")
    late = notice.publish_at is not None and notice.publish_at < now - PAST_GRACE
    if late and not notice.allow_past:
        raise NoticeFormatError(
            "publish_at: 早于当前时间 5 分钟以上；如确要立即发布，命令行加 --now，"
            'API 请求体加 "allow_past": true'
        )


def describe_validation_error(exc: ValidationError, kind: object = None) -> str:
    """One line: the first problem, naming the field."""
    errors = exc.errors()
    # An unknown field first: "titel" is better told as a misspelling than "title" as missing.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    # Rows, cells and list items counted from 1, as people count them.
    where = ".".join(str(p + 1 if isinstance(p, int) else p) for p in first["loc"]) or "notice"
    where = pii.masked(where)  # a key may itself be a mobile or ID number: never echo it
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(
            str(first["loc"][-1]), _names_beside(first["loc"], kind), n=1, cutoff=0.6
        )
        return f"{where}: 未知字段" + (f"，是否应为 {close[0]}？" if close else "")
    return f"{where}: {problems.describe(first)}"


def _names_beside(loc: tuple[int | str, ...], kind: object) -> list[str]:
    """The field names the schema knows where ``loc`` points (``fields.colour``: color, ...)."""
    model: Any = NoticeInput
    for step in loc[:-1]:
        if isinstance(step, int):  # an item of a list
            continue
        if model is NoticeInput and step == "fields":
            model = kinds.spec(str(kind)).fields if kinds.is_kind(kind) else kinds.Fields
            continue
        field = model.model_fields.get(step)
        model = _model_of(field.annotation) if field is not None else None
        if model is None:
            return []
    return list(model.model_fields)


def _model_of(annotation: Any) -> Any:
    """The model a field holds, through ``X | None`` and ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def parse_notice(data: Any) -> NoticeInput:
    """A notice from decoded JSON, YAML or TOML; NoticeFormatError names what is wrong."""
    if not isinstance(data, dict):
        raise NoticeFormatError("通知应为字段的键值映射 (kind、title、body 等)")
    try:
        check_shape(data, text=True)
    except DocumentError as exc:
        raise NoticeFormatError(str(exc)) from None
    try:
        return NoticeInput.model_validate(data)
    except ValidationError as exc:
        raise NoticeFormatError(describe_validation_error(exc, data.get("kind"))) from None


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

    The path ``-`` is standard input. At most ``MAX_FILE_BYTES`` are read from anything,
    a device or a pipe included (``/dev/zero`` has no size to look at first).
    """
    too_big = f"超过 {MAX_FILE_BYTES // 1024 // 1024} MB"
    if str(path) == "-":
        raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise NoticeFormatError(f"标准输入: {too_big}")
        return _parse_document(raw, f".{fmt or 'json'}", "标准输入")
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise NoticeFormatError(f"{path}: 文件不存在") from None
    except IsADirectoryError:
        raise NoticeFormatError(f"{path}: 是目录，不是通知文件") from None
    except PermissionError:
        raise NoticeFormatError(f"{path}: 没有读取权限") from None
    except OSError as exc:
        raise NoticeFormatError(f"{path}: 无法读取: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise NoticeFormatError(f"{path}: 文件{too_big}")
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

    flags = {"idempotency_key", "allow_past", "allow_duplicate"}  # how to submit, not what
    payload = notice.model_dump(mode="json", exclude=flags)
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()


def notice_schema(ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    """The JSON Schema of a notice: one shape per kind, told apart by ``kind``.

    This is what ``POST /api/notices`` declares in the OpenAPI document.
    """
    shapes = []
    for spec in kinds.REGISTRY.values():
        name: Any = Literal[spec.kind.value]
        shapes.append(
            create_model(
                f"{_camel(spec.kind)}Notice",
                __base__=NoticeInput,
                __doc__=f"{spec.label} ({spec.kind})",
                kind=(name, Field(description="通知类型")),
                fields=(spec.fields, Field(default_factory=spec.fields)),
            )
        )
    one_of: Any = Annotated[Union[tuple(shapes)], Field(discriminator="kind")]  # noqa: UP007
    adapter: TypeAdapter[Any] = TypeAdapter(one_of)
    return adapter.json_schema(ref_template=ref_template)


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))
