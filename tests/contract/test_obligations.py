"""Obligations over the store (SQLite and PostgreSQL): definitions seeded and edited, met /
overdue / met late from posted notices, the monthly summary, the API, and reminders and
freshness alarms reaching the WeCom app sandbox over HTTP, each exactly once."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_server import serve_router

from channels.oa.sandbox import WecomAppSandbox
from publisher.errors import InputError, NotFoundError
from publisher.obligations import jobs
from publisher.obligations.status import current, load
from publisher.obligations.summary import month_summary
from publisher.runtime import Runtime
from publisher.settings import Settings
from publisher.web.app import create_app
from tests.obligation_kit import ACCOUNTS, OBLIGATIONS, local, oa_account, post, settings_for

APPROVALS_ONLY = OBLIGATIONS.split("[obligations.penalty-decisions]")[0]


@pytest.fixture
async def rt(database_url: str, clock: Any, tmp_path: Path) -> AsyncIterator[Runtime]:
    clock.current = local(date(2026, 1, 20))
    runtime = await Runtime.open(settings_for(tmp_path, database_url), clock=clock)
    try:
        yield runtime
    finally:
        await runtime.close()


def by_name(rows: list[Any]) -> dict[str, list[tuple[str, str, int | None]]]:
    out: dict[str, list[tuple[str, str, int | None]]] = {}
    for r in rows:
        out.setdefault(r.name, []).append((r.period, r.state, r.days_late))
    return out


async def test_the_file_seeds_once_and_edits_stay(rt: Runtime) -> None:
    store = rt.store
    assert [o.name for o in await load(store, rt.settings)] == [
        "accidents",
        "approvals",
        "penalty-decisions",
    ]
    await store.delete_obligation("accidents", "tester")
    assert [o.name for o in await load(store, rt.settings)] == ["approvals", "penalty-decisions"]
    with pytest.raises(NotFoundError, match="没有名为 accidents 的信息公开义务"):
        await store.get_obligation("accidents")
    approvals = await store.get_obligation("approvals")
    with pytest.raises(InputError, match="已有名为 approvals 的信息公开义务"):
        await store.add_obligation("approvals", approvals.spec, "tester")
    changed = {**approvals.spec, "department": "审批服务科"}
    assert (await store.replace_obligation("approvals", changed, "li")).spec["department"] == (
        "审批服务科"
    )
    await load(store, rt.settings)  # the file does not overwrite the database
    assert (await store.get_obligation("approvals")).updated_by == "li"
    with pytest.raises(NotFoundError):
        await store.replace_obligation("nope", changed, "li")
    revived = await store.add_obligation("accidents", changed, "li")  # a deleted name, again
    assert revived.spec["department"] == "审批服务科"


async def test_met_overdue_and_met_late_from_what_was_posted(rt: Runtime, clock: Any) -> None:
    store, settings = rt.store, rt.settings
    await load(store, settings)  # recorded on 20 January, after December's list was due
    title = "2026年1月行政许可结果公示"
    await post(store, clock, "approval_list", title, ["portal"], local(date(2026, 2, 10)))

    rows = by_name(await current(store, settings, date(2026, 2, 26)))
    assert rows["approvals"] == [("2026-01", "overdue", 2)]  # due Tue 24 Feb; 25, 26 late

    await post(store, clock, "approval_list", title, ["wechat"], local(date(2026, 2, 27)))
    rows = by_name(await current(store, settings, date(2026, 2, 27)))
    assert rows["approvals"] == [("2026-01", "met_late", 3)]
    # In March, February's list is the current one and January's is done (late).
    rows = by_name(await current(store, settings, date(2026, 3, 2)))
    assert rows["approvals"] == [("2026-02", "pending", None)]

    fields = {"decided_on": "2026-02-14"}  # a make-up Saturday, eve of the Spring Festival
    on_time = await post(
        store,
        clock,
        "penalty_disclosure",
        "处罚决定甲",
        ["portal"],
        local(date(2026, 3, 3)),
        fields,
    )
    missing = await post(
        store,
        clock,
        "penalty_disclosure",
        "处罚决定乙",
        ["portal"],
        local(date(2026, 2, 12)),
        {"decided_on": "2026-02-12"},
        posted=False,
    )
    rows = by_name(await current(store, settings, date(2026, 3, 4)))
    assert rows["penalty-decisions"] == [
        (f"notice-{on_time}", "met", 0),  # due Tue 3 March
        (f"notice-{missing}", "overdue", 3),  # due Sat 28 Feb (make-up); 2, 3, 4 March
    ]


async def test_a_missed_month_stays_listed_and_a_late_list_meets_it_first(
    rt: Runtime, clock: Any
) -> None:
    store, settings = rt.store, rt.settings
    await load(store, settings)
    rows = by_name(await current(store, settings, date(2026, 3, 20)))
    assert rows["approvals"] == [("2026-01", "overdue", 19), ("2026-02", "overdue", 3)]
    await post(
        store, clock, "approval_list", "行政许可", ["portal", "wechat"], local(date(2026, 3, 20))
    )
    rows = by_name(await current(store, settings, date(2026, 3, 20)))
    assert rows["approvals"] == [("2026-02", "overdue", 3)]  # the post met January, late


async def test_the_monthly_summary_per_department(rt: Runtime, clock: Any) -> None:
    store, settings = rt.store, rt.settings
    await load(store, settings)
    t = "2026年1月行政许可结果公示"
    await post(store, clock, "approval_list", t, ["portal"], local(date(2026, 2, 10)))
    await post(store, clock, "approval_list", t, ["wechat"], local(date(2026, 2, 27)))
    await post(
        store,
        clock,
        "penalty_disclosure",
        "处罚决定乙",
        ["portal"],
        local(date(2026, 2, 12)),
        {"decided_on": "2026-02-12"},
        posted=False,
    )
    await post(
        store,
        clock,
        "penalty_disclosure",
        "处罚决定丙",
        ["portal"],
        local(date(2026, 2, 5)),
        {"decided_on": "2026-02-05"},
    )
    report = await month_summary(store, settings, "2026-02", date(2026, 3, 4))
    got = {
        d["department"]: (d["due"], d["on_time"], d["late"], d["missing"], d["late_working_days"])
        for d in report["departments"]
    }
    assert got == {
        "行政审批科": (1, 0, 1, 0, 3),  # January's list, due 24 Feb, 3 working days late
        "执法监督科": (2, 1, 0, 1, 3),  # 5 Feb on time (due 14 Feb); 12 Feb due 28 Feb, missing
    }
    assert report["total"] == {
        "due": 3,
        "on_time": 1,
        "late": 1,
        "missing": 1,
        "pending": 0,
        "unknown": 0,
    }


@contextlib.asynccontextmanager
async def api(settings: Settings, clock: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    rt = await Runtime.open(settings, clock=clock)
    app = create_app(settings, runtime=rt, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http, rt


NEW = {
    "name": "inspections",
    "title": "执法检查计划公开",
    "kind": "general",
    "title_contains": "检查计划",
    "channels": ["portal"],
    "department": "执法监督科",
    "responsible": ["zhaoliu"],
    "every": "year",
    "due": "01-31",
}


async def test_the_api_lists_edits_and_summarises(
    database_url: str, clock: Any, tmp_path: Path
) -> None:
    clock.current = local(date(2026, 1, 20))
    async with api(settings_for(tmp_path, database_url), clock) as (http, rt):
        assert (await http.get("/api/obligations")).status_code == 200  # seeded on 20 January
        clock.current = local(date(2026, 2, 26))
        listed = await http.get("/api/obligations")
        assert listed.status_code == 200
        body = listed.json()
        assert body["today"] == "2026-02-26"
        approvals = next(o for o in body["obligations"] if o["name"] == "approvals")
        assert (approvals["period"], approvals["due"], approvals["state"]) == (
            "2026-01",
            "2026-02-24",
            "overdue",
        )
        assert approvals["days_late"] == 2 and approvals["state_label"] == "已逾期"

        added = await http.post("/api/obligations", json=NEW)
        assert added.status_code == 201, added.text
        assert added.json()["rule"] == "每年，次年 1月31日前"
        again = await http.post("/api/obligations", json=NEW)
        assert (again.status_code, again.json()["error"]) == (
            422,
            "已有名为 inspections 的信息公开义务",
        )
        bad = await http.post("/api/obligations", json={**NEW, "name": "x", "working_days": "7"})
        assert (bad.status_code, bad.json()["error"]) == (
            422,
            "义务 x working_days: 应为整数",
        )
        wrong = await http.post("/api/obligations", json={**NEW, "name": "y", "channels": ["fax"]})
        assert (wrong.status_code, wrong.json()["error"]) == (
            422,
            "义务 y channels: 没有渠道账号 fax",
        )
        junk = await http.post("/api/obligations", content=b"[1, 2]")
        assert junk.status_code == 422 and "JSON 对象" in junk.json()["error"]

        changed = await http.put(
            "/api/obligations/inspections", json={**NEW, "department": "法规科"}
        )
        assert changed.status_code == 200 and changed.json()["department"] == "法规科"
        only = await http.get("/api/obligations", params={"department": "法规科"})
        assert [o["name"] for o in only.json()["obligations"]] == ["inspections"]
        overdue = await http.get("/api/obligations", params={"overdue": "true"})
        assert {o["state"] for o in overdue.json()["obligations"]} == {"overdue"}
        shown = await http.get("/api/obligations/inspections")
        assert shown.json()["definition"]["updated_by"] == "api"

        assert (await http.delete("/api/obligations/inspections")).status_code == 204
        assert (await http.get("/api/obligations/inspections")).status_code == 404
        assert (await http.delete("/api/obligations/inspections")).status_code == 404
        assert (await http.delete("/api/obligations/accidents")).status_code == 204
        names = {o["name"] for o in (await http.get("/api/obligations")).json()["obligations"]}
        assert "accidents" not in names and "approvals" in names  # not seeded back

        summary = await http.get("/api/obligations/summary", params={"month": "2026-02"})
        assert summary.status_code == 200
        assert summary.json()["departments"][0]["department"] == "行政审批科"
        refused = await http.get("/api/obligations/summary", params={"month": "2026-13"})
        assert refused.status_code == 422 and refused.json()["error"].startswith("月份应为")

        fresh = (await http.get("/api/freshness")).json()["watches"]
        assert {(w["target"], w["name"]) for w in fresh} >= {
            ("account", "portal"),
            ("account", "wechat"),
            ("category", "general"),
        }
        actions = [e.action for e in await rt.store.audit_entries(actor="api")]
        assert actions == [
            "obligation_add",
            "obligation_replace",
            "obligation_delete",
            "obligation_delete",
        ]


@contextlib.asynccontextmanager
async def with_oa(
    database_url: str, clock: Any, tmp_path: Path, obligations: str, **extra: Any
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient, str]]:
    (tmp_path / "obligations.toml").write_text(obligations, encoding="utf-8")
    sandbox = WecomAppSandbox()
    with serve_router(sandbox.router, "/_sandbox/wecom_app") as base:
        accounts = {**ACCOUNTS, "oa": oa_account(base)}
        settings = settings_for(tmp_path, database_url, accounts, **extra)
        rt = await Runtime.open(settings, clock=clock)
        try:
            async with httpx.AsyncClient(base_url=f"{base}/_sandbox/wecom_app") as http:
                yield rt, http, base
        finally:
            await rt.close()


async def received(http: httpx.AsyncClient) -> list[tuple[str, str]]:
    posts = (await http.get("/posts")).json()["posts"]
    return [(p["payload"]["touser"], p["payload"]["textcard"]["title"]) for p in posts]


async def run_on(rt: Runtime, clock: Any, day: date, hour: int = 9) -> int:
    clock.current = local(day, hour)
    run = await jobs.run_once(rt.store, rt.channels, rt.settings, clock)
    return len(run.reminders) + len(run.freshness)


async def test_reminders_and_escalations_reach_the_oa_sandbox_exactly_once(
    database_url: str, clock: Any, tmp_path: Path
) -> None:
    clock.current = local(date(2026, 1, 20))
    async with with_oa(database_url, clock, tmp_path, APPROVALS_ONLY) as (rt, http, _):
        await load(rt.store, rt.settings)
        sent = {d: await run_on(rt, clock, d) for d in (date(2026, 2, 11), date(2026, 2, 12))}
        assert sent == {date(2026, 2, 11): 0, date(2026, 2, 12): 1}  # 3 working days before
        assert await run_on(rt, clock, date(2026, 2, 12), 15) == 0
        assert await run_on(rt, clock, date(2026, 2, 13)) == 0
        assert await run_on(rt, clock, date(2026, 2, 24)) == 1  # the due date
        assert await run_on(rt, clock, date(2026, 2, 25)) == 1  # late: the head
        assert await run_on(rt, clock, date(2026, 2, 27)) == 0
        assert await run_on(rt, clock, date(2026, 3, 2)) == 1  # 5 working days late: leader
        assert await run_on(rt, clock, date(2026, 3, 3)) == 0
        title = "行政许可结果月度公开"
        assert await received(http) == [
            ("zhangsan", f"信息公开提醒：{title}"),
            ("zhangsan", f"今日到期：{title}"),
            ("lisi", f"已逾期：{title}"),
            ("wangwu", f"逾期超过 5 个工作日：{title}"),
        ]
        first = (await http.get("/posts")).json()["posts"][0]["payload"]["textcard"]
        assert "应于 2月24日（星期二） 前" in first["description"]
        assert "还有 3 个工作日" in first["description"]
        sent_ones = await rt.store.reminders(status="sent")
        assert [(r.period, r.step) for r in sent_ones] == [
            ("2026-01", "before"),
            ("2026-01", "due"),
            ("2026-01", "head"),
            ("2026-01", "leader"),
        ]


async def test_a_failed_reminder_shows_in_doctor_and_is_sent_at_the_next_run(
    database_url: str, clock: Any, tmp_path: Path
) -> None:
    clock.current = local(date(2026, 1, 20))
    async with with_oa(database_url, clock, tmp_path, APPROVALS_ONLY) as (rt, http, _):
        await load(rt.store, rt.settings)
        assert (await http.put("/faults", json={"error_rate": 1.0})).status_code == 200
        clock.current = local(date(2026, 2, 12))
        run = await jobs.run_once(rt.store, rt.channels, rt.settings, clock)
        assert run.failed == 1
        _, _, problems = await jobs.doctor(rt.store, rt.settings, clock)
        assert any(p.startswith("提醒发送失败: 1 条未送达，下次运行时重试") for p in problems)
        assert await received(http) == []

        assert (await http.put("/faults", json={"error_rate": 0.0})).status_code == 200
        run = await jobs.run_once(rt.store, rt.channels, rt.settings, clock)
        assert (len(run.reminders), run.failed) == (1, 0)
        assert await jobs.run_once(rt.store, rt.channels, rt.settings, clock) == jobs.Run([], [])
        assert len(await received(http)) == 1
        _, _, problems = await jobs.doctor(rt.store, rt.settings, clock)
        assert problems == []
        [record] = await rt.store.reminders()
        assert (record.status, record.attempts, record.error) == ("sent", 2, None)


async def test_freshness_reminds_the_owner_at_10_and_12_days_and_alarms_at_14(
    database_url: str, clock: Any, tmp_path: Path
) -> None:
    clock.current = local(date(2026, 11, 1))
    extra = {"freshness_owners": {"portal": ["owner1"]}, "freshness_leaders": ["leader1"]}
    async with with_oa(database_url, clock, tmp_path, "", **extra) as (rt, http, _):
        await post(rt.store, clock, "general", "工作动态", ["portal"], local(date(2026, 11, 1)))
        counts = [await run_on(rt, clock, date(2026, 11, d)) for d in (10, 11, 12, 13, 14, 15, 16)]
        # Day 9: nothing; 10: owner; 12: owner; 14: alarm for the account and its category.
        assert counts == [0, 1, 0, 1, 0, 2, 0]
        assert await received(http) == [
            ("owner1", "更新提醒：渠道 门户网站已 10 天未更新"),
            ("owner1", "更新提醒：渠道 门户网站已 12 天未更新"),
            ("leader1|owner1", "告警：渠道 门户网站已 14 天未更新"),
            ("leader1", "告警：门户栏目「工作动态」已 14 天未更新"),
        ]
        clock.current = local(date(2026, 11, 16))
        _, _, problems = await jobs.doctor(rt.store, rt.settings, clock)
        assert "更新告警: 渠道 门户网站已 15 天未更新（14 天即告警）" in problems
        # A new post ends the silence: nothing more is sent and the alarm clears.
        await post(rt.store, clock, "general", "新动态", ["portal"], local(date(2026, 11, 16)))
        assert await run_on(rt, clock, date(2026, 11, 17)) == 0
        _, _, problems = await jobs.doctor(rt.store, rt.settings, clock)
        assert problems == []
        assert len(await received(http)) == 4  # the watchdog never posts filler on a channel
        portal_posts = [d for d in await rt.store.last_posts() if d.account == "portal"]
        assert len(portal_posts) == 1


async def test_a_broken_file_never_breaks_the_api_and_doctor_names_it(
    database_url: str, clock: Any, tmp_path: Path
) -> None:
    clock.current = local(date(2026, 2, 26))
    settings = settings_for(tmp_path, database_url)
    async with api(settings, clock) as (http, rt):
        assert (await http.get("/api/obligations")).status_code == 200  # seeded
        (tmp_path / "obligations.toml").write_text("[obligations.x\n", encoding="utf-8")
        listed = await http.get("/api/obligations")
        assert listed.status_code == 200
        names = {o["name"] for o in listed.json()["obligations"]}
        assert names == {"approvals", "accidents"}  # penalty decisions: none entered
        _, _, problems = await jobs.doctor(rt.store, settings, clock)
        assert len(problems) == 1
        assert problems[0].startswith(f"信息公开义务: obligations_file: {tmp_path}")
        assert "不是有效的 TOML" in problems[0]


async def test_doctor_warns_of_what_would_silently_do_nothing(
    database_url: str, clock: Any, tmp_path: Path
) -> None:
    clock.current = local(date(2026, 11, 20))  # the holiday data ends with 2026
    text = APPROVALS_ONLY.replace('responsible = ["zhangsan"]', "responsible = []")
    (tmp_path / "obligations.toml").write_text(text, encoding="utf-8")
    settings = settings_for(tmp_path, database_url, freshness_owners={"nope": ["x"]})
    rt = await Runtime.open(settings, clock=clock)
    try:
        fine, warnings, problems = await jobs.doctor(rt.store, settings, clock)
    finally:
        await rt.close()
    assert fine == ["信息公开义务: 1 项，逾期 1 项"]  # October's list, due 17 November
    assert problems == []
    assert warnings == [
        "节假日数据 chinesecalendar 1.11.0 只收录到 2026 年：2027 年的截止日期将无法计算，"
        "国务院公布安排后请升级 chinesecalendar",
        "信息公开义务 approvals: 未指定责任人 (responsible)，不会发送提醒",
        "freshness_owners: 没有名为 nope 的渠道账号或门户栏目",
    ]
