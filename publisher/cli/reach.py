"""``publisher reach collect`` and ``publisher report reach``: reach, at once and as a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from publisher.cli import EXIT_FAILED, EXIT_INPUT, Context, emit, main, pass_ctx
from publisher.reach import annual_files, formats
from publisher.reach.annual import annual_period, settings_report
from publisher.reach.charts import CHARTS, reach_chart
from publisher.reach.png import svg_to_png
from publisher.reach.report import GROUPINGS, METRICS, ReachReport, period, reach_report
from publisher.runtime import Runtime

OUTPUT = click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="写入文件而不是屏幕。",
)


@main.group()
def reach() -> None:
    """触达：各渠道的阅读、点赞、点击等数据。"""


@reach.command("collect")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def collect(ctx: Context, as_json: bool) -> None:
    """立即采集一次触达数据 (与定时任务相同)，并说明每个渠道账号的结果。"""
    from publisher.metrics import health
    from publisher.metrics.collector import collect_once

    settings = ctx.settings()

    async def go() -> Any:
        rt = await Runtime.open(settings)
        try:
            return await collect_once(
                rt.store,
                rt.channels,
                rt.clock,
                settings.metrics_window_days,
                schedule=settings.metrics_schedule,
                max_posts=settings.metrics_max_posts,
            )
        finally:
            await rt.close()

    results = ctx.run(go())
    failed = [r for r in results if r.error]
    if as_json:
        emit([health.as_json(r) for r in results])
    elif not results:
        click.echo("没有提供触达数据的渠道账号")
    else:
        for r in results:
            click.echo(health.describe(r, settings.zone))
        posts = sum(r.posts for r in results)
        samples = sum(r.samples for r in results)
        click.echo(f"合计: 查询 {posts} 条发布，保存 {samples} 个采样，{len(failed)} 个账号失败")
    if failed:
        names = "、".join(r.account for r in failed)
        click.echo(f"publisher: 以下渠道账号采集失败: {names}", err=True)
        raise SystemExit(EXIT_FAILED)


@main.group()
def report() -> None:
    """统计报表。"""


@report.command("reach")
@click.option("--from", "start", default=None, help="开始日期 YYYY-MM-DD (默认本月 1 日)。")
@click.option("--to", "end", default=None, help="结束日期 YYYY-MM-DD，含当天 (默认今天)。")
@click.option(
    "--by",
    type=click.Choice(GROUPINGS),
    default="channel",
    show_default=True,
    help="按通知、渠道、类别、科室 (提交人所在科室) 或月份分组。",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice((*formats.FORMATS, "svg", "png")),
    default="table",
    show_default=True,
    help="输出格式；xlsx 和 png 需要 --output；svg 和 png 为图表 (见 --chart；png 需要 chromium)。",
)
@click.option(
    "--chart",
    type=click.Choice(CHARTS),
    default=None,
    help="svg/png 图表: time 各渠道触达趋势、top 触达最多的通知、kind 按类别、month 按月份"
    " (默认按 --by: month 或 kind，否则 time)。",
)
@click.option(
    "--metric",
    type=click.Choice(METRICS),
    default=None,
    help="svg/png 图表所用指标 (默认每个渠道账号取其第一项有数据的指标；top 默认 reads)。",
)
@OUTPUT
@pass_ctx
def reach_report_cmd(
    ctx: Context,
    start: str | None,
    end: str | None,
    by: str,
    fmt: str,
    chart: str | None,
    metric: str | None,
    output: Path | None,
) -> None:
    """一段时间内发布的通知的触达：每条发布取各指标的最新采样，按组和渠道账号合计。"""
    if fmt in ("xlsx", "png") and output is None:
        click.echo(f"publisher: 错误: {fmt} 格式需要 --output 指定文件", err=True)
        raise SystemExit(EXIT_INPUT)
    if (chart or metric) and fmt not in ("svg", "png"):
        click.echo("publisher: 错误: --chart 和 --metric 只用于 --format svg 或 png", err=True)
        raise SystemExit(EXIT_INPUT)
    settings = ctx.settings()
    drawn = chart or {"month": "month", "kind": "kind"}.get(by, "time")

    async def go() -> ReachReport | str:
        rt = await Runtime.open(settings)
        try:
            today = rt.clock.now().astimezone(settings.zone).date()
            first, last = period(start, end, today)
            if fmt in ("svg", "png"):
                return await reach_chart(
                    rt.store, drawn, first, last, settings.zone, rt.clock.now(), metric
                )
            return await reach_report(rt.store, first, last, by, settings.zone, rt.clock.now())
        finally:
            await rt.close()

    result = ctx.run(go())
    data: bytes
    if isinstance(result, str):  # a chart
        svg = result
        data = svg.encode()
        if fmt == "png":  # drawn by chromium, after the loop is gone (Playwright's sync API)
            data = ctx.guard(lambda: svg_to_png(svg, settings.chromium))
        _write(data, output, f"图表 {drawn}")
        return
    if fmt == "json":
        data = formats.json_file(result)  # json.dumps(..., indent=2), but fast
    elif fmt == "csv":
        data = formats.as_csv(result)
        if output is None:
            data = data.removeprefix(b"\xef\xbb\xbf")  # the BOM is for Excel, not a terminal
    elif fmt == "xlsx":
        data = formats.as_xlsx(result)
    else:
        data = formats.as_table(result).encode()
    _write(data, output, f"{len(result.rows)} 行")


def _write(data: bytes, output: Path | None, what: str) -> None:
    """To the screen, or to ``output`` whole (a failed write leaves no half file)."""
    if output is None:
        click.echo(data.decode(), nl=False)
        return
    partial = output.with_name(output.name + ".part")  # a failed write leaves no half file
    try:
        partial.write_bytes(data)
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        click.echo(f"publisher: 错误: 无法写入 {output}: {exc.strerror}", err=True)
        raise SystemExit(EXIT_INPUT) from None
    click.echo(f"已写入 {output} ({what})")


@report.command("annual")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="年度，例如 2026。")
@click.option(
    "--half",
    type=click.Choice(("H1", "H2")),
    default=None,
    help="只统计上半年 (H1) 或下半年 (H2)：半年度公开统计。",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(annual_files.FORMATS),
    default="md",
    show_default=True,
    help="输出格式；xlsx 和 docx 需要 --output。",
)
@OUTPUT
@pass_ctx
def annual_report_cmd(
    ctx: Context, year: int, half: str | None, fmt: str, output: Path | None
) -> None:
    """政府信息公开工作年度报告 (国办公开办函〔2021〕30号格式)。

    有数据的栏目 (主动公开条数、行政许可和行政处罚决定数、各渠道发布和阅读、预警、分批公开、
    信息公开义务完成情况) 自动填写，其余标注“（待填写）”。"""
    if fmt in ("xlsx", "docx") and output is None:
        click.echo(f"publisher: 错误: {fmt} 格式需要 --output 指定文件", err=True)
        raise SystemExit(EXIT_INPUT)
    settings = ctx.settings()
    chosen = annual_period(year, half)

    async def go() -> bytes:
        rt = await Runtime.open(settings)
        try:
            found = await settings_report(rt.store, settings, chosen, rt.clock.now())
            return annual_files.render(found, fmt)
        finally:
            await rt.close()

    _write(ctx.run(go()), output, chosen.label)
