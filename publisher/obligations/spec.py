"""What an obligation is: its definition, checked strictly, and where the definitions come from.

``config/obligations.toml`` (setting ``obligations_file``; without it the file of that name in
the working directory, else the starter entries shipped with publisher) seeds the database:
entries whose name the database never held are added; afterwards the database is the truth,
edited through the API. A bad entry is refused with one line naming it and the key.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from publisher import kinds, problems
from publisher.errors import ConfigError, InputError
from publisher.settings import REPO_ROOT, Settings

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
EVERY_LABELS = {
    "month": "每月",
    "quarter": "每季度",
    "half_year": "每半年",
    "year": "每年",
    "notice": "每件",
}
FILE_NAME = "obligations.toml"
STARTER = (
    REPO_ROOT / "config" / FILE_NAME
    if (REPO_ROOT / "config" / FILE_NAME).is_file()
    else Path(__file__).resolve().parent.parent / "config" / FILE_NAME
)

Text = Annotated[
    str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=200)
]
UserId = Annotated[
    str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=64)
]


class Obligation(BaseModel):
    """One disclosure duty. Strict: no key the format does not name, no coerced value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Text = Field(description="义务名称，如 行政许可结果月度公开")
    kind: str = Field(description="满足义务的通知类型")
    title_contains: Text | None = Field(default=None, description="标题须包含的文字 (可选)")
    channels: list[Annotated[str, StringConstraints(strict=True)]] = Field(
        default_factory=list, description="须发布到的渠道账号 (默认：该类型的默认路由)"
    )
    department: Text = Field(description="责任科室")
    responsible: list[UserId] = Field(default_factory=list, description="责任人 OA 用户 ID")
    head: list[UserId] = Field(default_factory=list, description="科室负责人 OA 用户 ID")
    leader: list[UserId] = Field(default_factory=list, description="分管领导 OA 用户 ID")
    every: Literal["month", "quarter", "half_year", "year", "notice"]
    working_days: int | None = Field(default=None, strict=True, ge=1, le=250)
    due: Annotated[str, StringConstraints(strict=True, pattern=r"^\d{2}-\d{2}$")] | None = Field(
        default=None, description="every = year 时的固定日期 MM-DD (次年)"
    )
    date_field: Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z_]{1,40}$")] | None = (
        Field(default=None, description="every = notice 时，起算日期所在的字段，如 decided_on")
    )
    basis: Annotated[str, StringConstraints(strict=True, max_length=500)] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> Obligation:
        if not kinds.is_kind(self.kind):
            raise ValueError(f"kind: 未知的通知类型 {self.kind!r}，可选 {'、'.join(kinds.NAMES)}")
        if self.every == "notice":
            if self.date_field is None or self.working_days is None:
                raise ValueError("every = notice 需要 date_field 和 working_days")
            if self.due is not None:
                raise ValueError("due 只用于 every = year")
        else:
            if self.date_field is not None:
                raise ValueError("date_field 只用于 every = notice")
            if (self.working_days is None) == (self.due is None):
                raise ValueError("working_days 和 due 须给出且只给出一个")
            if self.due is not None and self.every != "year":
                raise ValueError("due 只用于 every = year")
        if self.due is not None:
            month, day = (int(p) for p in self.due.split("-"))
            if not 1 <= month <= 12 or not 1 <= day <= (29 if month == 2 else 31):
                raise ValueError(f"due: {self.due} 不是有效的月-日")
        return self

    def rule_text(self) -> str:
        """``每月，期满后 7 个工作日内`` and the like."""
        every = EVERY_LABELS[self.every]
        if self.every == "notice":
            return f"{every}，自 {self.date_field} 起 {self.working_days} 个工作日内"
        if self.due is not None:
            month, day = (int(p) for p in self.due.split("-"))
            return f"{every}，次年 {month}月{day}日前"
        return f"{every}，期满后 {self.working_days} 个工作日内"


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InputError(f"义务名称 {str(name)[:80]!r} 无效：应为 1 到 64 个小写字母、数字、_ 或 -")
    return name


def parse(name: str, raw: object, settings: Settings | None = None) -> Obligation:
    """One definition, checked; InputError with one line naming the obligation and key."""
    check_name(name)
    if not isinstance(raw, dict):
        raise InputError(f"义务 {name}: 应为键值映射")
    try:
        spec = Obligation.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = problems.location(first, "")
        at = f" {where}" if where else ""
        raise InputError(f"义务 {name}{at}: {problems.describe(first)}") from None
    if settings is not None:
        unknown = [c for c in spec.channels if c not in settings.accounts]
        if unknown:
            raise InputError(f"义务 {name} channels: 没有渠道账号 {'、'.join(unknown)}")
    return spec


def dump(spec: Obligation) -> dict[str, Any]:
    """As stored and as the API shows it (absent keys left out)."""
    return spec.model_dump(exclude_none=True)


def source_file(settings: Settings) -> Path:
    if settings.obligations_file is not None:
        return settings.obligations_file
    here = Path("config") / FILE_NAME
    return here if here.is_file() else STARTER


def read_file(settings: Settings) -> dict[str, Obligation]:
    """The definitions in the obligations file; ConfigError with one line for any problem."""
    path = source_file(settings)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"obligations_file: 文件不存在: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"obligations_file: 无法读取 {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"obligations_file: {path}: 不是有效的 TOML: {exc}") from None
    extra = set(data) - {"obligations"}
    if extra:
        raise ConfigError(f"obligations_file: {path}: 未知的顶层键 {'、'.join(sorted(extra))}")
    entries = data.get("obligations", {})
    if not isinstance(entries, dict):
        raise ConfigError(f"obligations_file: {path}: obligations 应为表 [obligations.<名称>]")
    found: dict[str, Obligation] = {}
    for name, raw in entries.items():
        try:
            found[name] = parse(name, raw, settings)
        except InputError as exc:
            raise ConfigError(f"obligations_file: {path}: {exc}") from None
    return found
