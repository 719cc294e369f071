"""渠道状态: what ``doctor`` says, per account — the breaker, WeChat's mass-send quota left,
reach collection (a failing account in red, never silent) and the freshness watchdog."""

from __future__ import annotations

import json
import re
from pathlib import Path

from console_helpers import console

from publisher.auth.roles import Role
from publisher.queue.admission import AdmissionPolicy
from publisher.states import Status
from publisher.store.records import AccountLimits, ClaimRequest, Outcome

NOTICE = {
    "title": "市气象台发布大风蓝色预警",
    "body": "预计今天夜间本市将出现6级以上大风，请注意防范。",
    "f_signal": "大风",
    "f_color": "蓝色",
    "f_level": "Ⅳ",
    "action": "submit",
}
PATH = "/compose/weather_warning"
BREAKER = AdmissionPolicy(3, 600.0)


def _row(html: str, account: str) -> str:
    """The table row of one account (its name is in the first cell)."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if f'<div class="why">{account}' in row:
            return str(row)
    raise AssertionError(f"no row for {account}")


def _cell(row: str, name: str) -> str:
    found = re.search(rf'<td class="{name}">(.*?)</td>', row, re.S)
    assert found, (name, row)
    return re.sub(r"\s+", " ", found.group(1))


async def test_the_channels_page_says_per_account_what_doctor_says(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("boss", Role.ADMIN)
        await c.login("boss")
        page = (await c.http.get("/channels")).text
        wechat = _row(page, "wechat")
        assert "正常（未熔断）" in _cell(wechat, "breaker")
        assert "今日剩余 1 / 1 次" in _cell(wechat, "quota")
        assert _cell(_row(page, "portal"), "quota") == "—"  # no mass send: nothing to say
        assert "无发布记录" in _cell(wechat, "fresh")
        assert "尚未采集" in _cell(_row(page, "weibo"), "reach")

        # three failed sends to WeChat in a row: its breaker opens
        for n in range(3):
            data = {**NOTICE, "title": f"{NOTICE['title']}（{n}）", "csrf": await c.csrf(PATH)}
            assert (await c.http.post(PATH, data=data)).status_code == 303
        limits = {"wechat": AccountLimits(max_concurrency=50)}
        got, _ = await c.store.claim(ClaimRequest("w1", limits, 30.0, BREAKER), 50)
        assert len(got) == 3
        why = "微信接口返回 45009：接口调用超过限制"
        for item in got:
            assert await c.store.mark_sending(item.delivery, "w1")
            failed = Outcome(
                to_status=Status.RETRY_WAIT,
                action="retry",
                reason=why,
                error=why,
                not_before=c.store.clock.now(),
                failure=True,
            )
            assert await c.store.finish(item.delivery, "w1", failed, BREAKER)
        # reach collection failing twice for Weibo; the day's mass send spent
        now = c.store.clock.now()
        for _ in range(2):
            await c.store.record_collection("weibo", now, "HTTP 500 from api.weibo.com")
        from channels.wechat.policy import day_key

        book = json.dumps({"sent": 1})
        await c.store.put_credential("wechat", f"masssend:{day_key(now)}", book, None)

        page = (await c.http.get("/channels")).text
        wechat, weibo = _row(page, "wechat"), _row(page, "weibo")
        breaker = _cell(wechat, "breaker")
        assert '<span class="bad">已熔断：连续失败 3 次' in breaker and why in breaker
        assert "今日剩余 0 / 1 次" in _cell(wechat, "quota")
        reach = _cell(weibo, "reach")
        assert '<span class="bad">采集失败：连续失败 2 次' in reach
        assert "HTTP 500 from api.weibo.com" in reach
        assert "正常（未熔断）" in _cell(weibo, "breaker")


async def test_freshness_per_account_after_a_post(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("boss", Role.ADMIN)
        await c.login("boss")
        data = {**NOTICE, "csrf": await c.csrf(PATH)}
        assert (await c.http.post(PATH, data=data)).status_code == 303
        limits = {"portal": AccountLimits(max_concurrency=50)}
        (item,), _ = await c.store.claim(ClaimRequest("w1", limits, 30.0, BREAKER), 50)
        assert await c.store.mark_sending(item.delivery, "w1")
        posted = Outcome(
            to_status=Status.POSTED, action="posted", remote_id="p1", url="/p/1", success=True
        )
        assert await c.store.finish(item.delivery, "w1", posted, BREAKER)
        page = (await c.http.get("/channels")).text
        fresh = _cell(_row(page, "portal"), "fresh")
        assert "0 天" in fresh and "正常（14 天告警）" in fresh
        assert "无发布记录" in _cell(_row(page, "weibo"), "fresh")
