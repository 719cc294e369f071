"""The notice kinds: the one place that names them.

Each kind has a Chinese label (what channels and the portal call it), a portal category
(the path segment of its section, ``/portal/category/<category>``), whether it is urgent
unless the notice says otherwise, a default route (``None``: every account), and the schema
of its ``fields``: a pydantic model that refuses any key it does not name, so a misspelt
``colour`` is refused instead of dropped. Everything else (input checking, settings,
rendering, the portal, channels) asks this module instead of spelling a kind's name.

Only what templates and channels read, and a person may set, is in a schema. Keys the
product sets itself (``withdrawn``, ``lifted``, ``portal_url``, ...) are not: from outside
they are unknown fields. The one exception is a warning's ``cap``: what CAP intake
(``publisher.cap``) keeps of the message it took in. It is in the schema so that it is typed,
but only validation run with the :data:`INTERNAL` context may set it; from JSON it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_serializer
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from publisher.values import DayText, Line, Link, MomentText, Name, Phrase


class Kind(StrEnum):
    WEATHER_WARNING = "weather_warning"
    APPROVAL_LIST = "approval_list"
    PENALTY_DISCLOSURE = "penalty_disclosure"
    ACCIDENT_REPORT = "accident_report"
    BUDGET_DISCLOSURE = "budget_disclosure"
    GENERAL = "general"


class Attachment(BaseModel):
    """A file the notice links to (the portal lists it under the text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(description="附件名称，例如 处罚决定书.pdf")
    url: Link


class Fields(BaseModel):
    """What every kind may carry in ``fields``. Keys left out are simply absent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: Line | None = Field(default=None, description="发布单位 (落款)")
    department: Line | None = Field(default=None, description="公开单位 (无 issuer 时落款)")
    table_caption: Line | None = Field(default=None, description="门户网站上表格的标题")
    attachments: list[Attachment] | None = Field(default=None, max_length=100)

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: Any) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


# The validation context under which product-set keys (a warning's ``cap``) are accepted.
INTERNAL: dict[str, bool] = {"publisher_internal": True}
LEVELS = {"蓝色": "Ⅳ", "黄色": "Ⅲ", "橙色": "Ⅱ", "红色": "Ⅰ"}  # 中国气象局令第16号


class CapMessage(BaseModel):
    """The CAP message a warning came from (set by CAP intake only; CAP's own names)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    identifier: str
    sender: str
    sent: MomentText
    msgType: Literal["Alert", "Update", "Cancel", "Ack", "Error"]
    status: Literal["Actual", "Exercise", "System", "Test", "Draft"]
    references: list[str] = Field(default_factory=list)  # "sender,identifier,sent" triplets
    onset: MomentText | None = None
    language: str | None = None


class WarningFields(Fields):
    """A weather warning signal (气象灾害预警信号)."""

    signal: Name | None = Field(
        default=None, description="预警信号种类，例如 暴雨、台风、高温", examples=["暴雨"]
    )
    color: Literal["蓝色", "黄色", "橙色", "红色"] | None = Field(
        default=None, description="预警级别的颜色"
    )
    level: Literal["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ"] | None = Field(
        default=None, description="预警级别 (红色 Ⅰ … 蓝色 Ⅳ)，须与颜色一致"
    )
    area: list[Line] | None = Field(
        default=None, max_length=200, description="影响区域", examples=[["城区", "北部山区"]]
    )
    issued_at: MomentText | None = Field(default=None, description="发布时间 (带时区)")
    valid_until: MomentText | None = Field(default=None, description="有效期至 (带时区)")
    advice: list[Phrase] | None = Field(
        default=None, max_length=50, description="防御指南，每项一条"
    )
    contact: Line | None = Field(default=None, description="联系方式 (CAP contact)")
    urgency: Literal["Immediate", "Expected", "Future", "Past", "Unknown"] | None = Field(
        default=None, description="CAP urgency，默认按颜色"
    )
    certainty: Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"] | None = Field(
        default=None, description="CAP certainty，默认按颜色"
    )
    cap_status: Literal["Actual", "Exercise", "System", "Test", "Draft"] | None = Field(
        default=None, description="CAP status，例如演练用 Exercise"
    )

    cap: SkipJsonSchema[CapMessage | None] = None

    @field_validator("level")
    @classmethod
    def _level_matches_colour(cls, value: str | None, info: ValidationInfo) -> str | None:
        colour = info.data.get("color")
        if value is not None and colour is not None and LEVELS[colour] != value:
            raise PydanticCustomError(
                "value_error", f"与颜色 {colour} 不符 ({colour}为 {LEVELS[colour]} 级)"
            )
        return value

    @field_validator("cap", mode="before")
    @classmethod
    def _set_by_intake_only(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and not (info.context or {}).get("publisher_internal"):
            raise PydanticCustomError("value_error", "由 CAP 接收自动记录，不能在通知中填写")
        return value

    @field_validator("valid_until")
    @classmethod
    def _ends_after_it_starts(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        issued = info.data.get("issued_at")
        if value is not None and issued is not None and value <= issued:
            raise PydanticCustomError("value_error", "应晚于发布时间 issued_at")
        return value


class ListFields(Fields):
    """A list published by law (行政许可、行政处罚): the rows are the table."""

    period: Line | None = Field(default=None, description="公示期间，例如 2026年10月")
    # The date a decision was made: per-decision obligations count their working days from it
    # (publisher.obligations; 双公示: online within 7 working days).
    decided_on: DayText | None = Field(default=None, description="决定日期 YYYY-MM-DD")


class AccidentFields(Fields):
    """An accident report (事故信息)."""

    occurred_at: MomentText | None = Field(default=None, description="发生时间 (带时区)")
    location: Line | None = Field(default=None, description="事故地点")
    company: Line | None = Field(default=None, description="事故单位 (门户、微信)")
    unit: Line | None = Field(default=None, description="事故单位 (OA 与机器人)")
    accident_type: Line | None = Field(default=None, description="事故类别 (门户)")
    category: Line | None = Field(default=None, description="事故类别 (OA 与机器人)")
    casualties: Line | None = Field(default=None, description="伤亡情况，例如 1人死亡")
    loss: Line | None = Field(default=None, description="直接经济损失，例如 约120万元")


class BudgetFields(Fields):
    """A budget or final-accounts disclosure (财政预决算、“三公”经费)."""

    year: int | None = Field(default=None, strict=True, ge=2000, le=2100, description="年度")
    unit: Line | None = Field(default=None, description="金额单位，例如 万元")


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    label: str  # what channels and the portal call the kind (its section's title)
    category: str  # the portal section: /portal/category/<category>
    fields: type[Fields]
    urgent: bool = False  # sent ahead of routine notices unless the notice says otherwise
    route: tuple[str, ...] | None = None  # default accounts; None: every account


REGISTRY: dict[Kind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(Kind.WEATHER_WARNING, "预警信息", "weather_warning", WarningFields, urgent=True),
        KindSpec(Kind.APPROVAL_LIST, "行政许可", "approval_list", ListFields),
        KindSpec(Kind.PENALTY_DISCLOSURE, "行政处罚", "penalty_disclosure", ListFields),
        KindSpec(Kind.ACCIDENT_REPORT, "事故信息", "accident_report", AccidentFields),
        KindSpec(Kind.BUDGET_DISCLOSURE, "财政信息", "budget_disclosure", BudgetFields),
        KindSpec(Kind.GENERAL, "工作动态", "general", Fields),
    )
}

NAMES: tuple[str, ...] = tuple(k.value for k in REGISTRY)
LABELS: dict[str, str] = {k.value: s.label for k, s in REGISTRY.items()}


def spec(kind: str) -> KindSpec:
    """The registry entry of ``kind``; KeyError for a name that is not a kind."""
    return REGISTRY[Kind(kind)]


def label(kind: str) -> str:
    return LABELS.get(kind, "")


def is_kind(name: object) -> bool:
    return isinstance(name, str) and name in LABELS
