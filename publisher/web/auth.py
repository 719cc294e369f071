"""Who is calling the API, and may they call this route?

Until the first user exists the API works as before: open on loopback, or behind the service
token ``PUBLISHER_API_TOKEN`` when that is set. Once any user exists (``publisher serve``
creates an ``admin`` on its first run), every ``/api`` call carries
``Authorization: Bearer <token>``: a user's personal token (``publisher user token NAME``) or
the service token, which acts as an admin. No or a wrong token: 401; a role the route's line
in ``publisher/auth/permissions.py`` does not name: 403; too many wrong tokens from one
address: 429 with ``Retry-After`` (``publisher/auth/throttle.py``).

Tokens are compared as sha256 digests: the service token's with ``hmac.compare_digest``; a
personal token's digest is looked up by its (unique) value, which tells a timing observer
nothing usable, as nobody can choose a preimage of a digest.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from publisher.auth.permissions import ROUTES, route_allows
from publisher.auth.roles import ALL_ROLES, LABELS, SERVICE, Role
from publisher.auth.secrets import same_digest, token_digest
from publisher.auth.throttle import Throttle
from publisher.store.people import AuditEntry, Source

log = logging.getLogger("publisher.web.auth")

# Who acts while no user exists and no service token is set (loopback only): as before.
ANONYMOUS = "api"


@dataclass(frozen=True)
class Caller:
    name: str
    roles: frozenset[Role]
    client: str | None


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def _bearer(request: Request) -> str | None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


async def _users_exist(request: Request) -> bool:
    """Once true, true for good (users are disabled, never deleted): asked until then."""
    state = request.app.state
    if not getattr(state, "users_exist", False):
        state.users_exist = await state.runtime.store.has_users()
    return bool(state.users_exist)


async def _identify(request: Request, client: str | None) -> Caller:
    settings = request.app.state.settings
    service = settings.api_token
    given = _bearer(request)
    if service is None and not await _users_exist(request):
        return Caller(ANONYMOUS, ALL_ROLES, client)
    if given is None:
        raise _unauthorized("缺少 API 令牌 (Authorization: Bearer <令牌>)")
    throttle: Throttle = request.app.state.throttle
    key = f"addr:{client}"
    wait = throttle.retry_after(key)
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail=f"令牌错误次数过多，请 {math.ceil(wait)} 秒后再试",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    digest = token_digest(given)
    if service is not None and same_digest(digest, token_digest(service.get_secret_value())):
        return Caller(SERVICE, frozenset({Role.ADMIN}), client)
    user = await request.app.state.runtime.store.user_by_token(digest)
    if user is None or user.disabled:
        throttle.failed(key)
        log.warning("API token refused from %s", client)
        if user is not None:
            raise _unauthorized(f"用户 {user.name} 已停用")
        raise _unauthorized("API 令牌错误")
    roles = frozenset(Role(r) for r in user.roles if r in Role.__members__.values())
    return Caller(user.name, roles, client)


async def authorize(request: Request) -> Caller:
    """The FastAPI dependency of every ``/api`` route: who calls, and may they call this."""
    client = request.client.host if request.client else None
    caller = await _identify(request, client)
    route = request.scope.get("route")
    name = getattr(route, "name", "")
    if not route_allows(name, caller.roles):
        allowed = "、".join(LABELS[r] for r in sorted(ROUTES.get(name, frozenset())))
        need = f"：需要角色 {allowed}" if allowed else ""
        raise HTTPException(status_code=403, detail=f"用户 {caller.name} 无权执行此操作{need}")
    request.state.caller = caller
    return caller


def acting(request: Request) -> str:
    """The name of who calls (after :func:`authorize`): recorded on what they do."""
    caller: Caller = request.state.caller
    return caller.name


async def audit(
    request: Request,
    action: str,
    *,
    notice_id: int | None = None,
    delivery_id: int | None = None,
    **detail: Any,
) -> None:
    """Append what the caller just did to the audit log, with the client's address."""
    caller: Caller = request.state.caller
    entry = AuditEntry(
        actor=caller.name,
        action=action,
        source=Source.API,
        notice_id=notice_id,
        delivery_id=delivery_id,
        client=caller.client,
        detail=detail,
    )
    await request.app.state.runtime.store.append_audit(entry)
