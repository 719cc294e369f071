"""``publisher audit``: the append-only log of who did what, when, from where."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import click

from publisher.cli import ROW_ID, Context, emit, main, pass_ctx
from publisher.cli.acting import act_as
from publisher.errors import InputError
from publisher.runtime import Runtime
from publisher.store.people import AuditRecord

ACTIONS = {
    "notice.submit": "提交通知",
    "delivery.retry": "重新发送",
    "delivery.cancel": "取消投递",
    "user.add": "新增用户",
    "user.disable": "停用用户",
    "user.token": "发放令牌",
    # review chain
    "review.approve": "审核通过",
    "review.reject": "审核驳回",
    "review.resubmit": "修改后重新送审",
    "review.refused": "审核被拒绝",
    "review.notify": "通知审核人",
    "user.oa_id": "登记 OA 账号",
}
SOURCES = {"cli": "命令行", "api": "API", "console": "控制台"}


def _since(value: str, zone: Any) -> datetime:
    """A date (local midnight) or a date and time (local unless it has an offset)."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), zone)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--since 应为日期 (2026-11-27) 或日期时间，而不是 {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def audit_json(e: AuditRecord) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "source": e.source,
        "client": e.client,
        "notice_id": e.notice_id,
        "delivery_id": e.delivery_id,
        "detail": e.detail,
    }


@main.command("audit")
@click.option("--notice", "notice_id", type=ROW_ID, default=None, help="只看这条通知的记录。")
@click.option("--user", "actor", default=None, help="只看这个用户的操作。")
@click.option("--since", default=None, metavar="DATE", help="只看此日期 (或时间) 之后的记录。")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, help="最多显示几条。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def audit(
    ctx: Context,
    notice_id: int | None,
    actor: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """审计日志：谁在何时从何处做了什么 (只追加，不可修改)，最早的在前。"""
    settings = ctx.settings()
    after = ctx.guard(lambda: _since(since, settings.zone)) if since else None

    async def go() -> list[AuditRecord]:
        rt = await Runtime.open(settings)
        try:
            await act_as(rt.store, ctx, "audit")
            return await rt.store.audit_entries(
                notice_id=notice_id, actor=actor, since=after, limit=limit
            )
        finally:
            await rt.close()

    rows = ctx.run(go())
    if as_json:
        emit([audit_json(e) for e in rows])
        return
    if not rows:
        click.echo("没有审计记录")
    for e in rows:
        at = e.at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M:%S")
        where = SOURCES.get(e.source, e.source) + (f"({e.client})" if e.client else "")
        on = " ".join(
            f"{label}#{value}"
            for label, value in (("通知", e.notice_id), ("投递", e.delivery_id))
            if value is not None
        )
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
        line = f"{at}  {e.actor:<12} {ACTIONS.get(e.action, e.action)}  {on}  {where}  {detail}"
        click.echo(line.rstrip())
