"""Uploading the data file of a schedule's next fire (CSV or XLSX), shared by
``POST /api/schedules/{name}/data`` and the console's schedules page: checked now against
the template's columns (a bad file is refused and nothing kept), then it replaces an upload
not used yet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from publisher.errors import InputError
from publisher.schedules import data as datafiles
from publisher.schedules import model
from publisher.schedules.runner import ScheduleRunner

FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Uploaded:
    schedule: str
    file: str
    rows: int


async def store_upload(runner: ScheduleRunner, name: str, fmt: str, raw: bytes) -> Uploaded:
    """Check and keep ``raw`` as the next fire's data file of ``name``.

    NotFoundError: no such schedule. InputError (one line): nothing kept."""
    schedule = await runner.get(name)
    if fmt not in FORMATS:
        raise InputError(f"不支持的格式 {fmt[:20]!r} (可用: csv、xlsx)")
    if not schedule.data_glob:
        raise InputError(f"计划 {name} 不使用数据文件 (添加时没有给出 data)")
    try:
        template = schedule.template or model.read_template(Path(schedule.notice_file))
    except InputError as exc:
        raise InputError(f"通知模板有误: {exc}") from None
    table = template.get("table")
    columns = table.get("columns") if isinstance(table, dict) else None
    folder = datafiles.uploads_dir(runner.inbox, name)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = runner.clock.now().astimezone(runner.zone).strftime("%Y%m%d-%H%M%S")
    part = folder / f".upload-{stamp}.{fmt}.part"
    part.write_bytes(raw)
    checking = part.with_name(f".check-{stamp}.{fmt}")
    part.replace(checking)
    try:
        table_read = datafiles.read(checking, columns if isinstance(columns, list) else None)
    except InputError as exc:
        checking.unlink(missing_ok=True)
        raise InputError(str(exc).replace(checking.name, f"上传的文件 ({fmt})")) from None
    for old in folder.iterdir():
        if old.is_file() and old != checking:
            old.unlink()
    final = folder / f"upload-{stamp}.{fmt}"
    checking.replace(final)
    return Uploaded(name, final.name, len(table_read.rows))
