"""``publisher reach readers NOTICE_ID``: who has read (or acknowledged) an OA warning, and
who has not, per OA account (``publisher.reach.readers``)."""

from __future__ import annotations

import click

from publisher.cli import Context, emit, pass_ctx
from publisher.cli.reach import reach
from publisher.runtime import Runtime


@reach.command("readers")
@click.argument("notice_id", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON。")
@pass_ctx
def readers(ctx: Context, notice_id: int, as_json: bool) -> None:
    """列出每个 OA 账号中已读 (或已知悉) 和未读这条通知的人 (钉钉、飞书应用，企业微信已知悉)。"""
    from publisher.reach import readers as oa_readers

    settings = ctx.settings()

    async def go() -> str | dict[str, object]:
        rt = await Runtime.open(settings)
        try:
            record, accounts = await oa_readers.readers_of(rt.store, rt.channels, notice_id)
        finally:
            await rt.close()
        if as_json:
            return oa_readers.as_json(record, accounts)
        return oa_readers.as_text(record, accounts, settings.zone)

    result = ctx.run(go())
    if isinstance(result, dict):
        emit(result)
    else:
        click.echo(result, nl=False)
