"""``publisher warn FILE.xml``: publish a CAP 1.2 warning, with ``notice submit``'s output and
exit codes (0 posted or queued, 1 a delivery failed, 2 refused and nothing stored, 3 timed
out waiting, 4 the database is unavailable)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from publisher.cap.intake import cap_json, take_in
from publisher.cap.parse import MAX_CAP_BYTES, parse_cap
from publisher.cli import Context, main, pass_ctx
from publisher.cli.acting import act_as, record
from publisher.cli.notices import (
    ACTOR_OPTION,
    WAIT_OPTION,
    _print_notice,
    exit_after_wait,
    wait_for_deliveries,
)
from publisher.errors import CapFormatError
from publisher.review.show import with_record  # review chain
from publisher.runtime import Runtime
from publisher.serialize import notice_json


def read_cap_file(path: Path) -> bytes:
    """The bytes of FILE (``-``: standard input), at most one byte past the CAP limit."""
    if str(path) == "-":
        return sys.stdin.buffer.read(MAX_CAP_BYTES + 1)
    try:
        with path.open("rb") as stream:
            return stream.read(MAX_CAP_BYTES + 1)
    except FileNotFoundError:
        raise CapFormatError(f"{path}: 文件不存在") from None
    except IsADirectoryError:
        raise CapFormatError(f"{path}: 是目录，不是 CAP 文件") from None
    except PermissionError:
        raise CapFormatError(f"{path}: 没有读取权限") from None
    except OSError as exc:
        raise CapFormatError(f"{path}: 无法读取: {exc.strerror}") from None


@main.command("warn")
@click.argument("file", type=click.Path(path_type=Path))
@WAIT_OPTION
@click.option("--json", "as_json", is_flag=True, help="输出 JSON (含 cap 字段)。")
@ACTOR_OPTION
@pass_ctx
def warn(ctx: Context, file: Path, wait: float | None, as_json: bool, actor: str | None) -> None:
    """发布 FILE 中的 CAP 1.2 预警 (- 表示标准输入)；同一 CAP 标识只发布一次。"""
    raw = ctx.guard(lambda: read_cap_file(file))
    ctx.guard(lambda: parse_cap(raw))  # a bad document is refused before any database work
    settings = ctx.settings()
    if actor is not None:  # the older spelling of the global --user
        ctx.user = actor

    async def go() -> tuple[dict[str, Any], bool, str | None]:
        rt = await Runtime.open(settings)
        try:
            who = await act_as(rt.store, ctx, "warn")
            taken = await take_in(rt.intake, raw, via="cli", actor=who)
            notice_id = taken.submitted.notice_id
            await record(
                rt.store,
                who,
                taken.action,
                notice_id=notice_id,
                replayed=not taken.submitted.created,
                cap=True,
            )

            async def read() -> dict[str, Any]:
                record = await rt.store.get_notice(notice_id)
                data = await with_record(rt.store, notice_json(record))  # review chain
                data["cap"] = cap_json(record.fields)
                return data

            if taken.note:
                click.echo(f"publisher: 提示: {taken.note}", err=True)
            data, final = await wait_for_deliveries(rt, settings.lease_seconds, wait, read)
            return data, final, taken.note
        finally:
            await rt.close()

    data, final, note = ctx.run(go())
    if note and as_json:
        data["note"] = note
    _print_notice(data, as_json, settings.zone)
    if not as_json:
        cap = data["cap"]
        refs = f"  引用: {' '.join(cap['references'])}" if cap["references"] else ""
        click.echo(f"CAP: {cap['identifier']}  {cap['msgType']}  {cap['status']}{refs}")
    exit_after_wait(data, final, wait)
