"""``publisher check FILE``: the content checks alone, nothing rendered, queued or written.

Exit 0 when clean or with warnings only (printed), 2 when a check found an error.
"""

from __future__ import annotations

from pathlib import Path

import click

from publisher.cli import EXIT_INPUT, EXIT_OK, Context, emit, main, pass_ctx
from publisher.cli.notices import FORMAT
from publisher.notice import load_notice_file

LABELS = {"error": "错误", "warning": "警告"}


@main.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@click.option(
    "--links/--no-links",
    default=True,
    help="检查正文和附件中的链接能否在 link_timeout 秒内打开 (默认检查)。",
)
@FORMAT
@pass_ctx
def check(ctx: Context, file: Path, as_json: bool, links: bool, fmt: str | None) -> None:
    """检查 FILE 中通知的内容：名称错字、禁用词、链接、附件类型、个人信息 (- 表示标准输入)。"""
    from publisher.checks import check_notice

    notice_input = ctx.guard(lambda: load_notice_file(file, fmt))
    settings = ctx.settings()
    report = ctx.run(check_notice(notice_input, settings, links_on=links))
    if as_json:
        emit(
            {
                "errors": [f.as_json() for f in report.errors],
                "warnings": [f.as_json() for f in report.warnings],
            }
        )
    else:
        for finding in report.findings:
            click.echo(f"{LABELS[finding.severity]}: {finding.describe()}")
        errors, warnings = len(report.errors), len(report.warnings)
        summary = f"检查完成: {errors} 处错误，{warnings} 处警告"
        click.echo(summary if report.findings else "检查通过")
    raise SystemExit(EXIT_INPUT if report.errors else EXIT_OK)
