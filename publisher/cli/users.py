"""``publisher user add|list|disable|token``: people, their roles and personal API tokens."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from publisher.auth.roles import LABELS, OPERATOR, Role, check_user_name, parse_role
from publisher.auth.secrets import hash_password, new_password, new_token, token_digest
from publisher.cli import Context, emit, main, pass_ctx
from publisher.cli.acting import act_as, record
from publisher.errors import InputError
from publisher.runtime import Runtime
from publisher.store import Store
from publisher.store.people import UserRecord

T = TypeVar("T")

MIN_PASSWORD = 8
FIRST_ADMIN = "admin"


@main.group("user")
def user() -> None:
    """管理用户、角色和个人 API 令牌 (仅管理员)。"""


def _in_store(ctx: Context, fn: Callable[[Store], Awaitable[T]]) -> T:
    settings = ctx.settings()

    async def go() -> T:
        rt = await Runtime.open(settings)
        try:
            return await fn(rt.store)
        finally:
            await rt.close()

    return ctx.run(go())


def user_json(u: UserRecord) -> dict[str, Any]:
    return {
        "name": u.name,
        "roles": sorted(u.roles),
        "department": u.department,
        "disabled": u.disabled,
        "has_password": u.password_hash is not None,
        "has_token": u.has_token,
        "created_at": u.created_at.isoformat(),
    }


def _roles_text(roles: list[str]) -> str:
    return "、".join(LABELS[Role(r)] if r in set(Role) else r for r in roles)


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="角色，可重复给出多个。")
@click.option("--department", default=None, help="所在科室。")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="从标准输入读取控制台登录密码 (只用 API 的用户不需要)。",
)
@pass_ctx
def add(
    ctx: Context, name: str, roles: tuple[str, ...], department: str | None, password_stdin: bool
) -> None:
    """新增用户 NAME，给出一个或多个角色: admin、duty_officer (值班员)、editor (编辑)、
    reviewer (审核)、signer (签发)、comms_officer (只读传播数据)。"""
    try:
        check_user_name(name)
        held = [parse_role(r.strip()) for r in roles]
    except ValueError as exc:
        ctx.fail(InputError(str(exc)))
    if department is not None and not 1 <= len(department.strip()) <= 100:
        ctx.fail(InputError("科室应为 1 到 100 个字符"))
    password_hash = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if len(password) < MIN_PASSWORD:
            ctx.fail(InputError(f"密码至少 {MIN_PASSWORD} 个字符"))
        password_hash = hash_password(password)

    async def go(store: Store) -> UserRecord:
        who = await act_as(store, ctx, "user add")
        made = await store.add_user(
            name, held, department.strip() if department else None, password_hash
        )
        await record(store, who, "user.add", user=name, roles=sorted(made.roles))
        return made

    made = _in_store(ctx, go)
    click.echo(f"已创建用户 {made.name} ({_roles_text(sorted(made.roles))})")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def list_(ctx: Context, as_json: bool) -> None:
    """列出所有用户，包括已停用的。"""

    async def go(store: Store) -> list[UserRecord]:
        await act_as(store, ctx, "user list")
        return await store.list_users()

    data = [user_json(u) for u in _in_store(ctx, go)]
    if as_json:
        emit(data)
        return
    if not data:
        click.echo("还没有用户")
    for u in data:
        state = "已停用" if u["disabled"] else "正常"
        token = "有令牌" if u["has_token"] else "无令牌"
        click.echo(
            f"{u['name']:<16} {_roles_text(u['roles'])}  科室: {u['department'] or '-'}  "
            f"{state}  {token}"
        )


@user.command("disable")
@click.argument("name")
@pass_ctx
def disable(ctx: Context, name: str) -> None:
    """停用用户 NAME：其令牌和密码立即失效 (用户和其记录保留)。"""

    async def go(store: Store) -> UserRecord:
        who = await act_as(store, ctx, "user disable")
        done = await store.disable_user(name)
        await record(store, who, "user.disable", user=name)
        return done

    _in_store(ctx, go)
    click.echo(f"用户 {name} 已停用")


@user.command("token")
@click.argument("name")
@pass_ctx
def token(ctx: Context, name: str) -> None:
    """为用户 NAME 生成新的个人 API 令牌，只显示这一次；此前的令牌随即失效。"""
    secret = new_token()

    async def go(store: Store) -> None:
        who = await act_as(store, ctx, "user token")
        await store.replace_token(name, token_digest(secret))
        await record(store, who, "user.token", user=name)

    _in_store(ctx, go)
    click.echo(secret)
    click.echo(
        f"publisher: 这是用户 {name} 的新 API 令牌，只显示这一次 (此前的令牌已失效)；"
        "调用 API 时发送 Authorization: Bearer <令牌>",
        err=True,
    )


async def ensure_admin(store: Store) -> str | None:
    """On the first run (no user at all), create ``admin`` with a random password and return
    the password; None when users exist (or another process just created the admin)."""
    if await store.has_users():
        return None
    password = new_password()
    try:
        await store.add_user(FIRST_ADMIN, [Role.ADMIN], None, hash_password(password))
    except InputError:  # another process made it first
        return None
    await record(store, OPERATOR, "user.add", user=FIRST_ADMIN, roles=["admin"], first_run=True)
    return password


def first_admin_message(password: str, console_url: str = "") -> str:
    where = f"在 {console_url}/ 登录控制台，" if console_url else "登录控制台后"
    return (
        f"已创建管理员 {FIRST_ADMIN}，初始密码 {password} (只显示这一次)；"
        f"{where}在“修改密码”中修改。"
        f"API 令牌: publisher user token {FIRST_ADMIN}"
    )
