"""``publisher obligations [--overdue] [--department D] [--json]``: the late list, and
``obligations due DATE --working-days N``: a deadline in working days, the rule staff apply by
hand, so they can check the calendar the rest is counted in. ``summary`` and ``remind`` are in
``publisher/cli/obligation_views.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from publisher.cli import Context, emit, main, pass_ctx
from publisher.errors import InputError
from publisher.obligations import workdays

MAX_WORKING_DAYS = 1000  # about four years: beyond any statutory deadline


@main.group(invoke_without_command=True)
@click.option("--overdue", is_flag=True, help="只列出已逾期的。")
@click.option("--department", metavar="D", default=None, help="只列出这个科室的。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.pass_context
def obligations(
    click_ctx: click.Context, overdue: bool, department: str | None, as_json: bool
) -> None:
    """信息公开义务：每项的当期、截止日期、状态和逾期工作日数 (含法定节假日和调休)。"""
    if click_ctx.invoked_subcommand is not None:
        return
    from publisher.cli.obligation_views import show_list

    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    show_list(ctx, overdue, department, as_json)


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"日期应为 YYYY-MM-DD，如 2026-09-30，收到的是 {value!r}") from None


def _parse_count(value: str | None) -> int:
    if value is None:
        raise InputError("请用 --working-days N 给出工作日数")
    try:
        n = int(value.strip())
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_WORKING_DAYS:
        raise InputError(f"--working-days 应为 1 到 {MAX_WORKING_DAYS} 的整数，收到的是 {value!r}")
    return n


def _due_json(result: workdays.DueDate) -> dict[str, Any]:
    return {
        "start": result.start.isoformat(),
        "working_days": result.working_days,
        "due": result.due.isoformat(),
        "weekday": workdays.weekday_name(result.due),
        "skipped": [
            {"first": b.first.isoformat(), "last": b.last.isoformat(), "holidays": list(b.holidays)}
            for b in result.breaks
        ],
        "makeup_working_days": [d.isoformat() for d in result.makeup_days],
        "calendar": workdays.calendar_version(),
    }


def _due_text(result: workdays.DueDate) -> str:
    parts = [f"{result.due.isoformat()}（{workdays.weekday_name(result.due)}）"]
    if result.breaks:
        skipped = "，".join(
            f"{'、'.join(b.holidays)} {workdays.span_text(b.first, b.last)}" for b in result.breaks
        )
        parts.append(f"跳过：{skipped}")
    if result.makeup_days:
        counted = "、".join(
            f"{workdays.span_text(d, d)}（{workdays.weekday_name(d)}）" for d in result.makeup_days
        )
        parts.append(f"调休上班：{counted}")
    return "；".join(parts)


@obligations.command("due")
@click.argument("start", metavar="DATE")
@click.option(
    "--working-days",
    "count",
    metavar="N",
    default=None,
    help="工作日数 (必填)，从 DATE 之后的下一个工作日数起。",
)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def due(ctx: Context, start: str, count: str | None, as_json: bool) -> None:
    """DATE 之后第 N 个工作日 (如决定作出后 7 个工作日内公示)。"""
    result = ctx.guard(lambda: workdays.due_date(_parse_date(start), _parse_count(count)))
    if as_json:
        emit(_due_json(result))
    else:
        click.echo(_due_text(result))
