"""Report arithmetic across a year boundary and by department, checked against hand-computed
figures; the SVG charts well-formed (parsed with defusedxml), accessible, with the expected
labels, "—" where a channel has no figure; ``report reach --format svg`` from the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from defusedxml import ElementTree

from publisher.reach import charts, formats
from publisher.reach.report import reach_report, reach_timeline
from publisher.runtime import Runtime
from publisher.settings import load_settings
from tests.conftest import FakeClock
from tests.unit.reach_seed import ACCOUNTS, Posted, general, seed, warning

ZONE = ZoneInfo("Asia/Shanghai")
SVG = "{http://www.w3.org/2000/svg}"
A = datetime(2026, 1, 5, 2, tzinfo=UTC)
B = datetime(2026, 3, 1, 2, tzinfo=UTC)  # later samples
NOW = datetime(2026, 3, 2, 2, tzinfo=UTC)

NOTICES = [
    # 23:30 on 31 December 2025, local: December's. Latest: portal 40 (not 10 + 40), weibo likes 7
    Posted(
        general("年末检查通报"),
        datetime(2025, 12, 31, 15, 30, tzinfo=UTC),
        {"portal": [("reads", 10, A), ("reads", 40, B)], "weibo": [("likes", 7, B)]},
        actor="zhang",
    ),
    # 00:30 on 1 January 2026, local: January's
    Posted(
        warning("元旦大风黄色预警", "黄色"),
        datetime(2025, 12, 31, 16, 30, tzinfo=UTC),
        {"portal": [("reads", 25, B)], "weibo": [("likes", 3, A), ("comments", 0, B)]},
        actor="li",
    ),
    Posted(
        general("一月安全例会"),
        datetime(2026, 1, 20, 2, tzinfo=UTC),
        {"portal": [("reads", 5, A), ("reads", 12, B)]},
        actor="zhang",
    ),
    # by someone who is not a user: no department
    Posted(general("二月通报"), datetime(2026, 2, 10, 2, tzinfo=UTC), {}, actor="cap-feed"),
]


@pytest.fixture
async def settings(tmp_path: Path) -> Any:
    found = load_settings(
        database_url=f"sqlite:///{tmp_path / 'c.db'}", accounts=ACCOUNTS, metrics_interval=0
    )
    rt = await Runtime.open(found, clock=FakeClock(NOW))
    try:
        await rt.store.add_user("zhang", ["editor"], department="安全监管科")
        await rt.store.add_user("li", ["duty_officer"], department="应急值守科")
        await seed(rt, NOTICES)
    finally:
        await rt.close()
    return found


async def run(settings: Any, fn: Any, *args: Any) -> Any:
    rt = await Runtime.open(settings, clock=FakeClock(NOW))
    try:
        return await fn(rt.store, *args)
    finally:
        await rt.close()


def values(row: Any) -> dict[str, int | None]:
    return {f.metric: f.value for f in row.figures if f.value is not None}


async def test_by_month_across_the_year_boundary(settings: Any) -> None:
    report = await run(
        settings, reach_report, date(2025, 12, 1), date(2026, 2, 28), "month", ZONE, NOW
    )
    got = {(r.key, r.account): (r.posts, values(r)) for r in report.rows}
    assert got == {
        ("2025-12", "portal"): (1, {"reads": 40}),
        ("2025-12", "weibo"): (1, {"likes": 7}),
        ("2026-01", "portal"): (2, {"reads": 37}),  # 25 + 12 (not + 5)
        ("2026-01", "weibo"): (2, {"likes": 3, "comments": 0}),  # a real 0 stays 0
        ("2026-02", "portal"): (1, {}),  # posted, never sampled: no figure, not 0
        ("2026-02", "weibo"): (1, {}),
    }
    feb = next(r for r in report.rows if r.key == "2026-02" and r.account == "portal")
    assert formats.cells(report, feb)[3:6] == [1, None, None]  # posts, then "—" "—"
    assert "—" in formats.as_table(report)


async def test_by_department(settings: Any) -> None:
    report = await run(
        settings, reach_report, date(2025, 12, 1), date(2026, 2, 28), "department", ZONE, NOW
    )
    got = {(r.department_label, r.account): (r.posts, values(r)) for r in report.rows}
    assert got[("安全监管科", "portal")] == (2, {"reads": 52})  # 40 + 12
    assert got[("应急值守科", "weibo")] == (1, {"likes": 3, "comments": 0})
    assert got[("（未注明科室）", "portal")] == (1, {})
    assert formats.headers(report)[0] == "科室"


async def test_the_timeline_goes_by_day_then_by_month(settings: Any) -> None:
    daily = await run(settings, reach_timeline, date(2025, 12, 30), date(2026, 1, 31), ZONE, NOW)
    keys = {(r.key, r.account): values(r) for r in daily.rows}
    assert keys[("2025-12-31", "portal")] == {"reads": 40}
    assert keys[("2026-01-01", "portal")] == {"reads": 25}
    monthly = await run(settings, reach_timeline, date(2025, 6, 1), date(2026, 2, 28), ZONE, NOW)
    assert {r.key for r in monthly.rows} == {"2025-12", "2026-01", "2026-02"}


def parse(svg: str) -> Any:
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox", "").startswith("0 0 480 ") and root.get("width") is None
    assert "Noto Sans CJK SC" in root.get("font-family", "")
    assert root[0].tag == f"{SVG}title" and root[1].tag == f"{SVG}desc"
    assert root.get("aria-labelledby") == "chart-title chart-desc"
    return root


def texts(root: Any) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text") if t.text]


def tips(root: Any) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}title")][1:]  # each bar's or point's own


async def test_the_month_chart(settings: Any) -> None:
    first, last = date(2025, 12, 1), date(2026, 2, 28)
    svg = await run(settings, charts.reach_chart, "month", first, last, ZONE, NOW)
    root = parse(svg)
    assert root[0].text == "按月份统计触达（2025-12-01 至 2026-02-28）"
    shown = texts(root)
    assert {"2025-12", "2026-01", "2026-02"} <= set(shown)
    assert "portal（门户网站·阅读）" in shown and "weibo（微博·点赞）" in shown
    assert "2026-01 · portal（门户网站·阅读）：37" in tips(root)
    assert "2025-12 · weibo（微博·点赞）：7" in tips(root)
    assert shown.count("—") == 2  # February on both accounts: no figure, no bar
    assert "数据截至" in root[1].text


async def test_a_metric_a_channel_lacks_is_a_dash(settings: Any) -> None:
    first, last = date(2025, 12, 1), date(2026, 2, 28)
    svg = await run(settings, charts.reach_chart, "kind", first, last, ZONE, NOW, "reads")
    root = parse(svg)
    assert "weibo（微博·阅读）" in texts(root)
    assert not any("weibo" in t for t in tips(root))  # no bar for Weibo at all
    assert "“—”表示没有这项数据：weibo（微博·阅读）" in root[1].text
    assert {"工作动态", "预警信息"} <= set(texts(root))


async def test_the_top_and_time_charts(settings: Any) -> None:
    first, last = date(2025, 12, 1), date(2026, 2, 28)
    top = parse(await run(settings, charts.reach_chart, "top", first, last, ZONE, NOW))
    assert texts(top)[1:4] == ["1. 年末检查通报 · portal", "40", "2. 元旦大风黄色预警 · portal"]
    time = parse(await run(settings, charts.reach_chart, "time", first, last, ZONE, NOW))
    assert "2026-01 · portal（门户网站·阅读）：37" in tips(time)  # by month: 89 days
    assert texts(time)[1:6] == ["0", "10", "20", "30", "40"]  # the axis: whole steps
    first = date(2025, 12, 15)
    time = parse(
        await run(
            settings, charts.reach_chart, "time", first, last.replace(month=1, day=31), ZONE, NOW
        )
    )
    assert "12-31 · portal（门户网站·阅读）：40" in tips(time)  # by day: 48 days
    empty = parse(
        await run(
            settings, charts.reach_chart, "top", date(2024, 1, 1), date(2024, 1, 31), ZONE, NOW
        )
    )
    assert "该期间没有数据" in texts(empty)


def cli(*args: str) -> Result:
    from publisher.cli import main

    return CliRunner().invoke(main, list(args))


def test_the_cli_draws_svg(settings: Any, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = clean_env / "publisher.json"
    body = {"database_url": settings.database_url, "accounts": ACCOUNTS, "metrics_interval": 0}
    config.write_text(json.dumps(body))
    monkeypatch.setenv("PUBLISHER_CONFIG", str(config))
    out = clean_env / "top.svg"
    period = ("--from", "2025-12-01", "--to", "2026-02-28")
    done = cli(
        "report", "reach", *period, "--format", "svg", "--chart", "top", "--output", str(out)
    )
    assert done.exit_code == 0, done.output
    assert "1. 年末检查通报 · portal" in texts(parse(out.read_text()))
    by_month = cli("report", "reach", *period, "--by", "month", "--format", "svg")
    assert by_month.exit_code == 0 and "按月份统计触达" in by_month.output
    bad = cli("report", "reach", *period, "--format", "svg", "--chart", "pie")
    assert bad.exit_code == 2 and "Traceback" not in bad.output
