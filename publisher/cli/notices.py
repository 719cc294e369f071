"""``publisher notice submit|show`` and ``publisher preview``."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from pathlib import Path
from typing import Any, NoReturn

import click

from publisher import labels
from publisher.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TIMEOUT,
    ROW_ID,
    Context,
    emit,
    main,
    pass_ctx,
)
from publisher.cli.acting import act_as, record
from publisher.lifecycle.present import links_json, links_lines
from publisher.metrics.samples import latest as latest_metrics
from publisher.notice import load_notice_file
from publisher.queue.states import FINAL, Status
from publisher.review.show import print_record, with_record  # review chain
from publisher.runtime import Runtime
from publisher.serialize import notice_json


@main.group()
def notice() -> None:
    """提交和查看通知。"""


def _exit_code(data: dict[str, Any]) -> int:
    statuses = {d["status"] for d in data["deliveries"]}
    if statuses <= {Status.POSTED}:
        return EXIT_OK
    if statuses & {Status.FAILED, Status.NEEDS_REVIEW, Status.CANCELLED}:
        return EXIT_FAILED
    return EXIT_OK


def _print_notice(data: dict[str, Any], as_json: bool, zone: tzinfo) -> None:
    if as_json:
        emit(data)
        return
    click.echo(f"通知 #{data['id']}  [{data['kind']}]  {data['title']}")
    click.echo(
        f"状态: {labels.status(data['status'])}  创建: {labels.when(data['created_at'], zone)}"
        f"  来源: {data['source']}"
    )
    if data["publish_at"]:
        click.echo(f"定时发布: {labels.when(data['publish_at'], zone)}")
    for line in links_lines(data, zone):  # issue 11: what it follows, what follows it
        click.echo(line)
    if data.get("record"):  # review chain: who drafted, reviewed, signed, released
        print_record(data["record"], zone)
    if data.get("drill"):  # drills (issue 11 C)
        click.echo("演练: 是 (各渠道标注【演练】，只发往演练或沙箱账号)")
    for d in data["deliveries"]:
        where = d["url"] or d["remote_id"] or ""
        line = (
            f"  - #{d['id']} {d['channel']}: {labels.status(d['status'])}"
            f" (尝试 {d['attempts']} 次) {where}"
        )
        click.echo(line.rstrip())
        if d["error"] and d["status"] != Status.POSTED:
            click.echo(f"      原因: {d['error']}")
        if d["note"]:
            click.echo(f"      说明: {d['note']}")
        if d.get("metrics"):
            numbers = "，".join(
                f"{labels.metric(k)} {v}"
                for k, v in d["metrics"].items()
                if k not in ("as_of", "source")
            )
            click.echo(
                f"      触达: {numbers} "
                f"(截至 {labels.when(d['metrics']['as_of'], zone)}，来源 {d['metrics']['source']})"
            )
    for e in data.get("events", []):
        move = f" {labels.status(e['from'])}→{labels.status(e['to'])}" if e["to"] else ""
        target = f" 投递#{e['delivery_id']}" if e["delivery_id"] else ""
        reason = f" ({e['reason']})" if e["reason"] else ""
        click.echo(
            f"  {labels.when(e['at'], zone)}{target} {labels.action(e['action'])}{move}"
            f" 操作者 {e['actor']}{reason}"
        )


def _a_number(value: float | None) -> float | None:
    if value is not None and math.isnan(value):
        raise click.BadParameter("不是数字")
    return value


def _an_actor(value: str | None) -> str | None:
    if value is not None and not 1 <= len(value.strip()) <= 100:
        raise click.BadParameter("应为 1 到 100 个字符")
    return value.strip() if value is not None else None


FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "yaml", "toml"]),
    default=None,
    help="FILE 的格式 (默认按扩展名判断；标准输入和其他扩展名按 JSON)。",
)


NO_WORKER = (
    "publisher: 提示: 没有正在运行的投递进程 (publisher serve 或 publisher worker)，"
    "通知已排队，投递进程启动后发出"
)


# The options `notice submit` shares with `warn` (publisher/cli/warn.py).
WAIT_OPTION = click.option(
    "--wait",
    "wait",
    type=click.FloatRange(0, 86_400),
    callback=lambda _ctx, _param, value: _a_number(value),
    default=None,
    metavar="SECONDS",
    help="最多等待 SECONDS 秒 (不超过一天)，直到每个投递都有结果。",
)
ACTOR_OPTION = click.option(
    "--actor",
    default=None,
    callback=lambda _ctx, _param, value: _an_actor(value),
    help="以这个用户的身份提交 (与 publisher --user 相同；默认 operator)。",
)


async def wait_for_deliveries(
    rt: Runtime,
    lease_seconds: float,
    wait: float | None,
    read: Callable[[], Awaitable[dict[str, Any]]],
) -> tuple[dict[str, Any], bool]:
    """The notice as ``read()`` gives it, and whether every delivery is final: read again
    until they are or ``wait`` seconds have passed (None: read once). Says at once when no
    worker runs (``notice submit``, ``notice update|lift|withdraw``, ``warn``)."""
    deadline = time.monotonic() + (wait or 0)

    async def state() -> tuple[dict[str, Any], bool]:
        data = await read()
        return data, all(d["status"] in FINAL for d in data["deliveries"])

    data, final = await state()
    if not final and not await rt.store.live_workers(lease_seconds):
        click.echo(NO_WORKER, err=True)  # say so now, not only when the wait runs out
    while wait is not None and not final and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        data, final = await state()
    return data, final


def exit_after_wait(data: dict[str, Any], final: bool, wait: float | None) -> NoReturn:
    """Exit 3 when the wait ran out, else as the deliveries went (0 when not waiting)."""
    if wait is not None and not final:
        click.echo(f"publisher: 等待投递超时 (已等 {wait:g} 秒)", err=True)
        raise SystemExit(EXIT_TIMEOUT)
    raise SystemExit(_exit_code(data) if wait is not None else EXIT_OK)


@notice.command("submit")
@click.argument("file", type=click.Path(path_type=Path))
@WAIT_OPTION
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@ACTOR_OPTION
@click.option(
    "--now",
    "publish_now",
    is_flag=True,
    help="publish_at 早于当前时间 5 分钟以上时仍然立即发布 (默认拒绝，以免误发旧稿)。",
)
@click.option(
    "--allow-duplicate",
    is_flag=True,
    help="与 24 小时内提交的通知内容相同时仍然发布 (默认拒绝，以免重复发布)。",
)
@FORMAT
@pass_ctx
def submit(
    ctx: Context,
    file: Path,
    wait: float | None,
    as_json: bool,
    actor: str | None,
    publish_now: bool,
    allow_duplicate: bool,
    fmt: str | None,
) -> None:
    """提交 FILE 中的通知 (JSON、YAML 或 TOML；- 表示标准输入)。"""
    notice_input = ctx.guard(lambda: load_notice_file(file, fmt))
    if publish_now:
        notice_input = notice_input.model_copy(update={"allow_past": True})
    if allow_duplicate:
        notice_input = notice_input.model_copy(update={"allow_duplicate": True})
    settings = ctx.settings()
    if actor is not None:  # the older spelling of the global --user
        ctx.user = actor

    async def go() -> tuple[dict[str, Any], bool]:
        rt = await Runtime.open(settings)
        try:
            who = await act_as(rt.store, ctx, "notice submit")
            done = await rt.intake.submit(notice_input, source="cli", actor=who)
            await record(
                rt.store, who, "notice.submit", notice_id=done.notice_id, replayed=not done.created
            )

            async def read() -> dict[str, Any]:
                data = notice_json(await rt.store.get_notice(done.notice_id))
                return await with_record(rt.store, data)  # review chain

            return await wait_for_deliveries(rt, settings.lease_seconds, wait, read)
        finally:
            await rt.close()

    data, final = ctx.run(go())
    _print_notice(data, as_json, settings.zone)
    exit_after_wait(data, final, wait)


@notice.command("show")
@click.argument("notice_id", type=ROW_ID)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def show(ctx: Context, notice_id: int, as_json: bool) -> None:
    """显示一条通知、它的各个投递和事件历史。"""
    settings = ctx.settings()

    async def go() -> dict[str, Any]:
        rt = await Runtime.open(settings)
        try:
            record = await rt.store.get_notice(notice_id)
            reach = await latest_metrics(rt.store, [d.id for d in record.deliveries])
            data = notice_json(record, events=True, metrics=reach)
            data.update(links_json(await rt.store.notice_links(notice_id)))  # issue 11
            return await with_record(rt.store, data)  # review chain
        finally:
            await rt.close()

    _print_notice(ctx.run(go()), as_json, settings.zone)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--channel", "channels", multiple=True, help="渠道账号 (默认: 通知的目标渠道)。")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@FORMAT
@pass_ctx
def preview(
    ctx: Context, file: Path, channels: tuple[str, ...], as_json: bool, fmt: str | None
) -> None:
    """预览每个渠道将收到的内容，并给出按渠道规则计算的长度 (- 表示标准输入)。"""
    from publisher.checks import check_notice
    from publisher.clock import SystemClock
    from publisher.previews import preview_items
    from publisher.queue.intake import Intake
    from publisher.registry import Channels
    from publisher.render import Renderer

    notice_input = ctx.guard(lambda: load_notice_file(file, fmt))
    settings = ctx.settings()
    report = ctx.run(check_notice(notice_input, settings, with_pii=False))  # as intake does
    ctx.guard(report.raise_for_errors)

    clock = SystemClock()
    options: list[tuple[str, Any]] = []  # issue 11: WeChat mass-send lines (push_preview.py)

    def build() -> list[dict[str, Any]]:
        accounts = Channels(settings, clock, None)
        renderer = Renderer(settings.templates_dir, settings.zone, settings.organization)
        intake = Intake(settings, None, accounts, renderer, clock)  # preview: no database
        targets = [accounts.get(c) for c in channels] if channels else None
        items = preview_items(intake, notice_input, targets)
        for item in items:
            options.append((item["channel"], accounts.get(item["channel"]).adapter.ctx.options))
        return items

    result = ctx.guard(build)
    from publisher.cli.push_preview import push_lines

    pushes = ctx.run(push_lines(settings, clock, notice_input.model_dump(mode="json"), options))
    for item in result:
        if item["channel"] in pushes:
            item["mass_send"] = pushes[item["channel"]]
    if as_json:
        emit(result)
    else:
        for item in result:
            click.echo(f"===== {item['channel']} ({item['type']}, {item['format']}) =====")
            for part, text in item["parts"].items():
                click.echo(f"--- {part} ---")
                click.echo(text)
            for m in item["lengths"]:
                click.echo(f"[{m['part']}: {m['measured']} / {m['limit']} {m['unit']}]")
            for line in item.get("mass_send", []):
                click.echo(line)
            for v in item["violations"]:
                click.echo(f"!! {v}")
    for w in report.warnings:  # JSON keeps its shape: the warnings go to standard error
        click.echo(f"{'publisher: ' if as_json else ''}警告: {w.describe()}", err=as_json)
    raise SystemExit(EXIT_FAILED if any(i["violations"] for i in result) else EXIT_OK)
