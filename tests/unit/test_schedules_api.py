"""``/api/schedules``: the same schedules over the API (in-process app, real SQLite)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from helpers import app_client
from schedule_kit import COLUMNS, GOOD_ROWS, TEMPLATE

pytestmark = pytest.mark.usefixtures("clean_env")

BODY = {"name": "每月行政许可公示", "cron": "0 9 1 * *", "notice": TEMPLATE, "data": "行政许可-*"}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"cron": "0 9 1 *"}, "应为 5 个字段"),
        ({"cron": "99 9 1 * *"}, "字段 '99'"),
        ({"notice": None}, "通知模板应为字段的键值映射"),
        ({"notice": {**TEMPLATE, "title": "{period.x}"}}, "不认识的占位符"),
        ({"name": "a b"}, "计划名称 'a b' 无效"),
        ({"data": "/etc/*"}, "数据文件模式"),
        ({"colour": 1}, "colour: 未知字段"),
    ],
)
async def test_bad_definitions_are_400_and_store_nothing(
    clean_env: Path, change: dict[str, object], said: str
) -> None:
    async with app_client(clean_env) as http:
        reply = await http.post("/api/schedules", json={**BODY, **change})
        assert reply.status_code == 400, reply.text
        assert said in reply.json()["error"]
        assert (await http.get("/api/schedules")).json()["schedules"] == []


async def test_without_a_notice_is_400(clean_env: Path) -> None:
    async with app_client(clean_env) as http:
        body = {k: v for k, v in BODY.items() if k != "notice"}
        reply = await http.post("/api/schedules", json=body)
        assert reply.status_code == 400
        assert reply.json()["error"].startswith("notice: 必填")


async def test_add_upload_run_and_remove(clean_env: Path) -> None:
    from openpyxl import Workbook

    async with app_client(clean_env) as http:
        reply = await http.post("/api/schedules", json=BODY)
        assert reply.status_code == 201, reply.text
        assert reply.json()["next_fire"].endswith("T09:00:00+08:00")
        again = await http.post("/api/schedules", json=BODY)
        assert again.status_code == 400 and "已存在" in again.json()["error"]

        # nothing to post yet
        reply = await http.post("/api/schedules/每月行政许可公示/run")
        assert reply.status_code == 200 and reply.json()["outcome"] == "no_data"

        # a bad upload is refused and kept nowhere
        bad = "许可证号,企业名称\n1,甲\n".encode()
        reply = await http.post("/api/schedules/每月行政许可公示/data?format=csv", content=bad)
        assert reply.status_code == 400 and "表头应为" in reply.json()["error"]
        assert not any((clean_env / "inbox" / "uploads").rglob("*.csv"))

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(COLUMNS)
        for row in GOOD_ROWS:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        reply = await http.post(
            "/api/schedules/每月行政许可公示/data?format=xlsx", content=buffer.getvalue()
        )
        assert reply.status_code == 201, reply.text
        assert reply.json()["rows"] == 2

        reply = await http.post("/api/schedules/每月行政许可公示/run")
        assert reply.status_code == 201, reply.text
        notice_id = reply.json()["notice_id"]
        notice = (await http.get(f"/api/notices/{notice_id}")).json()
        assert notice["kind"] == "approval_list" and notice["source"] == "schedule"
        assert notice["title"].endswith("月行政许可公示")
        stored = await _stored(clean_env, notice_id)
        assert stored.table is not None and stored.table["rows"] == GOOD_ROWS
        assert not any((clean_env / "inbox" / "uploads").rglob("*.xlsx"))  # used: moved aside
        assert len(list((clean_env / "inbox" / "done").iterdir())) == 1

        [entry] = (await http.get("/api/schedules")).json()["schedules"]
        assert entry["last_fire"]["outcome"] == "posted"
        assert entry["last_fire"]["notice_id"] == notice_id

        reply = await http.delete("/api/schedules/每月行政许可公示")
        assert reply.status_code == 200
        assert (await http.get("/api/schedules")).json()["schedules"] == []
        assert (await http.delete("/api/schedules/每月行政许可公示")).status_code == 404
        assert (await http.post("/api/schedules/每月行政许可公示/run")).status_code == 404


async def _stored(folder: Path, notice_id: int) -> Any:
    from publisher.clock import SystemClock
    from publisher.store import open_store

    store = open_store(f"sqlite:///{folder / 'publisher.db'}", SystemClock())
    try:
        return await store.get_notice(notice_id)
    finally:
        await store.close()
