"""``publisher preview`` for a WeChat account (issue 11 part D): whether this notice would be
pushed to followers, and how much of the day's and month's mass-send quota is left, read
from the database the adapter keeps its count in (nothing written)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from publisher.cli import main
from publisher.clock import SystemClock
from publisher.store import StoreTokens, open_store, upgrade

pytestmark = pytest.mark.usefixtures("clean_env")

RED = {
    "kind": "weather_warning",
    "title": "暴雨红色预警",
    "body": "预计未来3小时城区将出现100毫米以上降雨。",
    "fields": {"signal": "暴雨", "color": "红色", "issuer": "滨江市气象台"},
}
ORANGE = {**RED, "title": "暴雨橙色预警", "fields": {**RED["fields"], "color": "橙色"}}
CONFIG = """
[accounts.wechat]
type = "wechat"
appid = "wx0123456789abcdef"
secret = "app-secret"
mass_sends_per_month = 4
"""


def preview(notice: dict[str, Any], *args: str, env: dict[str, str] | None = None) -> Result:
    Path("notice.json").write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    return CliRunner().invoke(main, ["preview", "notice.json", *args], env=env)


def mass_lines(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [x for x in result.stdout.splitlines() if "群发" in x]


def test_a_red_warning_would_be_pushed_and_an_orange_would_not() -> None:
    assert mass_lines(preview(RED, "--channel", "wechat")) == [
        "群发推送：会推送给关注者",
        "群发配额：无法读取（数据库不存在或不可用）",
    ]
    assert mass_lines(preview(ORANGE, "--channel", "wechat"))[0] == (
        "群发推送：不推送（按本账号设置只群发推送红色预警（mass_send_colors），本条是橙色预警），只发布"
    )
    assert not Path("publisher.db").exists()  # preview made no database


def test_a_notice_of_a_kind_that_is_never_pushed_gets_no_lines() -> None:
    general = {"kind": "general", "title": "工作动态", "body": "我局召开安全生产会议。"}
    assert mass_lines(preview(general, "--channel", "wechat")) == []


def test_the_quota_left_comes_from_the_adapter_s_books(tmp_path: Path) -> None:
    database = tmp_path / "p.db"
    env = {"PUBLISHER_DATABASE_URL": f"sqlite:///{database}", "PUBLISHER_CONFIG": "c.toml"}
    Path("c.toml").write_text(CONFIG, encoding="utf-8")
    beijing = datetime.now(UTC) + timedelta(hours=8)

    async def books(day: dict[str, Any], month: dict[str, Any]) -> None:
        store = open_store(f"sqlite:///{database}", SystemClock())
        await upgrade(store)
        tokens = StoreTokens(store)
        await tokens.put("wechat", f"masssend:{beijing:%Y-%m-%d}", json.dumps(day), None)
        await tokens.put("wechat", f"masssend-month:{beijing:%Y-%m}", json.dumps(month), None)
        await store.close()

    asyncio.run(books({"sent": 0}, {"sent": 1}))
    assert mass_lines(preview(RED, "--channel", "wechat", env=env)) == [
        "群发推送：会推送给关注者",
        "今日群发配额：剩余 1 次（共 1 次）",
        "本月群发配额：剩余 3 次（共 4 次）",
    ]

    asyncio.run(books({"sent": 1, "keys": ["k"]}, {"sent": 2}))
    assert mass_lines(preview(RED, "--channel", "wechat", env=env)) == [
        "群发推送：会推送给关注者",
        "今日群发配额：剩余 0 次（共 1 次）",
        "本月群发配额：剩余 2 次（共 4 次）",
        "群发配额已用完：本条将发布，但不会推送给关注者",
    ]

    asyncio.run(books({"sent": 0, "exhausted": True}, {"sent": 4}))
    assert mass_lines(preview(RED, "--channel", "wechat", env=env))[1:] == [
        "今日群发配额：已用完（微信已提示无配额），共 1 次",
        "本月群发配额：剩余 0 次（共 4 次）",
        "群发配额已用完：本条将发布，但不会推送给关注者",
    ]


def test_json_carries_the_lines_too() -> None:
    result = preview(RED, "--channel", "wechat", "--json")
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)
    assert item["mass_send"][0] == "群发推送：会推送给关注者"
