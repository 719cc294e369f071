"""The roles a user may hold, with the codes used on the CLI, in the API and in the store."""

from __future__ import annotations

import re
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DUTY_OFFICER = "duty_officer"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    SIGNER = "signer"
    COMMS_OFFICER = "comms_officer"


LABELS: dict[Role, str] = {
    Role.ADMIN: "管理员",
    Role.DUTY_OFFICER: "值班员",
    Role.EDITOR: "编辑",
    Role.REVIEWER: "审核",
    Role.SIGNER: "签发",
    Role.COMMS_OFFICER: "宣传(只读传播数据)",
}

ALL_ROLES: frozenset[Role] = frozenset(Role)

# A user name is a login and appears in the audit log: letters (any script), digits, "_.-".
USER_NAME = re.compile(r"[\w.-]{1,64}")

# Identities that are not users: the CLI's default operator and the service token.
OPERATOR = "operator"
SERVICE = "service"
RESERVED_NAMES = frozenset({OPERATOR, SERVICE})


def parse_role(code: str) -> Role:
    """The role named by ``code``; ValueError with a one-line Chinese message otherwise."""
    try:
        return Role(code)
    except ValueError:
        known = "、".join(r.value for r in Role)
        raise ValueError(f"未知角色 {code!r}，可用: {known}") from None


def check_user_name(name: str) -> str:
    """``name`` if it may name a user; ValueError with a one-line Chinese message otherwise."""
    if not USER_NAME.fullmatch(name):
        raise ValueError(f"用户名 {name!r} 无效：应为 1 到 64 个字母、数字或 _ . -")
    if name in RESERVED_NAMES:
        raise ValueError(f"用户名 {name!r} 是保留名称，请换一个")
    return name
