"""The annual report counts the disclosure obligations due in its period (issue 14: "obligations
met on time, late and missed"), from what was posted, over SQLite and PostgreSQL, through the
API as a bureau would ask for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from publisher.obligations.status import load
from publisher.reach.annual import Obligations, annual_period, annual_report, settings_report
from publisher.reach.annual_text import PENDING, obligations_sentence
from publisher.runtime import Runtime
from publisher.web.app import create_app
from tests.obligation_kit import ZONE, local, post, settings_for


@pytest.fixture
async def rt(database_url: str, clock: Any, tmp_path: Path) -> AsyncIterator[Runtime]:
    """Obligations recorded on 2 January 2025 (approvals monthly on the portal and WeChat,
    accidents quarterly, each penalty decision within 7 working days), and a year of posts."""
    clock.current = local(date(2025, 1, 2))
    runtime = await Runtime.open(settings_for(tmp_path, database_url), clock=clock)
    store = runtime.store
    await load(store, runtime.settings)
    both = ["portal", "wechat"]
    # December's approvals in time (due 17 January); January's late (due late February)
    await post(
        store, clock, "approval_list", "2024年12月行政许可公示", both, local(date(2025, 1, 6))
    )
    await post(
        store, clock, "approval_list", "2025年1月行政许可公示", both, local(date(2025, 3, 20))
    )
    # February to November's approvals and every quarter's accidents never posted: missed
    decided = {"decided_on": "2025-06-03"}  # due 12 June: posted on the 5th
    await post(
        store,
        clock,
        "penalty_disclosure",
        "处罚决定一",
        ["portal"],
        local(date(2025, 6, 5)),
        decided,
    )
    decided = {"decided_on": "2025-09-01"}  # due 10 September: posted 20 October
    await post(
        store,
        clock,
        "penalty_disclosure",
        "处罚决定二",
        ["portal"],
        local(date(2025, 10, 20)),
        decided,
    )
    clock.current = local(date(2026, 1, 10))  # when the bureau writes the report
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_the_year_counts_obligations_met_late_and_missed(rt: Runtime, clock: Any) -> None:
    year = await settings_report(rt.store, rt.settings, annual_period(2025, None), clock.now())
    # on time: December's approvals, decision one; late: January's, decision two;
    # missed: February to November's approvals (10), accidents Q4 2024 to Q3 2025 (4)
    assert year.obligations == Obligations(on_time=2, late=2, missed=14)
    assert obligations_sentence(year) == "全年按时完成信息公开义务2项，逾期完成2项，未完成14项。"
    first = await settings_report(rt.store, rt.settings, annual_period(2025, "H1"), clock.now())
    # due January to June: approvals December to May (1 on time, 1 late, 4 missed),
    # accidents Q4 and Q1 (2 missed), decision one (on time)
    assert first.obligations == Obligations(on_time=2, late=1, missed=6)
    # without settings nothing is claimed: the cell says it is not available
    bare = await annual_report(
        rt.store, "市应急管理局", annual_period(2025, None), ZONE, clock.now()
    )
    assert bare.obligations is None and PENDING in obligations_sentence(bare)


async def test_the_api_annual_report_says_them(rt: Runtime, clock: Any) -> None:
    server = await Runtime.open(rt.settings, clock=clock)  # the app's own, closed by it
    app = create_app(rt.settings, runtime=server, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            answer = await http.get("/api/reports/annual?year=2025&format=md")
    assert answer.status_code == 200
    text = answer.text
    assert "全年按时完成信息公开义务2项，逾期完成2项，未完成14项。" in text
    assert "有2项信息公开义务逾期完成、14项未完成" in text  # under 存在的主要问题
    assert PENDING not in text
