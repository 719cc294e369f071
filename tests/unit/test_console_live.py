"""The compose form's live preview route (console.js posts the form while the user types) and
WeChat's mass-send lines in the console's previews, as ``publisher preview`` prints them."""

from __future__ import annotations

import json
from pathlib import Path

from console_helpers import console

from publisher.auth.roles import Role

PATH = "/compose/weather_warning"
RED = {
    "title": "市气象台发布暴雨红色预警",
    "body": "预计未来3小时本市将出现特大暴雨，请注意防范。",
    "f_signal": "暴雨",
    "f_color": "红色",
    "f_level": "Ⅰ",
}


async def _form(c: object, fields: dict[str, str]) -> dict[str, str]:
    return {**fields, "action": "preview", "csrf": await c.csrf(PATH)}  # type: ignore[attr-defined]


async def test_the_preview_route_answers_the_fragment_and_submits_nothing(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("li", Role.EDITOR)
        await c.login("li")
        data = await _form(c, {**RED, "action": "submit"})
        answer = await c.http.post(f"{PATH}/preview", data=data)
        assert answer.status_code == 200, answer.text
        assert "<html" not in answer.text and "<nav" not in answer.text  # no frame
        assert "各渠道预览" in answer.text and "市气象台发布暴雨红色预警" in answer.text
        assert answer.text.count('class="preview card"') == 4
        assert (await c.store.count_by_status()) == {}  # a preview never submits
        broken = await c.http.post(
            f"{PATH}/preview", data={**data, "body": "依据《中华人民共合国安全生产法》处罚。"}
        )
        assert broken.status_code == 200 and "需要修改后才能发布" in broken.text
        assert "中华人民共和国" in broken.text  # the finding, in place
        empty = await c.http.post(f"{PATH}/preview", data=await _form(c, {"title": ""}))
        assert empty.status_code == 200 and "需要修改后才能发布" in empty.text


async def test_the_preview_route_checks_the_token_and_the_role(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("li", Role.EDITOR)
        await c.add_user("wang", Role.COMMS_OFFICER)
        await c.login("li")
        no_token = await c.http.post(f"{PATH}/preview", data=RED)
        assert no_token.status_code == 403 and "各渠道预览" not in no_token.text
        c.logout_locally()
        await c.login("wang")
        token = await c.csrf("/account")
        refused = await c.http.post(f"{PATH}/preview", data={**RED, "csrf": token})
        assert refused.status_code == 403 and "各渠道预览" not in refused.text
        refused = await c.http.post("/notices/1/update/preview", data={**RED, "csrf": token})
        assert refused.status_code == 403


async def test_the_compose_page_has_the_live_region_and_the_script(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("li", Role.EDITOR)
        await c.login("li")
        form = await c.http.get(PATH)
        assert f'data-preview="{PATH}/preview"' in form.text
        assert 'id="previews" aria-live="polite"' in form.text
        assert '<script src="/console/static/console.js' in form.text


async def test_a_red_warning_preview_says_it_is_pushed_and_the_quota_left(
    tmp_path: Path,
) -> None:
    async with console(tmp_path) as c:
        await c.add_user("li", Role.EDITOR)
        await c.login("li")
        answer = await c.http.post(f"{PATH}/preview", data=await _form(c, RED))
        assert "群发推送：会推送给关注者" in answer.text
        assert "今日群发配额：剩余 1 次（共 1 次）" in answer.text
        full = await c.http.post(PATH, data=await _form(c, RED))  # the 预览 button: same lines
        assert "群发推送：会推送给关注者" in full.text and "今日群发配额：剩余 1 次" in full.text
        orange = await c.http.post(
            f"{PATH}/preview",
            data=await _form(c, {**RED, "f_color": "橙色", "f_level": "Ⅱ"}),
        )
        assert "群发推送：不推送" in orange.text and "只发布" in orange.text
        # the day's send spent (the adapter's book): the preview says so
        from channels.wechat.policy import day_key

        day = day_key(c.app.state.runtime.clock.now())
        await c.store.put_credential("wechat", f"masssend:{day}", json.dumps({"sent": 1}), None)
        spent = await c.http.post(f"{PATH}/preview", data=await _form(c, RED))
        assert "今日群发配额：剩余 0 次（共 1 次）" in spent.text
        assert "不会推送给关注者" in spent.text


async def test_the_update_form_previews_live_as_a_follow_up(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("li", Role.EDITOR)
        await c.login("li")
        made = await c.http.post(PATH, data={**(await _form(c, RED)), "action": "submit"})
        assert made.status_code == 303, made.text
        notice_id = int(made.headers["location"].split("/")[2].split("?")[0])
        before = await c.store.count_by_status()
        form = await c.http.get(f"/notices/{notice_id}/update")
        url = f"/notices/{notice_id}/update/preview"
        assert f'data-preview="{url}"' in form.text
        lowered = {**RED, "title": "暴雨预警降为橙色", "f_color": "橙色", "f_level": "Ⅱ"}
        answer = await c.http.post(url, data={**lowered, "csrf": await c.csrf(PATH)})
        assert answer.status_code == 200 and "暴雨预警降为橙色" in answer.text
        assert "<nav" not in answer.text
        # a follow-up is not pushed to WeChat followers by default (mass_send_followups)
        assert "群发推送：不推送" in answer.text and "后续通知" in answer.text
        assert await c.store.count_by_status() == before  # nothing submitted
        missing = await c.http.post(
            "/notices/999999/update/preview", data={**lowered, "csrf": await c.csrf(PATH)}
        )
        assert missing.status_code == 404
