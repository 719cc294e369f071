"""``publisher review list|approve|reject|resubmit``: the review chain from the server.

The operator on the server acts as the user named by ``--user`` (here or before the
command: ``publisher --user li review approve 12``). Approving and rejecting need a named
user holding the open step's role; ``list`` without a user shows every open review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from publisher import labels
from publisher.auth.roles import OPERATOR
from publisher.cli import ROW_ID, Context, emit, main, pass_ctx
from publisher.cli.acting import act_as, record
from publisher.errors import InputError
from publisher.notice import load_notice_file
from publisher.review.desk import Desk
from publisher.runtime import Runtime

USER = click.option(
    "--user", "user", default=None, help="以这个用户的身份操作 (与 publisher --user 相同)。"
)


@main.group("review")
def review() -> None:
    """审核链 (三审三校)：待我审核的通知、通过、驳回、修改后重新送审。"""


def _as(ctx: Context, user: str | None, *, named: bool) -> None:
    if user is not None:
        ctx.user = user.strip()
    if named and ctx.user == OPERATOR:
        ctx.fail(InputError("审核须以具体用户的身份进行：请用 --user 指定用户名"))


def _print(items: list[dict[str, Any]], zone: Any) -> None:
    if not items:
        click.echo("没有待审核的通知")
    for it in items:
        total = len(it["steps"])
        if it["state"] == "awaiting_review" and it["step"] <= total and not it["flagged"]:
            where = f"第 {it['step']}/{total} 步 {it['steps'][it['step'] - 1]['who']}"
        else:
            where = labels.status(it["state"])
        flag = f"  [{it['flag']}]" if it["flag"] else ""
        mine = "  ← 待您审核" if it.get("yours") else ""
        click.echo(
            f"#{it['notice_id']} [{it['kind']}] {it['title']}  {where}  "
            f"起草 {it['drafted_by']}  第 {it['round']} 轮{flag}{mine}"
        )
        if it["flagged"] and it["state"] == "awaiting_review" and it["step"] <= total:
            click.echo(
                f"    已由 {it['released_by']} 于 {labels.when(it['released_at'], zone)} 发布，"
                f"待第 {it['step']}/{total} 步 {it['steps'][it['step'] - 1]['who']} 补审"
            )
        if it["waiting_for"]:
            click.echo(f"    可审核: {'、'.join(it['waiting_for'])}")
        for step in it["steps"]:
            for d in step["decisions"]:
                word = "通过" if d["decision"] == "approve" else "驳回"
                note = f"：{d['comment']}" if d["comment"] else ""
                click.echo(f"    第 {step['step']} 步 {d['actor']} {word}{note}")
        for w in it["warnings"]:
            click.echo(f"    警告: {w}")
        told = it.get("told")
        if told and not told.get("ok"):
            click.echo(f"    未能通知审核人: {told.get('error')}")
        elif told and told.get("missing"):
            click.echo(f"    未登记 OA 账号、未通知: {'、'.join(told['missing'])}")


def _run(ctx: Context, fn: Any) -> Any:
    settings = ctx.settings()

    async def go() -> Any:
        rt = await Runtime.open(settings)
        try:
            return await fn(rt, Desk(rt.store, rt.settings, rt.channels))
        finally:
            await rt.close()

    return ctx.run(go())


@review.command("list")
@USER
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def list_(ctx: Context, user: str | None, as_json: bool) -> None:
    """列出待审核的通知：--user 给出时只列出待其审核的和其起草的，否则列出全部。"""
    _as(ctx, user, named=False)

    async def go(rt: Runtime, desk: Desk) -> list[dict[str, Any]]:
        if ctx.user == OPERATOR:
            return await desk.listing(None, everything=True)
        await rt.store.get_user(ctx.user)  # NotFoundError: no such user
        return await desk.listing(ctx.user)

    items = _run(ctx, go)
    if as_json:
        emit(items)
    else:
        _print(items, ctx.settings().zone)


def _decide(ctx: Context, notice_id: int, approve: bool, comment: str | None) -> dict[str, Any]:
    command = "review approve" if approve else "review reject"

    async def go(rt: Runtime, desk: Desk) -> dict[str, Any]:
        who = await act_as(rt.store, ctx, command)
        decided = await desk.decide(notice_id, who, approve, comment, source="cli")
        review = decided.review
        await record(
            rt.store,
            who,
            "review.approve" if approve else "review.reject",
            notice_id=notice_id,
            round=review.round,
            comment=comment,
            released=decided.released,
        )
        return {**(await desk.describe(review)), "released": decided.released}

    return dict(_run(ctx, go))


@review.command("approve")
@click.argument("notice_id", type=ROW_ID)
@USER
@click.option("--comment", default=None, help="审核意见 (可选)。")
@pass_ctx
def approve(ctx: Context, notice_id: int, user: str | None, comment: str | None) -> None:
    """以 --user 的身份通过通知 NOTICE_ID 当前的审核步骤；最后一步通过后发布。"""
    _as(ctx, user, named=True)
    if comment is not None and not 1 <= len(comment.strip()) <= 2000:
        ctx.fail(InputError("审核意见应为 1 到 2000 个字符"))
    out = _decide(ctx, notice_id, True, comment.strip() if comment else None)
    if out["released"]:
        click.echo(f"通知 #{notice_id} 审核通过，已放行发布")
    elif out["state"] == "approved":
        click.echo(f"通知 #{notice_id} 补审完毕")
    else:
        click.echo(f"已通过；通知 #{notice_id} 现待第 {out['step']}/{len(out['steps'])} 步审核")


@review.command("reject")
@click.argument("notice_id", type=ROW_ID)
@USER
@click.option("--comment", required=True, help="驳回意见 (必填)，退回起草人修改。")
@pass_ctx
def reject(ctx: Context, notice_id: int, user: str | None, comment: str) -> None:
    """以 --user 的身份驳回通知 NOTICE_ID，退回起草人修改。"""
    _as(ctx, user, named=True)
    if not 1 <= len(comment.strip()) <= 2000:
        ctx.fail(InputError("驳回意见应为 1 到 2000 个字符"))
    out = _decide(ctx, notice_id, False, comment.strip())
    click.echo(f"已驳回通知 #{notice_id}，退回起草人 {out['drafted_by']}")


@review.command("resubmit")
@click.argument("notice_id", type=ROW_ID)
@click.argument("file", type=click.Path(path_type=Path))
@USER
@pass_ctx
def resubmit(ctx: Context, notice_id: int, file: Path, user: str | None) -> None:
    """起草人以 FILE 中修改后的通知替换 NOTICE_ID 并重新送审 (此前的审核意见作废)。"""
    _as(ctx, user, named=True)
    notice = ctx.guard(lambda: load_notice_file(file, None))

    async def go(rt: Runtime, desk: Desk) -> int:
        who = await act_as(rt.store, ctx, "review resubmit")
        fresh = await desk.resubmit(notice_id, who, notice, rt.intake, source="cli")
        await record(rt.store, who, "review.resubmit", notice_id=notice_id, round=fresh.round)
        return fresh.round

    round_ = _run(ctx, go)
    click.echo(f"通知 #{notice_id} 已修改并重新送审 (第 {round_} 轮)")
