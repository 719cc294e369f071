"""The scheduler (APScheduler 3.x): decides *when*; the database decides *once*.

Every fire of a recurring job is claimed as a ``job_runs`` row keyed by (job, fire time)
before it runs, so several scheduler instances (several ``publisher serve`` on PostgreSQL)
never run the same fire twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from publisher.contract import Clock
from publisher.store.base import ReachStore

log = logging.getLogger("publisher.scheduler")


async def claim_fire(store: ReachStore, job: str, fire_time: datetime, runner: str) -> bool:
    """True for exactly one caller per (job, fire time)."""
    return await store.claim_job_run(job, fire_time, runner)


class Scheduler:
    def __init__(self, store: ReachStore, clock: Clock, runner: str, timezone: str) -> None:
        self.store = store
        self.clock = clock
        self.runner = runner
        self._aps = AsyncIOScheduler(timezone=timezone)

    def every(self, name: str, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        trigger = IntervalTrigger(seconds=seconds, timezone=self._aps.timezone)

        async def fire() -> None:
            # The nominal fire time, truncated to the interval, names this fire everywhere.
            now = self.clock.now()
            stamp = datetime.fromtimestamp(
                now.timestamp() - now.timestamp() % seconds, tz=now.tzinfo
            )
            if not await claim_fire(self.store, name, stamp, self.runner):
                return
            try:
                await job()
            except Exception:
                log.exception("scheduled job %s failed", name)

        self._aps.add_job(fire, trigger, id=name, name=name, max_instances=1, coalesce=True)

    def at(
        self,
        name: str,
        trigger: BaseTrigger,
        job: Callable[[], Awaitable[object]],
        first: datetime | None = None,
    ) -> None:
        """Run ``job`` on ``trigger`` (first at ``first`` if given), unclaimed: the job claims
        its own fires (publisher/schedules). Replaces a job of the same name."""
        extra = {"next_run_time": first} if first is not None else {}
        self._aps.add_job(
            job,
            trigger,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            **extra,
        )

    def remove(self, name: str) -> None:
        if self._aps.get_job(name) is not None:
            self._aps.remove_job(name)

    def jobs(self) -> dict[str, BaseTrigger]:
        """The registered jobs' triggers, by name."""
        return {job.id: job.trigger for job in self._aps.get_jobs()}

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)
