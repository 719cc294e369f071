"""``/login`` and ``/logout``: a form of ``username`` and ``password`` (users from
``publisher user add ... --password-stdin``; the first ``serve`` creates ``admin``)."""

from __future__ import annotations

import math

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from publisher.auth.secrets import verify_password
from publisher.auth.throttle import Throttle
from publisher.console.pages import audit, page, safe_next
from publisher.console.session import (
    LOGIN_COOKIE,
    LOGIN_FORM_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    console_key,
    current,
    login_csrf,
    new_login_cookie,
    new_session_cookie,
    same_token,
)
from publisher.errors import NotFoundError

router = APIRouter(include_in_schema=False)
WRONG = "用户名或密码错误"


def _secure(request: Request) -> bool:
    base: str = request.app.state.settings.public_base_url
    return base.startswith("https://")


def _throttle(request: Request) -> Throttle:
    state = request.app.state
    found: Throttle | None = getattr(state, "login_throttle", None)
    if found is None:
        found = state.login_throttle = Throttle()
    return found


async def _form(request: Request, error: str | None, name: str = "", status: int = 200) -> Response:
    key = await console_key(request)
    cookie, csrf = new_login_cookie(key)
    response = page(
        request,
        "login.html",
        None,
        title="登录",
        csrf=csrf,
        error=error,
        username=name,
        next=safe_next(request.query_params.get("next")),
        status_code=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        cookie,
        max_age=LOGIN_FORM_SECONDS,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/login",
    )
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    if await current(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return await _form(request, None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or "/"))
    if not same_token(str(form.get("csrf") or ""), await login_csrf(request)):
        return await _form(request, "页面已过期，请重新登录", name, status=400)
    client = request.client.host if request.client else "?"
    throttle = _throttle(request)
    keys = (f"user:{name}", f"addr:{client}")
    wait = throttle.retry_after(*keys)
    if wait is not None:
        return await _form(
            request, f"登录失败次数过多，请 {math.ceil(wait)} 秒后再试", name, status=429
        )
    store = request.app.state.runtime.store
    try:
        user = await store.get_user(name) if name else None
    except NotFoundError:
        user = None
    ok = (
        user is not None
        and not user.disabled
        and user.password_hash is not None
        and await anyio.to_thread.run_sync(verify_password, password, user.password_hash)
    )
    if not ok or user is None:
        throttle.failed(*keys)
        await audit(request, name or "-", "console.login_failed")
        return await _form(request, WRONG, name, status=401)
    throttle.succeeded(*keys)
    await audit(request, user.name, "console.login")
    cookie, _ = new_session_cookie(await console_key(request), user.name)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = await current(request)
    form = await request.form()
    if session is not None and same_token(str(form.get("csrf") or ""), session.csrf):
        await audit(request, session.name, "console.logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
