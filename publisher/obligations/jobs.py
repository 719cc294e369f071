"""Where obligations meet the running service: the scheduled run in ``publisher serve`` and
the lines ``publisher doctor`` prints."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from publisher import kinds
from publisher.contract import Clock
from publisher.errors import PublisherError
from publisher.obligations import freshness, reminders, status, workdays
from publisher.obligations.reminders import Attempt
from publisher.registry import Account
from publisher.settings import Settings
from publisher.store import Store

if TYPE_CHECKING:
    from publisher.runtime import Runtime
    from publisher.scheduler import Scheduler

log = logging.getLogger("publisher.obligations")
JOB = "obligations"


@dataclass(frozen=True)
class Run:
    reminders: list[Attempt]
    freshness: list[Attempt]

    @property
    def failed(self) -> int:
        return sum(a.error is not None for a in [*self.reminders, *self.freshness])


async def run_once(
    store: Store, accounts: Iterable[Account], settings: Settings, clock: Clock
) -> Run:
    """Send the reminders and freshness messages due now (each once)."""
    accounts = list(accounts)
    today = clock.now().astimezone(settings.zone).date()
    sent = await reminders.remind(store, accounts, settings, today)
    told = await freshness.alert(store, accounts, settings, today)
    return Run(sent, told)


def schedule(scheduler: Scheduler, rt: Runtime) -> None:
    """Run every ``obligations_interval`` seconds in ``serve`` (0: never)."""
    if not rt.settings.obligations_interval:
        return

    async def job() -> None:
        run = await run_once(rt.store, rt.channels, rt.settings, rt.clock)
        if run.failed:
            log.warning("%d reminder(s) could not be sent; retried at the next run", run.failed)

    scheduler.every(JOB, rt.settings.obligations_interval, job)


async def doctor(
    store: Store, settings: Settings, clock: Clock
) -> tuple[list[str], list[str], list[str]]:
    """(fine, warnings, problems) lines for ``publisher doctor``."""
    fine: list[str] = []
    warnings: list[str] = []
    problems: list[str] = []
    today = clock.now().astimezone(settings.zone).date()
    try:
        loaded = await status.load(store, settings)
        rows = await status.current(store, settings, today, loaded)
    except PublisherError as exc:
        return fine, warnings, [f"信息公开义务: {exc}"]
    overdue = [r for r in rows if r.state == "overdue"]
    fine.append(f"信息公开义务: {len(loaded)} 项，逾期 {len(overdue)} 项")
    last_year = workdays.known_years()[1]
    if today.year >= last_year and today.month >= 11:
        warnings.append(
            f"节假日数据 {workdays.calendar_version()} 只收录到 {last_year} 年："
            f"{last_year + 1} 年的截止日期将无法计算，国务院公布安排后请升级 chinesecalendar"
        )
    for o in loaded:
        gone = [c for c in o.spec.channels if c not in settings.accounts]
        if gone:
            warnings.append(f"信息公开义务 {o.name}: 渠道账号 {'、'.join(gone)} 已不存在，无法满足")
        if not o.spec.responsible:
            warnings.append(f"信息公开义务 {o.name}: 未指定责任人 (responsible)，不会发送提醒")
    names = set(settings.accounts) | {k.category for k in kinds.REGISTRY.values()}
    for setting in ("freshness_owners", "freshness_thresholds"):
        unknown = sorted(set(getattr(settings, setting)) - names)
        if unknown:
            warnings.append(f"{setting}: 没有名为 {'、'.join(unknown)} 的渠道账号或门户栏目")
    for r in rows:
        if r.problem:
            warnings.append(
                f"信息公开义务 {r.name}（{r.period_label}）: {r.problem}，请升级 chinesecalendar"
            )
    for w in await freshness.check(store, settings, today):
        if w.state == "alarm":
            problems.append(
                f"更新告警: {w.label}已 {w.days} 天未更新（{w.thresholds[-1]} 天即告警）"
            )
    failed = await store.reminders(status="failed")
    if failed:
        last = failed[-1]
        problems.append(
            f"提醒发送失败: {len(failed)} 条未送达，下次运行时重试"
            f"（最近一条 {last.subject} {last.step}: {last.error}）"
        )
    return fine, warnings, problems
