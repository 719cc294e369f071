"""The schedule store (``ScheduleStore``) over SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from publisher.errors import InputError, NotFoundError
from publisher.store.schedules import ScheduleRow

ROW = ScheduleRow(
    name="每月行政许可公示",
    cron="0 9 1 * *",
    notice_file="approvals.json",
    template={"kind": "general", "title": "{period}公示", "body": "正文"},
    data_glob="行政许可-*",
    created_by="zhang",
)


async def test_schedules_are_added_listed_and_removed(store: Any, clock: Any) -> None:
    added = await store.add_schedule(ROW)
    assert added.created_at == clock.now()
    [listed] = await store.list_schedules()
    assert listed == added
    with pytest.raises(InputError, match="已存在"):
        await store.add_schedule(ROW)
    await store.remove_schedule(ROW.name)
    assert await store.list_schedules() == []
    with pytest.raises(NotFoundError):
        await store.remove_schedule(ROW.name)


async def test_a_fire_is_claimed_once_and_keeps_its_outcome(store: Any, clock: Any) -> None:
    fire = clock.now() - timedelta(minutes=5)
    assert await store.claim_schedule_fire("a", fire, "server-1", "running")
    assert not await store.claim_schedule_fire("a", fire, "server-2", "running")
    assert not await store.claim_schedule_fire("a", fire, "server-2", "missed")
    await store.finish_schedule_fire("a", fire, "posted", notice_id=7, data_file="done/x.csv")
    earlier = fire - timedelta(days=30)
    assert await store.claim_schedule_fire("a", earlier, "server-2", "missed", "没有运行")
    assert await store.claim_schedule_fire("b", earlier, "server-2", "no_data")

    latest = await store.latest_schedule_fires()
    assert set(latest) == {"a", "b"}
    assert latest["a"].fire_time == fire and latest["a"].runner == "server-1"
    assert (latest["a"].outcome, latest["a"].notice_id) == ("posted", 7)
    assert latest["a"].data_file == "done/x.csv" and latest["a"].finished_at == clock.now()
    assert [f.fire_time for f in await store.schedule_fires("a")] == [fire, earlier]
    assert [f.schedule for f in await store.schedule_fires(since=fire)] == ["a"]
    missed = (await store.schedule_fires("a"))[1]
    assert (missed.outcome, missed.detail) == ("missed", "没有运行")


async def test_a_stale_running_fire_is_taken_over_once(store: Any, clock: Any) -> None:
    fire = clock.now()
    assert await store.claim_schedule_fire("a", fire, "dead", "running")
    fresh = clock.now() - timedelta(minutes=10)
    assert not await store.retake_schedule_fire("a", fire, "me", fresh)  # not stale yet
    clock.advance(11 * 60)
    stale = clock.now() - timedelta(minutes=10)
    assert await store.retake_schedule_fire("a", fire, "me", stale)
    assert not await store.retake_schedule_fire("a", fire, "you", stale)
    [taken] = await store.schedule_fires("a")
    assert (taken.runner, taken.claimed_at) == ("me", clock.now())
    await store.finish_schedule_fire("a", fire, "posted")
    clock.advance(3600)
    assert not await store.retake_schedule_fire("a", fire, "you", clock.now())
    assert await store.notice_with_key("schedule:a:x") is None
