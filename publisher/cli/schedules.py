"""``publisher schedule add|list|remove|run-now``: recurring notices (publisher/schedules)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from publisher.cli import EXIT_FAILED, EXIT_OK, Context, emit, main, pass_ctx
from publisher.cli.acting import act_as, record
from publisher.runtime import Runtime
from publisher.schedules import model, views
from publisher.schedules.runner import POSTED, ScheduleRunner, describe

T = TypeVar("T")


@main.group()
def schedule() -> None:
    """定期发布的计划：按 cron 表达式，用通知模板加数据文件 (CSV、XLSX) 发布。"""


def _runner(rt: Runtime) -> ScheduleRunner:
    name = f"cli-{socket.gethostname()}-{uuid.uuid4().hex[:6]}"
    return ScheduleRunner(rt.settings, rt.store, rt.intake, rt.clock, name[:80])


def _with_runtime(ctx: Context, fn: Callable[[Runtime, ScheduleRunner], Awaitable[T]]) -> T:
    settings = ctx.settings()

    async def go() -> T:
        rt = await Runtime.open(settings)
        try:
            return await fn(rt, _runner(rt))
        finally:
            await rt.close()

    return ctx.run(go())


@schedule.command("add")
@click.argument("name")
@click.option(
    "--cron", required=True, metavar="EXPR", help='cron 表达式 (分 时 日 月 周)，如 "0 9 1 * *"。'
)
@click.option(
    "--notice",
    "notice_file",
    required=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="通知模板 (JSON、YAML 或 TOML，与 notice submit 相同；标题可用 {year} {month} 等)。",
)
@click.option(
    "--data",
    "data_glob",
    default=None,
    metavar="GLOB",
    help="收件箱内数据文件的模式，如 行政许可-*.xlsx。",
)
@click.option("--disabled", is_flag=True, help="先不启用。")
@pass_ctx
def add(
    ctx: Context, name: str, cron: str, notice_file: Path, data_glob: str | None, disabled: bool
) -> None:
    """添加计划 NAME (数据库中)。"""
    settings = ctx.settings()
    # Everything that needs no database first: nothing is stored unless all of it passes.
    ctx.guard(lambda: model.check_name(name))
    ctx.guard(lambda: model.trigger(cron, settings.zone))
    ctx.guard(lambda: model.check_glob(data_glob))
    template = ctx.guard(lambda: model.read_template(notice_file))

    async def go(rt: Runtime, runner: ScheduleRunner) -> dict[str, Any]:
        who = await act_as(rt.store, ctx, "schedule add")
        row = await views.add(
            runner, name, cron, str(notice_file), template, data_glob, not disabled, who
        )
        await record(rt.store, who, "schedule.add", schedule=row.name, cron=row.cron)
        data = await views.listing(runner)
        return next(s for s in data["schedules"] if s["name"] == row.name)

    added = _with_runtime(ctx, go)
    click.echo(f"已添加计划 {added['name']}，下次执行: {added['next_fire'] or '无 (已停用)'}")


@schedule.command("list")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def list_(ctx: Context, as_json: bool) -> None:
    """列出计划：下次执行时间、上次执行及其结果、错过的执行。"""

    async def go(_rt: Runtime, runner: ScheduleRunner) -> dict[str, Any]:
        return await views.listing(runner)

    data = _with_runtime(ctx, go)
    if as_json:
        emit(data)
    else:
        for line in views.text_lines(data):
            click.echo(line)


@schedule.command("remove")
@click.argument("name")
@pass_ctx
def remove(ctx: Context, name: str) -> None:
    """删除计划 NAME (执行记录保留)。"""

    async def go(rt: Runtime, runner: ScheduleRunner) -> None:
        who = await act_as(rt.store, ctx, "schedule remove")
        await views.remove(runner, name)
        await record(rt.store, who, "schedule.remove", schedule=name)

    _with_runtime(ctx, go)
    click.echo(f"已删除计划 {name}")


@schedule.command("run-now")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def run_now(ctx: Context, name: str, as_json: bool) -> None:
    """立即执行计划 NAME 一次 (用收件箱中的数据文件)；未发布时退出码为 1。"""

    async def go(rt: Runtime, runner: ScheduleRunner) -> dict[str, Any]:
        who = await act_as(rt.store, ctx, "schedule run-now")
        done = await runner.run_now(name, who)
        await record(
            rt.store,
            who,
            "schedule.run",
            notice_id=done.notice_id,
            schedule=name,
            outcome=done.outcome,
        )
        return {
            "schedule": name,
            "fire_time": done.fire_time.astimezone(runner.zone).isoformat(),
            "outcome": done.outcome,
            "detail": done.detail,
            "notice_id": done.notice_id,
            "data_file": done.data_file,
            "said": describe(done),
        }

    result = _with_runtime(ctx, go)
    if as_json:
        emit(result)
    else:
        click.echo(f"计划 {name}: {result['said']}")
    raise SystemExit(EXIT_OK if result["outcome"] == POSTED else EXIT_FAILED)
