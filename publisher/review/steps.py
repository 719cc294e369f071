"""The ``review_steps`` setting, read once into plain steps.

``{"_default": ["reviewer"], "penalty_disclosure": ["reviewer", {"role": "signer"}]}``: each
notice kind (or ``_default`` for the others) gets 0 to 3 steps, each a role code, or
``{"role": R, "all": false}``, or ``{"users": [names], "all": true}``. ``all``: every person
of the step must approve (default: any one of them). A kind mapped to ``[]`` is not reviewed
even when ``_default`` is set. Unset or empty: no review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from publisher import kinds
from publisher.auth.roles import LABELS, Role, check_user_name, parse_role

DEFAULT = "_default"
MAX_STEPS = 3
FAST_COLOURS = frozenset({"橙色", "红色"})


@dataclass(frozen=True)
class Step:
    role: Role | None
    users: tuple[str, ...] = ()
    all: bool = False

    def as_json(self) -> dict[str, Any]:
        if self.role is not None:
            return {"role": self.role.value, "all": self.all}
        return {"users": list(self.users), "all": self.all}

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Step:
        role = data.get("role")
        return cls(
            Role(role) if role else None, tuple(data.get("users") or ()), bool(data.get("all"))
        )

    @property
    def signs(self) -> bool:
        """A signer's step: its approval is the 签发."""
        return self.role == Role.SIGNER

    def label(self) -> str:
        who = LABELS[self.role] if self.role is not None else "、".join(self.users)
        return f"{who}{'（全部）' if self.all else ''}"

    def may_decide(self, name: str, roles: frozenset[str] | set[str]) -> bool:
        if self.role is not None:
            return self.role.value in roles
        return name in self.users


def parse_step(item: Any, where: str) -> Step:
    """One step from the setting; ValueError with a Chinese line naming ``where``."""
    if isinstance(item, str):
        try:
            return Step(parse_role(item))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if not isinstance(item, Mapping):
        raise ValueError(f'{where}: 应为角色名或 {{"role": ...}} / {{"users": [...]}}')
    unknown = set(item) - {"role", "users", "all"}
    if unknown:
        raise ValueError(f"{where}: 未知的键 {', '.join(sorted(unknown))}")
    every = item.get("all", False)
    if not isinstance(every, bool):
        raise ValueError(f"{where}: all 应为 true 或 false")
    role, users = item.get("role"), item.get("users")
    if (role is None) == (users is None):
        raise ValueError(f"{where}: 应给出 role 或 users 之一")
    if role is not None:
        if not isinstance(role, str):
            raise ValueError(f"{where}: role 应为角色名")
        try:
            return Step(parse_role(role), all=every)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if not isinstance(users, list) or not users or not all(isinstance(u, str) for u in users):
        raise ValueError(f"{where}: users 应为非空的用户名列表")
    try:
        names = tuple(check_user_name(u) for u in users)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return Step(None, names, every)


def parse_steps(value: Mapping[str, Any]) -> dict[str, list[Step]]:
    """The whole setting; ValueError naming the first bad entry."""
    out: dict[str, list[Step]] = {}
    for key, items in value.items():
        if key != DEFAULT and not kinds.is_kind(key):
            raise ValueError(f"review_steps: 未知的通知类型 {key!r}")
        if not isinstance(items, list) or len(items) > MAX_STEPS:
            raise ValueError(f"review_steps.{key}: 应为 0 到 {MAX_STEPS} 个步骤的列表")
        out[key] = [parse_step(item, f"review_steps.{key}[{i}]") for i, item in enumerate(items)]
    return out


def steps_for(setting: Mapping[str, Any], kind: str) -> list[Step]:
    """The steps a notice of ``kind`` goes through (empty: released at once)."""
    parsed = parse_steps(setting)
    return parsed.get(kind, parsed.get(DEFAULT, []))


def steps_of(stored: Sequence[Mapping[str, Any]]) -> list[Step]:
    return [Step.of(s) for s in stored]


def fast_path(kind: str, fields: Mapping[str, Any], roles: frozenset[str] | set[str]) -> bool:
    """A duty officer's orange or red weather warning is released at once, reviewed after."""
    return (
        kind == kinds.Kind.WEATHER_WARNING
        and fields.get("color") in FAST_COLOURS
        and Role.DUTY_OFFICER.value in roles
    )
