"""Two servers on one PostgreSQL database race on every fire: exactly one notice per fire."""

from __future__ import annotations

import asyncio
from datetime import timedelta
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

from publisher.schedules.runner import POSTED

pytestmark = pytest.mark.postgres


async def test_two_scheduler_instances_racing_post_each_fire_once(
    clean_env: Path, pg_url: str
) -> None:
    write_template(clean_env)
    write_csv(clean_env / "inbox", GOOD_ROWS)
    clock = FakeClock(BEFORE)
    settings = settings_for(clean_env, pg_url)
    template = {"kind": "general", "title": "{date}值班提示", "body": "今日值班安排已更新。"}
    async with (
        opened(settings, clock, "server-a") as (rt, a),
        opened(settings, clock, "server-b") as (_rt_b, b),
    ):
        await add_monthly(a, clean_env)
        clock.set(FIRE - timedelta(seconds=30))
        await add_monthly(
            a, clean_env, name="minutely", cron="* * * * *", template=template, data=None
        )
        made = []
        for minute in range(8):
            clock.set(FIRE + timedelta(minutes=minute))
            one, two = await asyncio.gather(a.check(), b.check())
            made += one + two
        by_fire = [(r.schedule, r.fire_time) for r in made]
        assert len(by_fire) == len(set(by_fire)) == 1 + 8  # the monthly fire, eight minutes
        assert {r.outcome for r in made} == {POSTED}
        posted = await notices(rt)
        assert len(posted) == 9
        assert len({n.idempotency_key for n in posted}) == 9
        assert sum(n.kind == "approval_list" for n in posted) == 1
