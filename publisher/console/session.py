"""Who is logged in to the console: signed session cookies, CSRF tokens, login throttling.

A session is a cookie ``publisher_session`` holding ``name|issued|csrf`` and an HMAC-SHA256
of it under the console key. The key is ``PUBLISHER_SESSION_SECRET`` when set; otherwise one
is made at random on first use and kept in the database (the credentials table, as channel
tokens are), so sessions survive a restart and every ``serve`` on one database agrees.

Every form carries the session's CSRF token in a hidden field ``csrf``; a POST without the
right one is refused with 403. The login form, which has no session yet, carries a token from
a signed pre-login cookie ``publisher_login``. The cookies are HttpOnly and SameSite=Lax, and
Secure when the public address is https.

A user's roles and whether they are disabled are read from the store on every request, so
disabling a user or taking a role away takes effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from fastapi import Request

from publisher.auth.roles import Role
from publisher.errors import NotFoundError

SESSION_COOKIE = "publisher_session"
LOGIN_COOKIE = "publisher_login"
KEY_ACCOUNT = "_console"  # the credentials row that holds a generated key
KEY_NAME = "session_key"
SESSION_SECONDS = 12 * 3600  # a duty officer's shift
LOGIN_FORM_SECONDS = 3600


@dataclass(frozen=True)
class Session:
    name: str
    roles: frozenset[Role]
    department: str | None
    csrf: str


async def console_key(request: Request) -> bytes:
    """The HMAC key of console cookies (made once and kept when none is configured)."""
    state = request.app.state
    cached: bytes | None = getattr(state, "console_key", None)
    if cached is not None:
        return cached
    configured = state.settings.session_secret
    if configured is not None:
        key = configured.get_secret_value().encode("utf-8")
    else:
        store = state.runtime.store
        found = await store.get_credential(KEY_ACCOUNT, KEY_NAME)
        if found is None:
            await store.put_credential(KEY_ACCOUNT, KEY_NAME, secrets.token_urlsafe(32), None)
            found = await store.get_credential(KEY_ACCOUNT, KEY_NAME)
        assert found is not None
        key = found[0].encode("utf-8")
    state.console_key = key
    return bytes(key)


def _sign(key: bytes, payload: str) -> str:
    mac = hmac.new(key, payload.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def seal(key: bytes, *parts: str) -> str:
    """``parts`` joined and signed, as a cookie value (parts must not contain ``|``)."""
    payload = "|".join(parts)
    raw = base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")
    return f"{raw}.{_sign(key, payload)}"


def unseal(key: bytes, value: str | None, max_age: float) -> list[str] | None:
    """The parts of a sealed value, or None when it is missing, forged or too old."""
    if not value or "." not in value:
        return None
    raw, _, mac = value.rpartition(".")
    try:
        payload = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(_sign(key, payload), mac):
        return None
    parts = payload.split("|")
    try:
        issued = float(parts[1])
    except (IndexError, ValueError):
        return None
    if not 0 <= time.time() - issued <= max_age:
        return None
    return parts


def new_session_cookie(key: bytes, name: str) -> tuple[str, str]:
    """A fresh session for ``name``: (cookie value, its CSRF token)."""
    csrf = secrets.token_urlsafe(24)
    return seal(key, name, str(int(time.time())), csrf), csrf


def new_login_cookie(key: bytes) -> tuple[str, str]:
    csrf = secrets.token_urlsafe(24)
    return seal(key, "login", str(int(time.time())), csrf), csrf


async def current(request: Request) -> Session | None:
    """The logged-in user of this request, or None (no cookie, a forged or old one, a user
    since disabled)."""
    key = await console_key(request)
    parts = unseal(key, request.cookies.get(SESSION_COOKIE), SESSION_SECONDS)
    if parts is None or len(parts) != 3:
        return None
    name, _, csrf = parts
    try:
        user = await request.app.state.runtime.store.get_user(name)
    except NotFoundError:
        return None
    if user.disabled:
        return None
    roles = frozenset(Role(r) for r in user.roles if r in Role.__members__.values())
    return Session(name, roles, user.department, csrf)


async def login_csrf(request: Request) -> str | None:
    """The CSRF token of the pre-login cookie, when it is genuine and fresh."""
    key = await console_key(request)
    parts = unseal(key, request.cookies.get(LOGIN_COOKIE), LOGIN_FORM_SECONDS)
    if parts is None or len(parts) != 3 or parts[0] != "login":
        return None
    return parts[2]


def same_token(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
