"""A notice composed in the web console goes through the review chain like any other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from console_helpers import console

from publisher.auth.roles import Role


async def test_a_console_notice_is_held_for_review(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_REVIEW_STEPS", json.dumps({"_default": ["reviewer"]}))
    async with console(tmp_path) as c:
        await c.add_user("li", Role.EDITOR)
        await c.login("li")
        path = "/compose/general"
        data = {
            "title": "关于开展安全检查的通知",
            "body": "各单位：请开展自查。",
            "action": "submit",
        }
        answer = await c.http.post(path, data={**data, "csrf": await c.csrf(path)})
        assert answer.status_code == 303, answer.text
        nid = int(answer.headers["location"].split("?")[0].rsplit("/", 1)[-1])
        assert (await c.http.get(answer.headers["location"])).status_code == 200
        notice = await c.store.get_notice(nid)
        assert notice.deliveries == [] and notice.source == "console"
        review = await c.store.review_of(nid)
        assert (
            review is not None and review.drafted_by == "li" and review.state == "awaiting_review"
        )
        assert await c.store.count_by_status() == {}


async def test_a_duty_officer_s_red_warning_from_the_console_goes_out_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_REVIEW_STEPS", json.dumps({"_default": ["reviewer"]}))
    async with console(tmp_path) as c:
        await c.add_user("duty", Role.DUTY_OFFICER)
        await c.login("duty")
        path = "/compose/weather_warning"
        data = {
            "title": "暴雨红色预警",
            "body": "预计未来3小时内本市将出现100毫米以上降雨。",
            "f_signal": "暴雨",
            "f_color": "红色",
            "f_issuer": "市气象台",
            "action": "submit",
        }
        answer = await c.http.post(path, data={**data, "csrf": await c.csrf(path)})
        assert answer.status_code == 303, answer.text
        nid = int(answer.headers["location"].split("?")[0].rsplit("/", 1)[-1])
        notice = await c.store.get_notice(nid)
        assert notice.deliveries  # released at once, not held
        review = await c.store.review_of(nid)
        assert review is not None and review.fast_path and review.released_by == "duty"
        page = await c.http.get(f"/notices/{nid}")
        assert "待补审" in page.text
