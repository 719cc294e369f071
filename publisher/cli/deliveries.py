"""``publisher deliveries list|retry|cancel``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from publisher import labels
from publisher.cli import ROW_ID, Context, emit, main, pass_ctx
from publisher.cli.acting import act_as, record
from publisher.queue import manual
from publisher.queue.states import Status
from publisher.runtime import Runtime
from publisher.serialize import delivery_json
from publisher.store.records import DeliveryRecord


@main.group()
def deliveries() -> None:
    """查看和处理投递 (一条通知在一个渠道账号上的发布)。"""


async def _with_runtime(settings: Any, fn: Any) -> Any:
    rt = await Runtime.open(settings)
    try:
        return await fn(rt)
    finally:
        await rt.close()


async def _as_user(ctx: Context, rt: Runtime, verb: str, delivery_id: int) -> Any:
    """Retry or cancel as the CLI's user (``publisher --user``), recorded in the audit log."""
    who = await act_as(rt.store, ctx, f"deliveries {verb}")
    done = await getattr(rt.store, verb)(delivery_id, actor=who)
    await record(rt.store, who, f"delivery.{verb}", notice_id=done.notice_id, delivery_id=done.id)
    return done


@deliveries.command("list")
@click.option(
    "--status", type=click.Choice([s.value for s in Status]), default=None, help="只列出此状态。"
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, help="最多列出几条。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def list_(ctx: Context, status: str | None, limit: int, as_json: bool) -> None:
    """列出投递，最新的在前。"""
    settings = ctx.settings()
    rows = ctx.run(
        _with_runtime(settings, lambda rt: rt.store.list_deliveries(status=status, limit=limit))
    )
    data = [delivery_json(d) for d in rows]
    if as_json:
        emit(data)
        return
    if not data:
        click.echo("没有投递记录")
    for d in data:
        click.echo(
            f"#{d['id']:<6} 通知#{d['notice_id']:<6} {d['channel']:<12} "
            f"{labels.status(d['status']):<16} 尝试{d['attempts']}次 "
            f"{d['url'] or d['error'] or ''}".rstrip()
        )


@deliveries.command("retry")
@click.argument("delivery_id", type=ROW_ID)
@click.option(
    "--force",
    is_flag=True,
    help="待人工核查的投递在无法查询的渠道上也重新发送 (渠道上可能已有这条发布，请先确认)。",
)
@pass_ctx
def retry(ctx: Context, delivery_id: int, force: bool) -> None:
    """重新发送失败、已取消或待人工核查的投递 (不早于通知的定时发布时间)。

    待人工核查的投递：渠道可查询时先查询，已发布的记为已发布，不再重发；
    渠道无法查询时需加 --force。
    """
    settings = ctx.settings()

    async def go(rt: Runtime) -> tuple[DeliveryRecord, datetime]:
        who = await act_as(rt.store, ctx, "deliveries retry")
        done = await manual.retry(rt.store, rt.channels, delivery_id, who, force=force)
        await record(rt.store, who, "delivery.retry", notice_id=done.notice_id, delivery_id=done.id)
        return done, rt.clock.now()

    d, now = ctx.run(_with_runtime(settings, go))
    if d.status == Status.SENDING:
        click.echo(f"投递 #{d.id} 已重新排队: 先向渠道 {d.account} 核对是否已发布，未发布才重发")
    elif d.not_before > now:
        when = labels.when(d.not_before, settings.zone)
        click.echo(f"投递 #{d.id} 已重新排队: 按定时于 {when} 发布")
    else:
        click.echo(f"投递 #{d.id} 已重新排队: {labels.status(d.status)}")


@deliveries.command("cancel")
@click.argument("delivery_id", type=ROW_ID)
@pass_ctx
def cancel(ctx: Context, delivery_id: int) -> None:
    """取消尚未发布的投递。"""
    settings = ctx.settings()
    d = ctx.run(_with_runtime(settings, lambda rt: _as_user(ctx, rt, "cancel", delivery_id)))
    click.echo(f"投递 #{d.id} 已取消")
