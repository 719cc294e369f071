"""Display periods (issue 13): a penalty decision's portal page stays public for its period,
then leaves the lists, feeds and its own address (410, 公示期已满) by itself; the record
stays. Computed from the clock at read time: a fake clock moves a year in a test.

The application runs in this process with its worker, on a clock the test moves; the portal
publishes locally, so nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from publisher.runtime import Runtime
from publisher.settings import REPO_ROOT, load_settings
from publisher.web.app import create_app
from tests.conftest import FakeClock

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
PENALTY = {
    "kind": "penalty_disclosure",
    "title": "某某化工有限公司行政处罚决定",
    "body": "因未按规定开展安全生产教育培训，依法给予警告并处罚款。",
}
NOTICE = {"kind": "general", "title": "关于开展安全生产月活动的通知", "body": "各有关单位：……"}
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0"


@contextlib.asynccontextmanager
async def portal(tmp_path: Path, clock: FakeClock, **settings: Any) -> AsyncIterator[Any]:
    config = load_settings(
        database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
        templates_dir=REPO_ROOT / "templates",
        accounts={"portal": {"type": "portal", "sandbox": True}},
        metrics_interval=0,
        portal_rate_limit=0,
        sandbox_dir=tmp_path / "sandbox",
        **settings,
    )
    rt = await Runtime.open(config, clock=clock, with_worker=True)
    app = create_app(config, runtime=rt)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers={"User-Agent": BROWSER}
        ) as http:
            yield http  # the app's lifespan closes the runtime


async def publish(http: httpx.AsyncClient, notice: dict[str, Any]) -> int:
    created = await http.post("/api/notices", json=notice)
    assert created.status_code == 201, created.text
    notice_id = int(created.json()["id"])
    for _ in range(200):
        shown = (await http.get(f"/api/notices/{notice_id}")).json()
        if {d["status"] for d in shown["deliveries"]} == {"posted"}:
            return notice_id
        await asyncio.sleep(0.05)
    raise AssertionError(f"notice {notice_id} was not posted")


async def listed(http: httpx.AsyncClient, notice_id: int) -> dict[str, bool]:
    """Where a link to the notice appears."""
    link = f"/portal/notices/{notice_id}"
    out = {}
    for path in (
        "/portal",
        "/portal/category/penalty_disclosure",
        "/portal/rss.xml",
        "/portal/atom.xml",
    ):
        out[path] = link in (await http.get(path)).text
    return out


async def test_a_penalty_page_leaves_the_portal_after_365_days(tmp_path: Path) -> None:
    clock = FakeClock(START)
    async with portal(tmp_path, clock) as http:
        penalty = await publish(http, PENALTY)
        other = await publish(http, NOTICE)
        page = await http.get(f"/portal/notices/{penalty}")
        assert page.status_code == 200 and "某某化工" in page.text  # now cached
        assert all((await listed(http, penalty)).values())

        clock.current = START + timedelta(days=364, hours=23)
        assert (await http.get(f"/portal/notices/{penalty}")).status_code == 200
        assert all((await listed(http, penalty)).values())

        clock.current = START + timedelta(days=365, minutes=1)
        gone = await http.get(f"/portal/notices/{penalty}")
        assert gone.status_code == 410
        assert "公示期已满" in gone.text and "某某化工" not in gone.text
        assert not any((await listed(http, penalty)).values())
        assert "共 0 条" in (await http.get("/portal/category/penalty_disclosure")).text
        # other kinds have no period: still there
        assert (await http.get(f"/portal/notices/{other}")).status_code == 200
        assert f"/portal/notices/{other}" in (await http.get("/portal/rss.xml")).text
        # the record stays
        record = await http.get(f"/api/notices/{penalty}")
        assert record.status_code == 200 and record.json()["title"] == PENALTY["title"]


async def test_a_configured_period_for_another_kind(tmp_path: Path) -> None:
    clock = FakeClock(START)
    periods = {"general": 90}
    async with portal(tmp_path, clock, display_periods=periods) as http:
        notice = await publish(http, NOTICE)
        penalty = await publish(http, PENALTY)
        clock.current = START + timedelta(days=91)
        assert (await http.get(f"/portal/notices/{notice}")).status_code == 410
        assert f"/portal/notices/{notice}" not in (await http.get("/portal")).text
        # penalty_disclosure keeps its default of 365 days
        assert (await http.get(f"/portal/notices/{penalty}")).status_code == 200
