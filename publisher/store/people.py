"""What the store gives back about people and their actions (users, the audit log)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class UserRecord:
    id: int
    name: str
    roles: frozenset[str]
    department: str | None
    disabled: bool
    password_hash: str | None
    has_token: bool
    created_at: datetime


class Source(StrEnum):
    """Where an action came from."""

    CLI = "cli"
    API = "api"
    CONSOLE = "console"


@dataclass(frozen=True)
class AuditEntry:
    """One action to append to the audit log (the store adds the id and the time)."""

    actor: str
    action: str
    source: Source
    notice_id: int | None = None
    delivery_id: int | None = None
    client: str | None = None  # the client address (API), the OS user (CLI)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    source: str
    notice_id: int | None
    delivery_id: int | None
    client: str | None
    detail: dict[str, Any]
