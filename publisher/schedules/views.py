"""What ``schedule list``, ``GET /api/schedules`` and ``doctor`` show, and adding a schedule
(the checks the CLI and the API share: nothing is stored unless all pass)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from publisher.errors import InputError
from publisher.schedules import model
from publisher.schedules.runner import (
    LABELS,
    LOOKBACK,
    MISSED,
    NO_DATA,
    POSTED,
    RUNNING,
    STALE,
    ScheduleRunner,
    describe,
)
from publisher.store.schedules import FireRecord, ScheduleRow

TROUBLE = {MISSED, NO_DATA, "refused", "error"}


def _when(moment: datetime | None, runner: ScheduleRunner) -> str | None:
    return moment.astimezone(runner.zone).isoformat() if moment is not None else None


def _fire_json(fire: FireRecord | None, runner: ScheduleRunner) -> dict[str, Any] | None:
    if fire is None:
        return None
    return {
        "fire_time": _when(fire.fire_time, runner),
        "outcome": fire.outcome,
        "label": LABELS.get(fire.outcome, fire.outcome),
        "detail": fire.detail,
        "notice_id": fire.notice_id,
        "data_file": fire.data_file,
        "runner": fire.runner,
    }


async def listing(runner: ScheduleRunner) -> dict[str, Any]:
    """Every schedule with its next fire, its last fire and its misses of the last 35 days."""
    now = runner.clock.now()
    schedules, problems = await runner.schedules()
    latest = await runner.store.latest_schedule_fires()
    recent = await runner.store.schedule_fires(since=now - LOOKBACK, limit=10_000)
    out = []
    for s in schedules:
        try:
            nxt = model.trigger(s.cron, runner.zone).get_next_fire_time(None, now)
        except InputError:
            nxt = None
        out.append(
            {
                "name": s.name,
                "source": s.source,
                "cron": s.cron,
                "notice_file": s.notice_file,
                "data": s.data_glob,
                "enabled": s.enabled,
                "next_fire": _when(nxt, runner) if s.enabled else None,
                "last_fire": _fire_json(latest.get(s.name), runner),
                "missed": [
                    _when(f.fire_time, runner)
                    for f in recent
                    if f.schedule == s.name and f.outcome == MISSED
                ],
                "created_by": s.created_by or None,
            }
        )
    return {"schedules": out, "problems": problems}


def text_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for s in data["schedules"]:
        state = "" if s["enabled"] else " (已停用)"
        where = "配置文件" if s["source"] == "file" else "数据库"
        lines.append(f"{s['name']}{state}  [{s['cron']}]  来自{where}  模板 {s['notice_file']}")
        if s["data"]:
            lines.append(f"  数据文件: {s['data']}")
        lines.append(f"  下次执行: {_short(s['next_fire']) or '无'}")
        last = s["last_fire"]
        if last is not None:
            said = last["label"]
            if last["outcome"] == POSTED and last["notice_id"] is not None:
                said += f" (通知 #{last['notice_id']})"
            elif last["detail"]:
                said += f": {last['detail']}"
            lines.append(f"  上次执行: {_short(last['fire_time'])} {said}")
        else:
            lines.append("  上次执行: 无")
        if s["missed"]:
            shown = "、".join(_short(m) or "" for m in s["missed"][:5])
            lines.append(f"  近 35 天错过 {len(s['missed'])} 次: {shown}")
    for p in data["problems"]:
        lines.append(f"! {p}")
    return lines or ["没有计划"]


def _short(iso: str | None) -> str | None:
    return iso[:16].replace("T", " ") if iso else None


async def doctor_lines(runner: ScheduleRunner) -> list[str]:
    """A problem line per schedule whose last fire posted nothing, and per refused entry."""
    latest = await runner.store.latest_schedule_fires()
    schedules, problems = await runner.schedules()
    lines = [f"计划: {p}" for p in problems]
    now = runner.clock.now()
    for s in schedules:
        fire = latest.get(s.name)
        if fire is None or not s.enabled:
            continue
        stuck = fire.outcome == RUNNING and now - fire.claimed_at > STALE
        if fire.outcome in TROUBLE or stuck:
            when = _short(_when(fire.fire_time, runner))
            lines.append(f"计划 {s.name}: {when} 的执行{describe(fire)}")
    return lines


async def add(
    runner: ScheduleRunner,
    name: str,
    cron: str,
    notice_file: str,
    template: Any,
    data_glob: str | None,
    enabled: bool,
    actor: str,
) -> ScheduleRow:
    """Check everything, then store the schedule (InputError: nothing stored)."""
    name = model.check_name(name)
    cron = " ".join(cron.split())
    model.trigger(cron, runner.zone)
    glob = model.check_glob(data_glob)
    checked = model.check_template(template)
    file_names = {s.name for s in (await runner.schedules())[0] if s.source == "file"}
    if name in file_names:
        raise InputError(f"计划 {name} 已定义在 {runner.settings.schedules_file} 中")
    row = ScheduleRow(
        name=name,
        cron=cron,
        notice_file=notice_file[:500],
        template=checked,
        data_glob=glob,
        enabled=enabled,
        created_by=actor,
    )
    return await runner.store.add_schedule(row)


async def remove(runner: ScheduleRunner, name: str) -> None:
    schedule = await runner.get(name)  # NotFoundError
    if schedule.source == "file":
        raise InputError(
            f"计划 {name} 定义在 {runner.settings.schedules_file} 中，"
            "请在该文件中删除或设 enabled = false"
        )
    await runner.store.remove_schedule(name)


async def doctor(settings: Any, store: Any, clock: Any) -> list[str]:
    """``publisher doctor``'s lines about schedules (none when their tables are not there yet:
    the database check already says a migration is pending)."""
    runner = ScheduleRunner(settings, store, None, clock, "doctor")
    try:
        return await doctor_lines(runner)
    except Exception as exc:  # doctor reports, never crashes
        return [f"计划: 无法检查 ({type(exc).__name__})"]
