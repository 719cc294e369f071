"""Who acts on the command line, whether they may, and the audit entry of what they did.

The CLI runs on the server, as someone who can read its settings and database, so by default
it acts as ``operator`` (recorded as such, with the operating-system user). ``--user NAME``
(``publisher --user zhang notice submit ...``) acts as a named user instead: the user must
exist, be enabled and hold a role the command's line in ``publisher/auth/permissions.py``
names, else the command stops with exit 2 before doing anything.
"""

from __future__ import annotations

import getpass
from typing import Any

from publisher.auth.permissions import COMMANDS, command_allows
from publisher.auth.roles import LABELS, OPERATOR, Role
from publisher.cli import Context
from publisher.errors import InputError, StateError
from publisher.store import Store
from publisher.store.people import AuditEntry, Source


async def act_as(store: Store, ctx: Context, command: str) -> str:
    """The name ``command`` runs as, once it is allowed to run."""
    if ctx.user == OPERATOR:
        return OPERATOR
    user = await store.get_user(ctx.user)  # NotFoundError: no such user
    if user.disabled:
        raise StateError(f"用户 {user.name} 已停用")
    roles = {Role(r) for r in user.roles if r in set(Role)}
    if not command_allows(command, roles):
        allowed = "、".join(LABELS[r] for r in sorted(COMMANDS.get(command, frozenset())))
        raise InputError(f"用户 {user.name} 无权执行 {command}：需要角色 {allowed}")
    return user.name


def os_user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment: the entry says nothing
        return None


async def record(
    store: Store,
    actor: str,
    action: str,
    *,
    notice_id: int | None = None,
    delivery_id: int | None = None,
    **detail: Any,
) -> None:
    """Append what ``actor`` just did on the command line (with the OS user) to the log."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        source=Source.CLI,
        notice_id=notice_id,
        delivery_id=delivery_id,
        client=os_user(),
        detail=detail,
    )
    await store.append_audit(entry)
