"""What a content check reports: findings, errors or warnings, each one line for a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from publisher.errors import ContentCheckFailed

Severity = Literal["error", "warning"]
# How many error lines a refusal shows; the rest are counted (a 100,000-row table can have many).
MAX_SHOWN = 50


@dataclass(frozen=True)
class Finding:
    """One problem: which check, how serious, where (field and 0-based character offset)."""

    check: str  # names | forbidden | discouraged | links | attachments | pii
    severity: Severity
    where: str  # "title", "table.rows[4][3]", "fields.attachments[1].name" (counted from 1)
    start: int | None
    message: str
    line: str | None = None  # a ready-made line (the PII guard describes its own findings)

    def describe(self) -> str:
        if self.line is not None:
            return self.line
        at = f" 第{self.start + 1}个字符起" if self.start is not None else ""
        return f"{self.where}{at}: {self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "severity": self.severity,
            "where": self.where,
            "position": None if self.start is None else self.start + 1,
            "message": self.describe(),
        }


@dataclass
class Report:
    """Every finding, in the order the checks ran."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def raise_for_errors(self) -> None:
        """Refuse the notice (an input error: CLI exit 2, HTTP 422) when any check failed."""
        errors = self.errors
        if not errors:
            return
        lines = [e.describe() for e in errors[:MAX_SHOWN]]
        if len(errors) > MAX_SHOWN:
            lines.append(f"…另有 {len(errors) - MAX_SHOWN} 处错误")
        raise ContentCheckFailed(lines)
