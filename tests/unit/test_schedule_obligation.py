"""A missing data file making its obligation overdue (issue 13's test): the monthly
approval list is a schedule with a data glob and an obligation on the same channel. The fire
finds no file in the inbox: no notice, the fire recorded as 缺少数据文件. Past its due date the
obligation is overdue, by working days. A file dropped and run-now posts, and the obligation
turns met late. Real SQLite store, a hand-set clock."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from schedule_kit import (
    BEFORE,
    FIRE,
    GOOD_ROWS,
    FakeClock,
    add_monthly,
    notices,
    opened,
    settings_for,
    write_csv,
    write_template,
)

from publisher.obligations.status import current
from publisher.obligations.workdays import add_working_days
from publisher.queue.admission import AdmissionPolicy
from publisher.schedules import views
from publisher.schedules.runner import NO_DATA, POSTED
from publisher.states import Status
from publisher.store.records import AccountLimits, ClaimRequest, Outcome
from publisher.store.sql import new_key
from tests.obligation_kit import local, post

OBLIGATION = """
[obligations.approvals]
title = "行政许可结果月度公开"
kind = "approval_list"
channels = ["portal"]
department = "行政审批科"
responsible = ["zhangsan"]
head = ["lisi"]
leader = ["wangwu"]
every = "month"
working_days = 12
"""


@pytest.fixture
def folder(clean_env: Path) -> Path:
    write_template(clean_env)
    (clean_env / "obligations.toml").write_text(OBLIGATION, encoding="utf-8")
    return clean_env


def approvals(rows: list) -> list[tuple[str, str, int | None]]:
    return [(r.period, r.state, r.days_late) for r in rows if r.name == "approvals"]


async def test_a_missing_data_file_makes_its_obligation_overdue(folder: Path) -> None:
    clock = FakeClock(local(date(2026, 11, 10), 9))
    settings = settings_for(
        folder, obligations_file=folder / "obligations.toml", obligations_interval=0
    )
    async with opened(settings, clock) as (rt, runner):
        await add_monthly(runner, folder)  # "0 9 1 * *", data 行政许可-*
        # October's list, posted by hand in time; November's is the schedule's
        assert approvals(await current(rt.store, settings, date(2026, 11, 10))) == [
            ("2026-10", "pending", None)
        ]
        await post(
            rt.store, clock, "approval_list", "2026年10月行政许可公示", ["portal"], clock.now()
        )
        clock.set(BEFORE)
        assert approvals(await current(rt.store, settings, date(2026, 11, 30))) == [
            ("2026-10", "met", 0)
        ]
        # November's list: due 12 working days after 30 November
        due = add_working_days(date(2026, 11, 30), 12)
        assert due == date(2026, 12, 16)

        clock.set(FIRE)  # 1 December 09:00, and nothing in the inbox
        [fired] = await runner.check()
        assert fired.outcome == NO_DATA and fired.notice_id is None
        assert [n.source for n in await notices(rt)] == ["test"]  # October's only
        [entry] = (await views.listing(runner))["schedules"]
        assert entry["last_fire"]["label"] == "缺少数据文件"
        assert "行政许可-*" in (entry["last_fire"]["detail"] or "")

        assert approvals(await current(rt.store, settings, due - timedelta(days=1))) == [
            ("2026-11", "pending", None)
        ]
        assert approvals(await current(rt.store, settings, due)) == [("2026-11", "due_today", 0)]
        # Thu 17, Fri 18 December: two working days late; the weekend adds none
        assert approvals(await current(rt.store, settings, date(2026, 12, 18))) == [
            ("2026-11", "overdue", 2)
        ]
        assert approvals(await current(rt.store, settings, date(2026, 12, 20))) == [
            ("2026-11", "overdue", 2)
        ]

        # Monday 21 December the file arrives; run now posts it
        clock.set(local(date(2026, 12, 21)))
        write_csv(folder / "inbox", GOOD_ROWS)
        done = await runner.run_now("monthly-approvals", "tester")
        assert done.outcome == POSTED and done.notice_id is not None
        [_october, notice] = await notices(rt)
        assert notice.id == done.notice_id and notice.source == "schedule"
        assert notice.title == "2026年11月行政许可公示"
        # submitted is not yet published: still overdue, now 3 working days
        assert approvals(await current(rt.store, settings, date(2026, 12, 21))) == [
            ("2026-11", "overdue", 3)
        ]
        await _post_everywhere(rt, clock)
        assert approvals(await current(rt.store, settings, date(2026, 12, 21))) == [
            ("2026-11", "met_late", 3)
        ]


async def _post_everywhere(rt: object, clock: FakeClock) -> None:
    """Take the queued deliveries and finish them as posted, as the worker would."""
    store = rt.store  # type: ignore[attr-defined]
    limits = {"portal": AccountLimits(max_concurrency=10)}
    request = ClaimRequest("w1", limits, 30.0, AdmissionPolicy(3, 60.0))
    claimed, _ = await store.claim(request, 50)
    assert [c.delivery.account for c in claimed] == ["portal"]
    for c in claimed:
        assert await store.mark_sending(c.delivery, "w1")
        outcome = Outcome(
            to_status=Status.POSTED, action="posted", remote_id=new_key(), success=True
        )
        assert await store.finish(c.delivery, "w1", outcome, request.admission)
    clock.set(clock.now() + timedelta(seconds=1))
