"""Firing schedules: which fires are due, claiming each once, making and submitting its notice.

``check()`` looks at every enabled schedule: the fire times since its last recorded fire (or
since it was added) up to now. The latest runs if it is at most ``schedule_grace_seconds``
old (after downtime a missed fire runs once); every other one is recorded as missed. Each
fire is first claimed as (schedule, fire time) in ``schedule_fires``: of any number of
servers (or a restart racing the old process) exactly one makes it.

``publisher serve`` calls ``check()`` from an APScheduler CronTrigger job per schedule (on
time to the second) and from a minute's sweep (schedules added or removed elsewhere, fires
missed while it was down): :func:`attach`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from publisher.contract import Clock
from publisher.errors import InputError, NoticeFormatError
from publisher.notice import parse_notice
from publisher.schedules import data as datafiles
from publisher.schedules import model
from publisher.schedules.model import Schedule
from publisher.settings import Settings
from publisher.store.base import Store
from publisher.store.schedules import FireRecord

log = logging.getLogger("publisher.schedules")

# Outcomes of a fire (schedule_fires.outcome).
RUNNING, POSTED, NO_DATA, REFUSED, MISSED, ERROR = (
    "running",
    "posted",
    "no_data",
    "refused",
    "missed",
    "error",
)
LABELS = {
    RUNNING: "进行中",
    POSTED: "已发布",
    NO_DATA: "缺少数据文件",
    REFUSED: "被拒绝",
    MISSED: "错过",
    ERROR: "出错",
}
# Misses older than this are not recorded one by one (a schedule firing every minute).
LOOKBACK = timedelta(days=35)
MAX_FIRES = 100
SWEEP_SECONDS = 60.0
# A fire still "running" after this long lost its process: another takes it over.
STALE = timedelta(minutes=10)


@dataclass(frozen=True)
class FireResult:
    schedule: str
    fire_time: datetime
    outcome: str
    detail: str | None = None
    notice_id: int | None = None
    data_file: str | None = None  # where the used data file went (inbox/done/...)


class ScheduleRunner:
    def __init__(
        self, settings: Settings, store: Store, intake: Any, clock: Clock, runner: str
    ) -> None:
        self.settings = settings
        self.store = store
        self.intake = intake
        self.clock = clock
        self.runner = runner
        self.zone = settings.zone
        self.inbox = Path(settings.inbox_dir)

    # -- where schedules come from ------------------------------------------------------------

    async def schedules(self) -> tuple[list[Schedule], list[str]]:
        """Every schedule (the file's, then the database's) and a line per one refused."""
        found, problems = model.read_file(Path(self.settings.schedules_file), self.zone)
        names = {s.name for s in found}
        for row in await self.store.list_schedules():
            if row.name in names:
                problems.append(
                    f"计划 {row.name} 同时定义在 {self.settings.schedules_file} 中，以文件为准"
                )
                continue
            found.append(model.from_row(row))
        return found, problems

    async def get(self, name: str) -> Schedule:
        from publisher.errors import NotFoundError

        for schedule in (await self.schedules())[0]:
            if schedule.name == name:
                return schedule
        raise NotFoundError(f"没有计划 {name}")

    # -- which fires are due ------------------------------------------------------------------

    def fire_times(self, schedule: Schedule, after: datetime, until: datetime) -> list[datetime]:
        """Fire times in ``(after, until]``: the last :data:`MAX_FIRES` of them."""
        trigger = model.trigger(schedule.cron, self.zone)
        after = max(after, until - LOOKBACK)
        times: list[datetime] = []
        start = after + timedelta(seconds=1)
        while True:
            nxt = trigger.get_next_fire_time(None, start)
            if nxt is None or nxt > until:
                break
            times.append(nxt)
            times = times[-MAX_FIRES:]
            start = nxt + timedelta(seconds=1)
        return times

    async def check(self, only: Iterable[str] | None = None) -> list[FireResult]:
        """Make every due fire (of the schedules named in ``only``, else of all)."""
        now = self.clock.now()
        grace = timedelta(seconds=self.settings.schedule_grace_seconds)
        wanted = set(only) if only is not None else None
        schedules, problems = await self.schedules()
        for problem in problems:
            log.warning("schedules: %s", problem)
        latest = await self.store.latest_schedule_fires()
        results: list[FireResult] = []
        for schedule in schedules:
            if not schedule.enabled or (wanted is not None and schedule.name not in wanted):
                continue
            last = latest.get(schedule.name)
            after = schedule.created_at or now - grace - timedelta(seconds=1)
            if last is not None:
                after = max(after, last.fire_time) if schedule.created_at else last.fire_time
            try:
                times = self.fire_times(schedule, after, now)
            except InputError as exc:  # a cron edited wrong in the file
                log.warning("schedule %s: %s", schedule.name, exc)
                continue
            if last is None and schedule.created_at is None:
                # a schedule of the file seen for the first time: since when it was there is
                # unknown, so nothing before its latest fire counts as missed
                times = times[-1:]
            for missed in times[:-1] if times and now - times[-1] <= grace else times:
                note = (
                    f"到点时没有运行中的 publisher serve，超过宽限时间 {grace.total_seconds():g} 秒"
                )
                if await self.store.claim_schedule_fire(
                    schedule.name, missed, self.runner, MISSED, note
                ):
                    results.append(FireResult(schedule.name, missed, MISSED, note))
            misses = [r.fire_time for r in results if r.schedule == schedule.name]
            if misses:
                log.warning(
                    "schedule %s: %d fire(s) missed, the last %s",
                    schedule.name,
                    len(misses),
                    misses[-1],
                )
            if times and now - times[-1] <= grace:
                done = await self.fire(schedule, times[-1])
                if done is not None:
                    results.append(done)
            if last is not None and last.outcome == RUNNING and now - last.claimed_at > STALE:
                resumed = await self._resume(schedule, last.fire_time, now, grace)
                if resumed is not None:
                    results.append(resumed)
        return results

    async def _resume(
        self, schedule: Schedule, fire_time: datetime, now: datetime, grace: timedelta
    ) -> FireResult | None:
        """Finish a fire whose process died in the middle of it (still ``running``)."""
        if not await self.store.retake_schedule_fire(
            schedule.name, fire_time, self.runner, now - STALE
        ):
            return None
        notice_id = await self.store.notice_with_key(self.key(schedule, fire_time))
        if notice_id is not None:  # submitted before the process died
            result = FireResult(schedule.name, fire_time, POSTED, "中断后恢复", notice_id)
        elif now - fire_time <= grace:
            return await self._make_claimed(schedule, fire_time, None)
        else:
            note = "执行中断，超过宽限时间，未发布"
            result = FireResult(schedule.name, fire_time, MISSED, note)
        await self._finish(result)
        return result

    # -- one fire -----------------------------------------------------------------------------

    async def run_now(self, name: str, actor: str) -> FireResult:
        """Fire ``name`` now (its fire time: this instant), whatever its cron says."""
        schedule = await self.get(name)
        now = self.clock.now()
        done = await self.fire(schedule, now, actor=actor)
        if done is None:
            from publisher.errors import StateError

            raise StateError(f"计划 {name} 在这一时刻已经执行过，请稍后再试")
        return done

    async def fire(
        self, schedule: Schedule, fire_time: datetime, actor: str | None = None
    ) -> FireResult | None:
        """Claim and make one fire; None when another process (or run) has it."""
        runner = f"{self.runner} ({actor})" if actor else self.runner
        if not await self.store.claim_schedule_fire(
            schedule.name, fire_time, runner[:100], RUNNING
        ):
            return None
        return await self._make_claimed(schedule, fire_time, actor)

    async def _make_claimed(
        self, schedule: Schedule, fire_time: datetime, actor: str | None
    ) -> FireResult:
        try:
            result = await self._make(schedule, fire_time, actor)
        except Exception as exc:  # recorded, never left "running"
            log.exception("schedule %s: fire %s failed", schedule.name, fire_time)
            result = FireResult(schedule.name, fire_time, ERROR, f"{type(exc).__name__}: {exc}")
        await self._finish(result)
        return result

    async def _finish(self, result: FireResult) -> None:
        await self.store.finish_schedule_fire(
            result.schedule,
            result.fire_time,
            result.outcome,
            detail=result.detail,
            notice_id=result.notice_id,
            data_file=result.data_file,
        )

    def key(self, schedule: Schedule, fire_time: datetime) -> str:
        """The idempotency key of a fire's notice."""
        return f"schedule:{schedule.name}:{fire_time.astimezone(self.zone).isoformat()}"

    async def _make(self, schedule: Schedule, fire_time: datetime, actor: str | None) -> FireResult:
        def refused(detail: str, outcome: str = REFUSED) -> FireResult:
            log.warning("schedule %s: fire %s: %s", schedule.name, fire_time, detail)
            return FireResult(schedule.name, fire_time, outcome, detail[:2000])

        try:
            template = schedule.template or model.read_template(Path(schedule.notice_file))
            filled = model.fill(template, model.period_values(fire_time, self.zone))
        except InputError as exc:
            return refused(f"通知模板有误: {exc}")
        used: datafiles.DataTable | None = None
        if schedule.data_glob:
            files = datafiles.find(self.inbox, schedule.name, schedule.data_glob)
            if not files:
                where = self.inbox / schedule.data_glob
                return refused(f"缺少数据文件 ({where})，未发布", NO_DATA)
            if len(files) > 1:
                names = "、".join(p.name for p in files[:5])
                return refused(f"有 {len(files)} 个数据文件 ({names})，只能有一个，未发布")
            table = filled.get("table")
            expected = table.get("columns") if isinstance(table, dict) else None
            try:
                used = datafiles.read(files[0], expected if isinstance(expected, list) else None)
            except InputError as exc:
                return refused(f"数据文件被拒绝: {exc}")
            filled["table"] = {"columns": used.columns, "rows": used.rows}
        local = fire_time.astimezone(self.zone)
        filled["idempotency_key"] = self.key(schedule, fire_time)
        filled["allow_duplicate"] = True
        try:
            notice = parse_notice(filled)
            submitted = await self.intake.submit(
                notice, source="schedule", actor=actor or f"schedule:{schedule.name}"
            )
        except (InputError, NoticeFormatError) as exc:
            source = f"{used.path.name}: " if used is not None else ""
            return refused(f"{source}{exc}")
        moved = None
        if used is not None:
            moved = datafiles.move_aside(self.inbox, used.path, local.strftime("%Y%m%d-%H%M%S"))
        return FireResult(
            schedule.name,
            fire_time,
            POSTED,
            notice_id=submitted.notice_id,
            data_file=str(moved) if moved is not None else None,
        )


def describe(fire: FireRecord | FireResult) -> str:
    """One line: what became of a fire."""
    label = LABELS.get(fire.outcome, fire.outcome)
    if fire.outcome == POSTED and fire.notice_id is not None:
        return f"{label} (通知 #{fire.notice_id})"
    if not fire.detail:
        return label
    return fire.detail if fire.detail.startswith(label) else f"{label}: {fire.detail}"
