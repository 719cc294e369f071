"""The portal under a heavy notice and hostile clients (issue 9 §3, §5, §8).

Long tables are paged with full CSV/XLSX downloads; pages are cached until the notice changes;
public routes are rate-limited per client; reads are counted per address, not User-Agent;
page numbers and ids that are not numbers, or too big for the database, are a 4xx.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from test_portal import BROWSER_A, GENERAL, Page, Portal, running

NO_LIMIT = {"portal_rate_limit": 0}
COLUMNS = ["单位名称", "处罚内容", "处罚决定日期", "罚款金额"]


def big_table(count: int) -> dict[str, Any]:
    rows: list[list[Any]] = [
        [f"某某公司{i}", "警告", "2026-09-12", i * 10] for i in range(1, count + 1)
    ]
    rows[0][1] = '=HYPERLINK("https://evil.example")'  # text, never a formula
    return {
        "kind": "penalty_disclosure",
        "title": "2026年行政处罚结果公开（大表）",
        "body": "现将处罚决定公开如下。",
        "table": {"columns": COLUMNS, "rows": rows},
    }


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with running(tmp_path, NO_LIMIT) as p:
        yield p


def reads(portal: Portal, notice_id: int) -> int:
    data = portal.client.get("/portal/stats.json", params={"ids": str(notice_id)}).json()
    return int(data["reads"][str(notice_id)])


def test_a_long_table_is_paged_and_downloads_whole(tmp_path: Path) -> None:
    with running(tmp_path, NO_LIMIT) as portal:
        notice_id = portal.publish(**big_table(450))
        first = portal.page(f"/portal/notices/{notice_id}")
        page = Page(first.text)
        (table,) = page.tables
        assert table["headers"] == COLUMNS
        assert len(table["rows"]) - 1 == 200  # the header row is a row too
        assert "共 450 条" in table["caption"] and "行政处罚决定信息" in table["caption"]
        assert ("nav", {"class": "pager", "aria-label": "表格分页"}) in page.tags
        assert any(a.get("aria-current") == "page" for _t, a in page.tags)
        last = Page(portal.page(f"/portal/notices/{notice_id}?rows=3").text)
        assert last.tables[0]["rows"][-1][0] == "某某公司450"
        assert len(last.tables[0]["rows"]) - 1 == 50
        assert portal.page(f"/portal/notices/{notice_id}?rows=4").status_code == 404
        assert portal.page(f"/portal/notices/{notice_id}?rows=%C2%B2").status_code == 404

        csv = portal.page(f"/portal/notices/{notice_id}/table.csv")
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.content.startswith(b"\xef\xbb\xbf")
        lines = csv.content.decode("utf-8-sig").splitlines()
        assert lines[0] == ",".join(COLUMNS) and len(lines) == 451
        assert lines[1].startswith("某某公司1,\"'=HYPERLINK(")
        assert lines[-1] == "某某公司450,警告,2026-09-12,4500"

        xlsx = portal.page(f"/portal/notices/{notice_id}/table.xlsx")
        book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
        sheet = book.active
        assert sheet is not None and sheet.freeze_panes == "A2"
        values = list(sheet.iter_rows(values_only=True))
        assert list(values[0]) == COLUMNS and len(values) == 451
        assert values[-1] == ("某某公司450", "警告", "2026-09-12", 4500)  # a number, not text
        assert values[1][1] == '=HYPERLINK("https://evil.example")'
        assert sheet.cell(row=2, column=2).data_type == "s"
        assert sheet.cell(row=1, column=1).font.b


def test_a_short_table_is_whole_on_the_page_with_downloads(portal: Portal) -> None:
    from test_portal import PENALTY

    notice_id = portal.publish(**PENALTY)
    page = Page(portal.page(f"/portal/notices/{notice_id}").text)
    assert len(page.tables[0]["rows"]) - 1 == 2
    assert not any(a.get("aria-label") == "表格分页" for _t, a in page.tags)
    links = {a.get("href") for t, a in page.tags if t == "a"}
    assert f"/portal/notices/{notice_id}/table.xlsx" in links
    assert portal.page(f"/portal/notices/{notice_id + 99}/table.csv").status_code == 404


def test_pages_are_cached_until_the_notice_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running(tmp_path, NO_LIMIT) as portal:
        notice_id = portal.publish(**GENERAL)
        store = portal.app.state.runtime.store
        reads_of_notice: list[int] = []
        original = store.portal_notice

        async def counting(row: int) -> Any:
            reads_of_notice.append(row)
            return await original(row)

        monkeypatch.setattr(store, "portal_notice", counting)
        for _ in range(5):
            assert "本信息已撤回" not in portal.page(f"/portal/notices/{notice_id}").text
        assert reads_of_notice == [notice_id]
        # A withdrawal as the product records it: the notice's fields and an event about it.
        portal.mark(notice_id, withdrawn=True, withdrawn_reason="内容有误")
        with contextlib.closing(sqlite3.connect(portal.db)) as conn, conn:
            conn.execute(
                "INSERT INTO events (notice_id, at, action, actor) VALUES (?, ?, ?, ?)",
                (notice_id, "2026-11-26 12:00:00.000000", "withdrawn", "test"),
            )
        text = Page(portal.page(f"/portal/notices/{notice_id}").text).text
        assert "本信息已撤回" in text and "内容有误" in text
        assert reads_of_notice == [notice_id, notice_id]
        # The read count is live even on a cached page.
        assert "浏览次数：1" in Page(portal.page(f"/portal/notices/{notice_id}").text).text


def test_healthz_stays_fast_while_a_huge_notice_is_read(tmp_path: Path) -> None:
    with running(tmp_path, NO_LIMIT) as portal:
        portal.client.timeout = 300
        notice_id = portal.publish(**big_table(20_000))
        portal.page(f"/portal/notices/{notice_id}")  # the notice read and split once
        slowest: list[float] = []
        done = threading.Event()

        def poll() -> None:
            with httpx.Client(base_url=portal.base, trust_env=False) as client:
                while not done.is_set():
                    started = time.monotonic()
                    assert client.get("/healthz").status_code == 200
                    slowest.append(time.monotonic() - started)
                    time.sleep(0.01)

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            for number in (1, 2, 50, 100, 1, 2):
                assert portal.page(f"/portal/notices/{notice_id}?rows={number}").status_code == 200
            assert portal.page(f"/portal/notices/{notice_id}/table.csv").status_code == 200
        finally:
            done.set()
            poller.join()
        assert slowest and max(slowest) < 0.5, max(slowest)


def test_public_routes_are_rate_limited_per_client(tmp_path: Path) -> None:
    limits = {"portal_rate_limit": 1, "portal_rate_burst": 3}
    with running(tmp_path, limits) as portal:
        codes = [portal.page("/portal").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = portal.page("/portal/rss.xml")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "请求过于频繁" in refused.text
        assert all(portal.client.get("/healthz").status_code == 200 for _ in range(10))
        assert all(portal.client.get("/api/deliveries").status_code == 200 for _ in range(10))


def test_one_client_varying_its_user_agent_is_one_reader(tmp_path: Path) -> None:
    with running(tmp_path, NO_LIMIT) as portal:
        notice_id = portal.publish(**GENERAL)
        for i in range(100):
            portal.page(f"/portal/notices/{notice_id}", f"{BROWSER_A} Variant/{i}")
        assert reads(portal, notice_id) == 1


@pytest.fixture
def no_uvicorn_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn as ``serve`` runs it: believing no proxy unless one is configured (uvicorn's
    own default believes X-Forwarded-For from 127.0.0.1, which is what every test runs on)."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")


@pytest.mark.usefixtures("no_uvicorn_proxy")
def test_forwarded_for_is_ignored_unless_a_proxy_is_declared(tmp_path: Path) -> None:
    with running(tmp_path, NO_LIMIT) as portal:
        notice_id = portal.publish(**GENERAL)
        for i in range(100):
            portal.client.get(
                f"/portal/notices/{notice_id}",
                headers={"User-Agent": BROWSER_A, "X-Forwarded-For": f"198.51.100.{i}"},
            )
        assert reads(portal, notice_id) == 1


@pytest.mark.parametrize("uvicorn_believes_it", [False, True])
def test_behind_a_declared_proxy_the_rightmost_forwarded_address_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uvicorn_believes_it: bool
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1" if uvicorn_believes_it else "")
    with running(tmp_path, NO_LIMIT, trust_forwarded_for=True) as portal:
        notice_id = portal.publish(**GENERAL)
        for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):  # the client writes the left part
            portal.client.get(
                f"/portal/notices/{notice_id}",
                headers={"User-Agent": BROWSER_A, "X-Forwarded-For": f"{forged}, 203.0.113.9"},
            )
        assert reads(portal, notice_id) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/portal/category/general?page=99999999999999999999",
        "/portal/category/general?page=%C2%B2",
        "/portal/stats.json?ids=99999999999999999999",
        "/portal/stats.json?ids=%C2%B2",
        "/portal/stats.json?ids=1,%C2%B2",
        "/portal/notices/1?rows=99999999999999999999",
    ],
)
def test_numbers_in_public_urls_are_refused_not_crashed(portal: Portal, path: str) -> None:
    response = portal.client.get(path, headers={"User-Agent": BROWSER_A})
    assert response.status_code in (400, 404), response.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.text)  # a Chinese message
