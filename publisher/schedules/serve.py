"""The schedules in ``publisher serve``: a CronTrigger job per schedule and a minute's sweep.

The sweep (at start, then every minute) picks up schedules added, changed or removed by
another process (``publisher schedule add`` writes the database; the file may be edited) and
makes fires missed while nothing ran (within the grace time; older ones recorded as missed).
The per-schedule jobs make each fire on time. Both only call ``ScheduleRunner.check``, which
claims every fire once, so their overlap (and other servers) never posts twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from publisher.errors import InputError, PublisherError
from publisher.scheduler import Scheduler
from publisher.schedules import model
from publisher.schedules.runner import SWEEP_SECONDS, ScheduleRunner

log = logging.getLogger("publisher.schedules")
PREFIX = "schedule:"


class ServedSchedules:
    def __init__(self, scheduler: Scheduler, runner: ScheduleRunner) -> None:
        self.scheduler = scheduler
        self.runner = runner
        self._crons: dict[str, str] = {}  # job name -> cron expression registered

    async def sweep(self) -> None:
        try:
            await self.sync()
            await self.runner.check()
        except PublisherError as exc:  # the database away: the next sweep tries again
            log.warning("schedules: %s", exc)
        except Exception:
            log.exception("schedules: the sweep failed")

    async def sync(self) -> None:
        """Make the CronTrigger jobs match the schedules there are now."""
        schedules, _problems = await self.runner.schedules()
        wanted = {f"{PREFIX}{s.name}": s for s in schedules if s.enabled}
        for job in list(self._crons):
            if job not in wanted:
                self.scheduler.remove(job)
                del self._crons[job]
        for job, schedule in wanted.items():
            if self._crons.get(job) == schedule.cron:
                continue
            try:
                trigger = model.trigger(schedule.cron, self.runner.zone)
            except InputError as exc:
                log.warning("schedule %s: %s", schedule.name, exc)
                continue
            self.scheduler.at(job, trigger, self._job(schedule.name))
            self._crons[job] = schedule.cron

    def _job(self, name: str) -> Any:
        async def fire() -> None:
            try:
                await self.runner.check(only=[name])
            except Exception:
                log.exception("schedule %s: the fire failed", name)

        return fire


def attach(scheduler: Scheduler, rt: Any) -> ServedSchedules:
    """Fire the schedules from ``publisher serve`` (called by ``start_scheduler``)."""
    runner = ScheduleRunner(rt.settings, rt.store, rt.intake, rt.clock, rt.worker.id)
    served = ServedSchedules(scheduler, runner)
    trigger = IntervalTrigger(seconds=SWEEP_SECONDS, timezone=rt.settings.zone)
    scheduler.at("schedules:sweep", trigger, served.sweep, first=datetime.now(rt.settings.zone))
    return served
