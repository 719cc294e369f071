"""Recurring schedules: a fire posts exactly once, at its time, with the month's data.

Real SQLite stores, a hand-set clock; the runner is driven the way ``publisher serve``'s
scheduler drives it (``check()``), and a second runner stands in for a second server or a
restarted one.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from schedule_kit import (
    BEFORE,
    FIRE,
    GOOD_ROWS,
    TEMPLATE,
    FakeClock,
    add_monthly,
    notices,
    opened,
    settings_for,
    write_csv,
    write_template,
    write_xlsx,
)

from publisher.errors import InputError
from publisher.schedules import views
from publisher.schedules.runner import MISSED, NO_DATA, POSTED, REFUSED, ScheduleRunner


@pytest.fixture
def folder(clean_env: Path) -> Path:
    write_template(clean_env)
    return clean_env


async def test_a_fire_at_its_time_posts_exactly_once(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    settings = settings_for(folder)
    data = write_csv(folder / "inbox", GOOD_ROWS)
    async with opened(settings, clock) as (rt, runner):
        await add_monthly(runner, folder)
        assert await runner.check() == []  # not yet
        clock.set(FIRE - timedelta(seconds=1))
        assert await runner.check() == []
        assert await notices(rt) == []

        clock.set(FIRE)
        [fired] = await runner.check()
        assert fired.outcome == POSTED and fired.fire_time == FIRE
        # again, and from a second server: the fire is claimed already
        other = ScheduleRunner(settings, rt.store, rt.intake, clock, "other-server")
        clock.set(FIRE + timedelta(seconds=30))
        assert await runner.check() == [] and await other.check() == []

        [notice] = await notices(rt)
        assert notice.id == fired.notice_id
        assert notice.title == "2026年11月行政许可公示"
        assert notice.fields["period"] == "2026年11月"
        assert notice.table is not None and notice.table["rows"] == GOOD_ROWS
        assert notice.idempotency_key == "schedule:monthly-approvals:2026-12-01T09:00:00+08:00"
        assert notice.source == "schedule"
        assert [d.account for d in notice.deliveries] == ["portal"]
        # the data file was moved aside: it is not used twice
        assert not data.exists()
        assert [p.name for p in (folder / "inbox" / "done").iterdir()] == [
            "20261201-090000-行政许可-2026-11.csv"
        ]
        listed = await views.listing(runner)
        [entry] = listed["schedules"]
        assert entry["last_fire"]["outcome"] == POSTED
        assert entry["last_fire"]["notice_id"] == notice.id
        assert entry["last_fire"]["data_file"].endswith("done/20261201-090000-行政许可-2026-11.csv")
        assert entry["next_fire"] == "2027-01-01T09:00:00+08:00"


async def test_a_restart_within_the_grace_time_makes_the_missed_fire_once(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    settings = settings_for(folder, schedule_grace_seconds=3600)
    write_csv(folder / "inbox", GOOD_ROWS)
    async with opened(settings, clock) as (_rt, runner):
        await add_monthly(runner, folder)
    # serve was down at 09:00 and starts again at 09:40 (a new process, a new runner)
    clock.set(FIRE + timedelta(minutes=40))
    async with opened(settings, clock, "restarted") as (rt, runner):
        [fired] = await runner.check()
        assert fired.outcome == POSTED and fired.fire_time == FIRE
        assert await runner.check() == []
        clock.set(FIRE + timedelta(minutes=41))
        assert await runner.check() == []
        assert len(await notices(rt)) == 1


async def test_a_fire_missed_beyond_the_grace_time_is_recorded_not_made(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    settings = settings_for(folder, schedule_grace_seconds=3600)
    write_csv(folder / "inbox", GOOD_ROWS)
    async with opened(settings, clock) as (_rt, runner):
        await add_monthly(runner, folder)
    clock.set(FIRE + timedelta(hours=2))
    async with opened(settings, clock, "restarted") as (rt, runner):
        [missed] = await runner.check()
        assert missed.outcome == MISSED and missed.fire_time == FIRE
        assert await runner.check() == []
        assert await notices(rt) == []
        assert (folder / "inbox" / "行政许可-2026-11.csv").exists()  # untouched
        listed = await views.listing(runner)
        [entry] = listed["schedules"]
        assert entry["missed"] == ["2026-12-01T09:00:00+08:00"]
        assert entry["last_fire"]["label"] == "错过"
        assert any("错过" in line for line in views.text_lines(listed))
        [problem] = await views.doctor_lines(runner)
        assert problem.startswith("计划 monthly-approvals: 2026-12-01 09:00 的执行错过")
        # the next month's fire is made as usual
        clock.set(FIRE.replace(month=12, day=31) + timedelta(days=1))
        [fired] = await runner.check()
        assert fired.outcome == POSTED
        assert (await notices(rt))[0].title == "2026年12月行政许可公示"


async def test_no_data_file_by_the_fire_time_posts_nothing(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    async with opened(settings_for(folder), clock) as (rt, runner):
        await add_monthly(runner, folder)
        clock.set(FIRE)
        [fired] = await runner.check()
        assert fired.outcome == NO_DATA
        assert await notices(rt) == []
        # dropping the file later does not make that fire again
        write_csv(folder / "inbox", GOOD_ROWS)
        clock.set(FIRE + timedelta(minutes=5))
        assert await runner.check() == []
        assert await notices(rt) == []
        [entry] = (await views.listing(runner))["schedules"]
        assert entry["last_fire"]["label"] == "缺少数据文件"
        assert "缺少数据文件" in entry["last_fire"]["detail"]
        [problem] = await views.doctor_lines(runner)
        assert "缺少数据文件" in problem


@pytest.mark.parametrize(
    ("row", "said"),
    [
        (
            ["(滨)危化经字〔2026〕003号", "某某加油站", "危险化学品经营许可", "13812345678"],
            "手机号",
        ),
        (["(滨)危化经字〔2026〕003号", "某某加油站"], "第 4 行只有 2 个单元格"),
        (
            ["(滨)危化经字〔2026〕003号", "某某加油站", "经营许可", "2026-11-20", "多余"],
            "第 4 行有 5",
        ),
    ],
)
async def test_a_bad_csv_row_refuses_the_whole_fire(
    folder: Path, row: list[str], said: str
) -> None:
    clock = FakeClock(BEFORE)
    data = write_csv(folder / "inbox", [*GOOD_ROWS, row])
    async with opened(settings_for(folder), clock) as (rt, runner):
        await add_monthly(runner, folder)
        clock.set(FIRE)
        [fired] = await runner.check()
        assert fired.outcome == REFUSED
        assert said in (fired.detail or "")
        assert "行政许可-2026-11.csv" in (fired.detail or "")
        assert await notices(rt) == []
        assert data.exists()  # left where it is, to be corrected


async def test_a_csv_with_other_columns_is_refused(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    inbox = folder / "inbox"
    inbox.mkdir()
    (inbox / "行政许可-11.csv").write_text("编号,名称\n1,甲\n", encoding="utf-8")
    async with opened(settings_for(folder), clock) as (rt, runner):
        await add_monthly(runner, folder)
        clock.set(FIRE)
        [fired] = await runner.check()
        assert fired.outcome == REFUSED
        assert "表头应为 许可证号、企业名称、许可事项、决定日期，实际是 编号、名称" in (
            fired.detail or ""
        )
        assert await notices(rt) == []


async def test_a_gbk_csv_from_excel_is_read(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    inbox = folder / "inbox"
    inbox.mkdir()
    text = "许可证号,企业名称,许可事项,决定日期\n" + "\n".join(",".join(r) for r in GOOD_ROWS)
    (inbox / "行政许可-11.csv").write_bytes(text.encode("gb18030"))
    async with opened(settings_for(folder), clock) as (rt, runner):
        await add_monthly(runner, folder)
        clock.set(FIRE)
        [fired] = await runner.check()
        assert fired.outcome == POSTED, fired.detail
        [notice] = await notices(rt)
        assert notice.table is not None and notice.table["rows"] == GOOD_ROWS


async def test_xlsx_data_dates_and_numbers(folder: Path) -> None:
    from datetime import date

    clock = FakeClock(BEFORE)
    rows = [
        [
            "(滨)危化经字〔2026〕001号",
            "滨江化工贸易有限公司",
            "危险化学品经营许可",
            date(2026, 11, 5),
        ]
    ]
    write_xlsx(folder / "inbox", rows)
    async with opened(settings_for(folder), clock) as (rt, runner):
        await add_monthly(runner, folder)
        clock.set(FIRE)
        [fired] = await runner.check()
        assert fired.outcome == POSTED, fired.detail
        [notice] = await notices(rt)
        assert notice.table is not None
        assert notice.table["rows"] == [[*rows[0][:3], "2026-11-05"]]
        assert not (folder / "inbox" / "行政许可-2026-11.xlsx").exists()


async def test_a_bad_xlsx_row_refuses_the_whole_fire(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    rows = [
        ["(滨)危化经字〔2026〕001号", "滨江化工贸易有限公司", "危险化学品经营许可", "2026-11-05"],
        [
            "(滨)危化经字〔2026〕002号",
            "东港物流有限公司",
            "法人身份证 110101199003071233",
            "2026-11-18",
        ],
    ]
    data = write_xlsx(folder / "inbox", rows)
    async with opened(settings_for(folder), clock) as (rt, runner):
        await add_monthly(runner, folder)
        clock.set(FIRE)
        [fired] = await runner.check()
        assert fired.outcome == REFUSED
        assert "身份证" in (fired.detail or "") and "110101199003071233" not in (fired.detail or "")
        assert await notices(rt) == []
        assert data.exists()


async def test_two_data_files_for_one_fire_post_nothing(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    write_csv(folder / "inbox", GOOD_ROWS, "行政许可-a.csv")
    write_csv(folder / "inbox", GOOD_ROWS, "行政许可-b.csv")
    async with opened(settings_for(folder), clock) as (rt, runner):
        await add_monthly(runner, folder)
        clock.set(FIRE)
        [fired] = await runner.check()
        assert fired.outcome == REFUSED and "有 2 个数据文件" in (fired.detail or "")
        assert await notices(rt) == []


async def test_run_now_posts_and_repeats_are_exempt_from_the_duplicate_guard(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    template = {
        "kind": "general",
        "title": "{year}年第{quarter}季度安全生产提示",
        "body": "请各单位落实安全生产责任。",
    }
    async with opened(settings_for(folder), clock) as (rt, runner):
        await add_monthly(runner, folder, name="提示", template=template, data=None)
        first = await runner.run_now("提示", "zhang")
        clock.set(BEFORE + timedelta(minutes=1))
        second = await runner.run_now("提示", "zhang")
        assert first.outcome == second.outcome == POSTED
        assert first.notice_id != second.notice_id
        posted = await notices(rt)
        assert [n.title for n in posted] == ["2026年第4季度安全生产提示"] * 2
        assert posted[0].created_by == "zhang"
        # the same second twice: one fire
        from publisher.errors import StateError

        with pytest.raises(StateError):
            await runner.run_now("提示", "zhang")
        assert len(await notices(rt)) == 2


@pytest.mark.parametrize(
    ("title", "said"),
    [
        ("{period}公示{name}", "不认识的占位符 {name}"),
        ("{year.__class__}", "不认识的占位符 {year.__class__}"),
        ("{month!r}月", "不认识的占位符 {month!r}"),
        ("{0}", "不认识的占位符 {0}"),
        ("年度{", "花括号不成对"),
    ],
)
async def test_unknown_placeholders_are_refused_when_added(
    folder: Path, title: str, said: str
) -> None:
    clock = FakeClock(BEFORE)
    async with opened(settings_for(folder), clock) as (rt, runner):
        with pytest.raises(InputError) as refused:
            await add_monthly(runner, folder, template={**TEMPLATE, "title": title})
        assert said in str(refused.value)
        assert await rt.store.list_schedules() == []


async def test_placeholders_fill_by_the_fire_date(folder: Path) -> None:
    from zoneinfo import ZoneInfo

    from publisher.schedules.model import period_values

    zone = ZoneInfo("Asia/Shanghai")
    values = period_values(FIRE.replace(month=1, year=2027), zone)  # 2027-01-01 09:00
    assert values == {
        "date": "2027年1月1日",
        "year": "2027",
        "month": "1",
        "quarter": "1",
        "period": "2026年12月",
    }
    clock = FakeClock(BEFORE)
    template = {**TEMPLATE, "title": "{{内部}}{year}年{month}月{date}第{quarter}季度"}
    write_csv(folder / "inbox", GOOD_ROWS)
    async with opened(settings_for(folder), clock) as (rt, runner):
        await add_monthly(runner, folder, template=template)
        clock.set(FIRE)
        await runner.check()
        [notice] = await notices(rt)
        assert notice.title == "{内部}2026年12月2026年12月1日第4季度"


async def test_bad_definitions_store_nothing(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    async with opened(settings_for(folder), clock) as (rt, runner):
        for cron, said in [
            ("0 9 1 *", "应为 5 个字段"),
            ("0 25 1 * *", "字段 '25'"),
            ("0 9 * * 8", "周 0-7"),
        ]:
            with pytest.raises(InputError) as refused:
                await add_monthly(runner, folder, cron=cron)
            assert said in str(refused.value)
        with pytest.raises(InputError):
            await add_monthly(runner, folder, data="../etc/*")
        with pytest.raises(InputError, match="idempotency_key"):
            await add_monthly(runner, folder, template={**TEMPLATE, "idempotency_key": "x"})
        with pytest.raises(InputError, match="未知的通知类型"):
            await add_monthly(runner, folder, template={**TEMPLATE, "kind": "x", "fields": {}})
        assert await rt.store.list_schedules() == []
        await add_monthly(runner, folder)
        with pytest.raises(InputError, match="已存在"):
            await add_monthly(runner, folder)


async def test_weekdays_count_from_sunday_as_in_cron(folder: Path) -> None:
    from zoneinfo import ZoneInfo

    from publisher.schedules.model import trigger

    zone = ZoneInfo("Asia/Shanghai")
    friday = FIRE.astimezone(zone).replace(day=4)  # 2026-12-04 is a Friday
    nxt = trigger("0 9 * * 1", zone).get_next_fire_time(None, friday)
    assert nxt is not None and nxt.strftime("%A %d") == "Monday 07"
    nxt = trigger("0 9 * * 0", zone).get_next_fire_time(None, friday)
    assert nxt is not None and nxt.strftime("%A %d") == "Sunday 06"


async def test_schedules_from_the_file(folder: Path) -> None:
    (folder / "schedules.toml").write_text(
        '[[schedule]]\nname = "每月行政许可公示"\ncron = "0 9 1 * *"\n'
        'notice = "approvals.json"\ndata = "行政许可-*"\n\n'
        '[[schedule]]\nname = "坏的"\ncron = "0 9 1 *"\nnotice = "approvals.json"\n',
        encoding="utf-8",
    )
    clock = FakeClock(FIRE - timedelta(minutes=1))
    write_csv(folder / "inbox", GOOD_ROWS)
    async with opened(settings_for(folder), clock) as (rt, runner):
        listed = await views.listing(runner)
        [entry] = listed["schedules"]
        assert entry["name"] == "每月行政许可公示" and entry["source"] == "file"
        [problem] = listed["problems"]
        assert "第 2 个 [[schedule]]" in problem and "应为 5 个字段" in problem
        clock.set(FIRE)
        [fired] = await runner.check()
        assert fired.outcome == POSTED, fired.detail
        assert (await notices(rt))[0].idempotency_key == (
            "schedule:每月行政许可公示:2026-12-01T09:00:00+08:00"
        )
        with pytest.raises(InputError, match="定义在"):
            await views.remove(runner, "每月行政许可公示")


def test_the_shipped_example_file_loads(tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    from publisher.schedules.model import read_file
    from publisher.settings import REPO_ROOT

    schedules, problems = read_file(
        REPO_ROOT / "config" / "schedules.example.toml", ZoneInfo("Asia/Shanghai")
    )
    assert problems == []
    assert "每月行政许可公示" in [s.name for s in schedules]


async def test_serve_keeps_a_cron_job_per_enabled_schedule(folder: Path) -> None:
    from apscheduler.triggers.cron import CronTrigger

    from publisher.scheduler import Scheduler
    from publisher.schedules.serve import ServedSchedules

    clock = FakeClock(BEFORE)
    write_csv(folder / "inbox", GOOD_ROWS)
    async with opened(settings_for(folder), clock) as (rt, runner):
        scheduler = Scheduler(rt.store, clock, "serve", "Asia/Shanghai")
        served = ServedSchedules(scheduler, runner)
        await add_monthly(runner, folder)
        await served.sync()
        [(name, trigger)] = scheduler.jobs().items()
        assert name == "schedule:monthly-approvals" and isinstance(trigger, CronTrigger)
        assert trigger.get_next_fire_time(None, BEFORE) == FIRE
        # the sweep makes what is due (here: nothing yet, then the fire)
        await served.sweep()
        assert await notices(rt) == []
        clock.set(FIRE + timedelta(seconds=2))
        await served.sweep()
        assert len(await notices(rt)) == 1
        # removed elsewhere (another process): its job goes at the next sweep
        await views.remove(runner, "monthly-approvals")
        await served.sweep()
        assert scheduler.jobs() == {}


async def test_a_fire_whose_process_died_is_finished_once(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    settings = settings_for(folder)
    write_csv(folder / "inbox", GOOD_ROWS)
    async with opened(settings, clock, "crashed") as (rt, runner):
        await add_monthly(runner, folder)
        clock.set(FIRE)
        # the process claims the fire, submits the notice, moves the file ... and dies
        schedule = await runner.get("monthly-approvals")
        assert await rt.store.claim_schedule_fire(schedule.name, FIRE, "crashed", "running")
        made = await runner._make(schedule, FIRE, None)
        assert made.outcome == POSTED
    clock.set(FIRE + timedelta(minutes=5))
    async with opened(settings, clock, "restarted") as (rt, runner):
        assert await runner.check() == []  # the claim is still fresh: it may yet finish
        clock.set(FIRE + timedelta(minutes=11))
        [resumed] = await runner.check()
        assert (resumed.outcome, resumed.notice_id) == (POSTED, made.notice_id)
        assert await runner.check() == []
        assert len(await notices(rt)) == 1
        [entry] = (await views.listing(runner))["schedules"]
        assert entry["last_fire"]["outcome"] == POSTED


async def test_a_fire_that_died_before_submitting_is_made_by_another(folder: Path) -> None:
    clock = FakeClock(BEFORE)
    settings = settings_for(folder)
    write_csv(folder / "inbox", GOOD_ROWS)
    async with opened(settings, clock, "crashed") as (rt, runner):
        await add_monthly(runner, folder)
        assert await rt.store.claim_schedule_fire("monthly-approvals", FIRE, "crashed", "running")
        clock.set(FIRE + timedelta(minutes=11))
        other = ScheduleRunner(settings, rt.store, rt.intake, clock, "other")
        [done], again = await other.check(), await runner.check()
        assert done.outcome == POSTED and again == []
        assert len(await notices(rt)) == 1


async def test_a_file_schedule_seen_first_makes_its_latest_fire_and_misses_nothing(
    folder: Path,
) -> None:
    (folder / "duty.json").write_text(
        '{"kind": "general", "title": "{date}值班", "body": "值班安排已更新。"}', encoding="utf-8"
    )
    (folder / "schedules.toml").write_text(
        '[[schedule]]\nname = "duty"\ncron = "*/5 * * * *"\nnotice = "duty.json"\n',
        encoding="utf-8",
    )
    clock = FakeClock(FIRE + timedelta(minutes=7))
    async with opened(settings_for(folder), clock) as (rt, runner):
        [fired] = await runner.check()
        assert (fired.outcome, fired.fire_time) == (POSTED, FIRE + timedelta(minutes=5))
        clock.set(FIRE + timedelta(minutes=21))  # serve down for two fires (within grace)
        made = await runner.check()
        assert [(r.outcome, r.fire_time.minute) for r in made] == [
            (MISSED, 10),
            (MISSED, 15),
            (POSTED, 20),
        ]
        assert len(await notices(rt)) == 2
