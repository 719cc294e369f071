"""``publisher notice update|lift|withdraw``: follow-ups of a published notice (issue 11).

Same output and exit codes as ``notice submit`` (0 posted or queued, 1 a delivery failed,
2 refused and nothing stored, 3 timed out waiting, 4 the database is unavailable); the
notice printed is the follow-up, with its link to the original.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from publisher.cli import ROW_ID, Context, pass_ctx
from publisher.cli.acting import act_as, record
from publisher.cli.notices import (
    FORMAT,
    WAIT_OPTION,
    _print_notice,
    exit_after_wait,
    notice,
    wait_for_deliveries,
)
from publisher.lifecycle import Lifecycle
from publisher.lifecycle.present import links_json
from publisher.notice import load_notice_file
from publisher.queue.intake import Submitted
from publisher.runtime import Runtime
from publisher.serialize import notice_json

REASON = click.option("--reason", default=None, help="原因 (撤回时必填)。")


def _follow(
    ctx: Context,
    command: str,
    action: str,
    original: int,
    act: Callable[[Lifecycle, str], Awaitable[Submitted]],
    wait: float | None,
    as_json: bool,
) -> None:
    settings = ctx.settings()

    async def go() -> tuple[dict[str, Any], bool]:
        rt = await Runtime.open(settings)
        try:
            who = await act_as(rt.store, ctx, command)
            done = await act(Lifecycle(rt.intake), who)
            await record(
                rt.store,
                who,
                action,
                notice_id=done.notice_id,
                follows=original,
                replayed=not done.created,
            )

            async def read() -> dict[str, Any]:
                data = notice_json(await rt.store.get_notice(done.notice_id))
                data.update(links_json(await rt.store.notice_links(done.notice_id)))
                return data

            return await wait_for_deliveries(rt, settings.lease_seconds, wait, read)
        finally:
            await rt.close()

    data, final = ctx.run(go())
    _print_notice(data, as_json, settings.zone)
    exit_after_wait(data, final, wait)


AS_JSON = click.option("--json", "as_json", is_flag=True, help="输出 JSON。")


@notice.command("update")
@click.argument("notice_id", type=ROW_ID)
@click.argument("file", type=click.Path(path_type=Path))
@WAIT_OPTION
@AS_JSON
@FORMAT
@pass_ctx
def update(
    ctx: Context, notice_id: int, file: Path, wait: float | None, as_json: bool, fmt: str | None
) -> None:
    """用 FILE 中的新内容更新通知 NOTICE_ID (发布一条更新通知，原通知标记为已更新)。"""
    new = ctx.guard(lambda: load_notice_file(file, fmt))
    _follow(
        ctx,
        "notice update",
        "notice.update",
        notice_id,
        lambda lc, who: lc.update(notice_id, new, source="cli", actor=who),
        wait,
        as_json,
    )


@notice.command("lift")
@click.argument("notice_id", type=ROW_ID)
@REASON
@WAIT_OPTION
@AS_JSON
@pass_ctx
def lift(
    ctx: Context, notice_id: int, reason: str | None, wait: float | None, as_json: bool
) -> None:
    """解除预警 NOTICE_ID (发布一条解除通知，原预警标记为已解除)。"""
    _follow(
        ctx,
        "notice lift",
        "notice.lift",
        notice_id,
        lambda lc, who: lc.lift(notice_id, reason, source="cli", actor=who),
        wait,
        as_json,
    )


@notice.command("withdraw")
@click.argument("notice_id", type=ROW_ID)
@REASON
@WAIT_OPTION
@AS_JSON
@pass_ctx
def withdraw(
    ctx: Context, notice_id: int, reason: str | None, wait: float | None, as_json: bool
) -> None:
    """撤回通知 NOTICE_ID (必须 --reason；门户不再显示原内容，其他渠道删除或发布撤回说明)。"""
    _follow(
        ctx,
        "notice withdraw",
        "notice.withdraw",
        notice_id,
        lambda lc, who: lc.withdraw(notice_id, reason, source="cli", actor=who),
        wait,
        as_json,
    )
