"""``publisher obligations`` (the late list), ``obligations summary --month``, ``obligations
remind`` and ``publisher freshness``: what the obligations module knows, on the command line."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from publisher.cli import Context, emit, main, pass_ctx
from publisher.cli.obligations import obligations
from publisher.obligations import workdays
from publisher.obligations.status import STATE_LABELS, Status
from publisher.runtime import Runtime


def _today(rt: Runtime) -> date:
    return rt.clock.now().astimezone(rt.settings.zone).date()


def _day(d: date) -> str:
    return f"{d.isoformat()}（{workdays.weekday_name(d)}）"


def _line(r: Status) -> str:
    s = r.spec
    head = f"{r.name}  {s.title}  {s.department}  {r.period_label}"
    if r.due is None:
        return f"{head}  截止 {r.problem}"
    state = STATE_LABELS[r.state]
    if r.state in ("overdue", "met_late"):
        late = f"{r.days_late} 个工作日" if r.days_late is not None else r.problem
        state = f"{state} {late}"
    return f"{head}  截止 {_day(r.due)}  {state}"


def show_list(ctx: Context, overdue: bool, department: str | None, as_json: bool) -> None:
    from publisher.obligations.status import current

    settings = ctx.settings()

    async def go() -> tuple[date, list[Status]]:
        rt = await Runtime.open(settings)
        try:
            today = _today(rt)
            return today, await current(rt.store, settings, today)
        finally:
            await rt.close()

    today, rows = ctx.run(go())
    if overdue:
        rows = [r for r in rows if r.state == "overdue"]
    if department is not None:
        rows = [r for r in rows if r.spec.department == department.strip()]
    if as_json:
        emit(
            {
                "today": today.isoformat(),
                "calendar": workdays.calendar_version(),
                "obligations": [r.as_json() for r in rows],
            }
        )
        return
    click.echo(f"今天 {_day(today)}；节假日数据 {workdays.calendar_version()}")
    if not rows:
        click.echo("没有符合条件的信息公开义务")
    for r in rows:
        click.echo(_line(r))


@obligations.command("summary")
@click.option("--month", metavar="YYYY-MM", required=True, help="统计这个月到期的义务。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def summary(ctx: Context, month: str, as_json: bool) -> None:
    """按科室汇总某月到期的义务：按时、逾期完成、未完成 (用于通报)。"""
    from publisher.obligations.summary import month_summary, parse_month

    ctx.guard(lambda: parse_month(month))
    settings = ctx.settings()

    async def go() -> dict[str, Any]:
        rt = await Runtime.open(settings)
        try:
            return await month_summary(rt.store, settings, month, _today(rt))
        finally:
            await rt.close()

    report = ctx.run(go())
    if as_json:
        emit(report)
        return
    click.echo(f"{report['month']} 到期的信息公开义务（截至 {report['as_of']}）")
    if not report["departments"]:
        click.echo("本月没有到期的义务")
    for d in report["departments"]:
        click.echo(
            f"{d['department']}: 到期 {d['due']} 项，按时 {d['on_time']}，逾期完成 {d['late']}，"
            f"未完成 {d['missing']}，未到期 {d['pending']}，无法计算 {d['unknown']}；"
            f"合计逾期 {d['late_working_days']} 个工作日"
        )
        for item in d["late_items"]:
            click.echo(
                f"  - {item['title']}（{item['period_label']}）截止 {item['due']}，"
                f"{STATE_LABELS[item['state']]} {item['days_late']} 个工作日"
            )


@obligations.command("remind")
@pass_ctx
def remind(ctx: Context) -> None:
    """立即发送到期的提醒和更新告警 (与 serve 的定时任务相同，每条只发一次)。"""
    from publisher.cli.acting import act_as, record
    from publisher.obligations.jobs import run_once

    settings = ctx.settings()

    async def go() -> Any:
        rt = await Runtime.open(settings)
        try:
            actor = await act_as(rt.store, ctx, "obligations remind")
            run = await run_once(rt.store, rt.channels, settings, rt.clock)
            await record(
                rt.store,
                actor,
                "obligations_remind",
                sent=len(run.reminders) + len(run.freshness) - run.failed,
                failed=run.failed,
            )
            return run
        finally:
            await rt.close()

    run = ctx.run(go())
    for a in [*run.reminders, *run.freshness]:
        result = "已发送" if a.error is None else f"失败: {a.error}"
        click.echo(f"{a.subject} {a.period} {a.step} → {'、'.join(a.recipients)}: {result}")
    click.echo(f"发送 {len(run.reminders) + len(run.freshness)} 条，失败 {run.failed} 条")
    if run.failed:
        raise SystemExit(1)


@main.command("freshness")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def freshness_command(ctx: Context, as_json: bool) -> None:
    """每个渠道账号和门户栏目距上次发布的天数，及状态 (正常 / 已提醒 / 告警)。"""
    from publisher.obligations.freshness import STATE_LABELS as FRESH
    from publisher.obligations.freshness import check

    settings = ctx.settings()

    async def go() -> tuple[date, list[Any]]:
        rt = await Runtime.open(settings)
        try:
            today = _today(rt)
            return today, await check(rt.store, settings, today)
        finally:
            await rt.close()

    today, watches = ctx.run(go())
    if as_json:
        emit({"today": today.isoformat(), "watches": [w.as_json() for w in watches]})
        return
    for w in watches:
        days = f"{w.days} 天未发布，" if w.days is not None else ""
        limits = ""
        if w.thresholds:
            reminds = "、".join(map(str, w.thresholds[:-1])) or "无"
            limits = f"（提醒 {reminds} 天，告警 {w.thresholds[-1]} 天）"
        click.echo(f"{w.label}: {days}{FRESH[w.state]}{limits}")
