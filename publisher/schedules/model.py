"""What a schedule is, where schedules come from, and the placeholders of a template.

A template is a notice file (JSON, YAML or TOML, as ``publisher notice submit`` takes) whose
title, summary, body and text ``fields`` may carry ``{date}``, ``{year}``, ``{month}``,
``{quarter}`` and ``{period}``. They are filled by ``str.format_map`` over a dict of exactly
those names, after every brace in the text was checked to name one of them plainly (no
attribute, index, conversion or format spec): nothing in user text is ever evaluated.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from publisher.errors import InputError, NoticeFormatError
from publisher.notice import MAX_FILE_BYTES, decode_document, parse_notice
from publisher.store.schedules import ScheduleRow

NAME = re.compile(r"[\w-]{1,64}")  # letters (Chinese too), digits, '_' and '-'
PLACEHOLDERS = ("date", "year", "month", "quarter", "period")
# Set by each fire, never by the template.
FIRE_KEYS = ("publish_at", "idempotency_key", "allow_past", "allow_duplicate")
TEXT_PARTS = ("title", "summary", "body")
# Standard cron numbers its weekdays from Sunday (0 and 7); APScheduler 3 from Monday.
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    notice_file: str
    template: dict[str, Any] | None  # None: read notice_file at each fire (the file's schedules)
    data_glob: str | None
    enabled: bool
    source: str  # "file" or "database"
    created_at: datetime | None = None
    created_by: str = ""


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME.fullmatch(name):
        raise InputError(
            f"计划名称 {name[:80]!r} 无效：应为 1 到 64 个汉字、字母、数字、'_' 或 '-'"
        )
    return name


def _weekdays(field: str) -> str:
    """A standard cron weekday field in APScheduler's words (``1-5`` -> ``mon-fri``)."""
    out = []
    for part in field.split(","):
        span, slash, step = part.partition("/")
        if span == "*" and step.isdigit() and int(step) > 0:  # cron's */2: sun, tue, thu, sat
            out.append(",".join(WEEKDAYS[d] for d in range(0, 7, int(step))))
            continue
        if any(int(n) > 7 for n in re.findall(r"\d+", span)):
            raise ValueError(f"星期应为 0 到 7 (0 和 7 都是星期日)，收到的是 {field!r}")
        out.append(re.sub(r"\d+", lambda m: WEEKDAYS[int(m.group())], span) + slash + step)
    return ",".join(out)


def trigger(cron: str, zone: tzinfo) -> CronTrigger:
    """The trigger of a 5-field cron expression (minute hour day month weekday) in ``zone``.

    Raises InputError naming what is wrong."""
    fields = cron.split()
    if len(fields) != 5:
        raise InputError(
            f'cron 表达式 {cron[:100]!r} 无效：应为 5 个字段 (分 时 日 月 周)，如 "0 9 1 * *" '
            "表示每月 1 日 9:00"
        )
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekdays(weekday),
            timezone=zone,
        )
    except (ValueError, TypeError) as exc:
        quoted = re.search(r"'([^']*)'", str(exc))
        where = f"字段 {quoted.group(1)!r} " if quoted else ""
        raise InputError(
            f"cron 表达式 {cron[:100]!r} 无效：{where}超出范围或写法不对 "
            "(分 0-59，时 0-23，日 1-31，月 1-12，周 0-7)"
        ) from None


# -- placeholders -----------------------------------------------------------------------------


def period_values(fire_time: datetime, zone: tzinfo) -> dict[str, str]:
    """The placeholders' values for a fire (its local date; ``period``: the month before)."""
    local = fire_time.astimezone(zone)
    previous = local.replace(day=1) - timedelta(days=1)
    return {
        "date": f"{local.year}年{local.month}月{local.day}日",
        "year": str(local.year),
        "month": str(local.month),
        "quarter": str((local.month - 1) // 3 + 1),
        "period": f"{previous.year}年{previous.month}月",
    }


def _texts(template: dict[str, Any]) -> list[tuple[str, str]]:
    """Where placeholders may be: (location, text)."""
    found = [(k, template[k]) for k in TEXT_PARTS if isinstance(template.get(k), str)]
    fields = template.get("fields")
    if isinstance(fields, dict):
        found += [(f"fields.{k}", v) for k, v in fields.items() if isinstance(v, str)]
    return found


def check_placeholders(template: dict[str, Any]) -> None:
    """Refuse any brace that is not exactly one of :data:`PLACEHOLDERS` (``{{``: a brace)."""
    allowed = "、".join(f"{{{p}}}" for p in PLACEHOLDERS)
    for where, text in _texts(template):
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError:
            raise InputError(
                f"{where}: 花括号不成对；占位符可用 {allowed}，花括号本身请写 {{{{ 或 }}}}"
            ) from None
        for _literal, name, spec, conversion in parts:
            if name is None:
                continue
            if name not in PLACEHOLDERS or spec or conversion:
                shown = "{" + name[:40] + ("!" + conversion if conversion else "")
                shown += (":" + spec[:20] if spec else "") + "}"
                raise InputError(
                    f"{where}: 不认识的占位符 {shown}；可用 {allowed}，花括号本身请写 {{{{ 或 }}}}"
                )


def fill(template: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The template with its placeholders filled (checked by :func:`check_placeholders`)."""
    check_placeholders(template)
    out = dict(template)
    for key in TEXT_PARTS:
        if isinstance(out.get(key), str):
            out[key] = out[key].format_map(values)
    if isinstance(out.get("fields"), dict):
        out["fields"] = {
            k: v.format_map(values) if isinstance(v, str) else v for k, v in out["fields"].items()
        }
    return out


# -- templates --------------------------------------------------------------------------------


def read_template(path: Path) -> dict[str, Any]:
    """A notice template from a file: decoded, its placeholders and its notice checked."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"通知模板 {path}: 文件不存在") from None
    except IsADirectoryError:
        raise InputError(f"通知模板 {path}: 是目录，不是通知文件") from None
    except OSError as exc:
        raise InputError(f"通知模板 {path}: 无法读取: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"通知模板 {path}: 文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB")
    try:
        data = decode_document(raw, path.suffix.lower(), f"通知模板 {path}")
    except NoticeFormatError as exc:
        raise InputError(str(exc)) from None
    try:
        return check_template(data)
    except InputError as exc:
        raise InputError(f"通知模板 {path}: {exc}") from None


def check_template(data: Any) -> dict[str, Any]:
    """``data`` as a template: a notice once filled, without what each fire sets itself."""
    if not isinstance(data, dict):
        raise InputError("通知模板应为字段的键值映射 (kind、title、body 等)")
    for key in FIRE_KEYS:
        if key in data:
            raise InputError(f"{key}: 由每次执行自动设置，模板中不能填写")
    check_placeholders(data)
    sample = fill(data, period_values(datetime(2026, 1, 1, tzinfo=UTC), UTC))
    try:
        parse_notice(sample)
    except NoticeFormatError as exc:
        raise InputError(str(exc)) from None
    return data


def check_glob(glob: str | None) -> str | None:
    """A data glob: relative to the inbox, never leaving it."""
    if glob is None:
        return None
    glob = glob.strip()
    parts = Path(glob).parts
    if not glob or len(glob) > 200 or Path(glob).is_absolute() or ".." in parts:
        raise InputError(
            f"数据文件模式 {glob[:80]!r} 无效："
            "应为收件箱 (inbox_dir) 内的相对模式，如 行政许可-*.xlsx"
        )
    return glob


# -- the file of schedules --------------------------------------------------------------------


def from_row(row: ScheduleRow) -> Schedule:
    return Schedule(
        name=row.name,
        cron=row.cron,
        notice_file=row.notice_file,
        template=row.template,
        data_glob=row.data_glob,
        enabled=row.enabled,
        source="database",
        created_at=row.created_at,
        created_by=row.created_by,
    )


def read_file(path: Path, zone: tzinfo) -> tuple[list[Schedule], list[str]]:
    """The schedules of a ``schedules.toml`` and a line per entry refused (skipped).

    A missing file has no schedules. Notice paths are relative to the file's folder; each
    notice is read and checked here and again at each fire (edits take effect)."""
    import tomllib

    if not path.exists():
        return [], []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [], [f"{path}: 无法读取: {exc}"]
    entries = data.get("schedule", [])
    if not isinstance(entries, list) or set(data) - {"schedule"}:
        return [], [f"{path}: 应只有 [[schedule]] 表"]
    found: list[Schedule] = []
    problems: list[str] = []
    for number, entry in enumerate(entries, start=1):
        try:
            found.append(_entry(entry, path, zone, {s.name for s in found}))
        except InputError as exc:
            problems.append(f"{path}: 第 {number} 个 [[schedule]]: {exc}")
    return found, problems


def _entry(entry: Any, path: Path, zone: tzinfo, taken: set[str]) -> Schedule:
    if not isinstance(entry, dict):
        raise InputError("应为表")
    unknown = set(entry) - {"name", "cron", "notice", "data", "enabled"}
    if unknown:
        raise InputError(f"未知字段 {sorted(unknown)[0]}，可用 name、cron、notice、data、enabled")
    for key in ("name", "cron", "notice"):
        if not isinstance(entry.get(key), str):
            raise InputError(f"{key}: 必填，应为文本")
    name = check_name(entry["name"])
    if name in taken:
        raise InputError(f"计划 {name} 重复")
    trigger(entry["cron"], zone)
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InputError("enabled: 应为 true 或 false")
    data = entry.get("data")
    if data is not None and not isinstance(data, str):
        raise InputError("data: 应为文本 (收件箱内的文件模式)")
    notice = path.parent / entry["notice"]
    read_template(notice)
    return Schedule(
        name=name,
        cron=entry["cron"].strip(),
        notice_file=str(notice),
        template=None,
        data_glob=check_glob(data),
        enabled=enabled,
        source="file",
    )
