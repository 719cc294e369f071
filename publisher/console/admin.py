"""Administration pages: 渠道状态 (what ``doctor`` says, per account), 审计日志, 用户管理."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from publisher.auth.roles import LABELS, Role, check_user_name, parse_role
from publisher.auth.secrets import hash_password, verify_password
from publisher.console.channel_state import account_health
from publisher.console.pages import audit, guard, guard_post, page
from publisher.errors import ChannelError, PublisherError
from publisher.states import Status
from publisher.store.monitor import MonitorFilter

router = APIRouter(include_in_schema=False)
MIN_PASSWORD = 12
CHECK_SECONDS = 10.0


async def _account_rows(request: Request) -> list[dict[str, Any]]:
    rt = request.app.state.runtime
    now = rt.clock.now()
    last = {a.name: await rt.store.last_posted(a.name) for a in rt.channels}
    health = await account_health(rt, last)  # breaker, quota, reach collection, freshness
    rows = []
    for account in rt.channels:
        posted_at = last[account.name]
        troubled = 0
        for status in (Status.FAILED, Status.NEEDS_REVIEW):
            troubled += len(
                await rt.store.monitor_rows(
                    MonitorFilter(status=status, account=account.name), limit=100
                )
            )
        rows.append(
            {
                "name": account.name,
                "type": account.type_name,
                "display": account.adapter.options.display_name or account.name,
                "sandbox": account.adapter.options.sandbox,
                "last_post": posted_at,
                "days": (now - posted_at).days if posted_at else None,
                "troubled": troubled,
                **health[account.name],
            }
        )
    return rows


@router.get("/channels")
async def channels(request: Request) -> Response:
    session = await guard(request, "channels")
    return page(
        request,
        "channels.html",
        session,
        title="渠道状态",
        accounts=await _account_rows(request),
        checked={},
    )


@router.post("/channels/check")
async def check_channels(request: Request) -> Response:
    """Ask every account's platform whether its credentials work (as ``doctor`` does)."""
    session, _ = await guard_post(request, "channels")
    checked: dict[str, str] = {}
    for account in request.app.state.runtime.channels:
        try:
            await asyncio.wait_for(account.adapter.check(), CHECK_SECONDS)
            checked[account.name] = "正常"
        except TimeoutError:
            checked[account.name] = f"{int(CHECK_SECONDS)} 秒内没有回应"
        except ChannelError as exc:
            checked[account.name] = str(exc)
        except Exception as exc:  # a broken adapter must not take the page down
            checked[account.name] = f"检查出错: {type(exc).__name__}"
    return page(
        request,
        "channels.html",
        session,
        title="渠道状态",
        accounts=await _account_rows(request),
        checked=checked,
    )


def _since(value: str, zone: Any) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(value), time(), zone) if value else None
    except ValueError:
        return None


@router.get("/audit")
async def audit_log(request: Request) -> Response:
    session = await guard(request, "audit")
    q = request.query_params
    notice = q.get("notice", "")
    chosen = {"notice": notice, "user": q.get("user", ""), "since": q.get("since", "")}
    entries = await request.app.state.runtime.store.audit_entries(
        notice_id=int(notice) if notice.isdigit() else None,
        actor=chosen["user"] or None,
        since=_since(chosen["since"], request.app.state.settings.zone),
        limit=500,
    )
    return page(
        request,
        "audit.html",
        session,
        title="审计日志",
        entries=list(reversed(entries)),
        chosen=chosen,
    )


@router.get("/users")
async def users(request: Request) -> Response:
    session = await guard(request, "users")
    return await _users_page(request, session, None)


async def _users_page(
    request: Request, session: Any, error: str | None, status: int = 200
) -> Response:
    listed = await request.app.state.runtime.store.list_users()
    return page(
        request,
        "users.html",
        session,
        title="用户管理",
        users=listed,
        error=error,
        roles=[(r.value, LABELS[r]) for r in Role],
        status_code=status,
    )


@router.post("/users")
async def add_user(request: Request) -> Response:
    session, form = await guard_post(request, "users")
    store = request.app.state.runtime.store
    name = str(form.get("username") or "").strip()
    department = str(form.get("department") or "").strip() or None
    password = str(form.get("password") or "")
    try:
        check_user_name(name)
        held = [parse_role(str(r)) for r in form.getlist("roles")]
        if not held:
            raise ValueError("请至少选择一个角色")
        if department is not None and len(department) > 100:
            raise ValueError("科室应为 1 到 100 个字符")
        if password and len(password) < MIN_PASSWORD:
            raise ValueError(f"密码至少 {MIN_PASSWORD} 个字符")
        hashed = await anyio.to_thread.run_sync(hash_password, password) if password else None
        made = await store.add_user(name, held, department, hashed)
    except (ValueError, PublisherError) as exc:
        return await _users_page(request, session, str(exc), status=422)
    await audit(request, session.name, "user.add", user=made.name, roles=sorted(made.roles))
    return RedirectResponse("/users?done=added", status_code=303)


@router.post("/users/{name}/disable")
async def disable_user(request: Request, name: str) -> Response:
    session, _ = await guard_post(request, "users")
    store = request.app.state.runtime.store
    if name == session.name:
        return await _users_page(request, session, "不能停用自己", status=409)
    try:
        await store.disable_user(name)
    except PublisherError as exc:
        return await _users_page(request, session, str(exc), status=404)
    await audit(request, session.name, "user.disable", user=name)
    return RedirectResponse("/users?done=disabled", status_code=303)


@router.get("/account")
async def account(request: Request) -> Response:
    session = await guard(request, "account")
    return page(request, "account.html", session, title="修改密码", error=None)


@router.post("/account")
async def change_password(request: Request) -> Response:
    session, form = await guard_post(request, "account")
    store = request.app.state.runtime.store
    current_pw = str(form.get("current") or "")
    new = str(form.get("new") or "")
    again = str(form.get("again") or "")
    user = await store.get_user(session.name)
    ok = user.password_hash is not None and await anyio.to_thread.run_sync(
        verify_password, current_pw, user.password_hash
    )
    error = None
    if not ok:
        error = "当前密码不正确"
    elif len(new) < MIN_PASSWORD:
        error = f"新密码至少 {MIN_PASSWORD} 个字符"
    elif new != again:
        error = "两次输入的新密码不一致"
    if error:
        return page(
            request, "account.html", session, title="修改密码", error=error, status_code=422
        )
    await store.set_password(session.name, await anyio.to_thread.run_sync(hash_password, new))
    await audit(request, session.name, "user.password", user=session.name)
    return RedirectResponse("/account?done=password", status_code=303)
