"""The console as a user meets it: login, sessions, CSRF, security headers, compose."""

from __future__ import annotations

import io
from pathlib import Path

from console_helpers import PASSWORD, console

from publisher.auth.roles import Role
from publisher.web.headers import CSP


async def test_a_visitor_is_sent_to_the_login_form_and_back(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("zhang", Role.DUTY_OFFICER)
        first = await c.http.get("/monitor?status=failed")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=/monitor%3Fstatus%3Dfailed"
        page = await c.http.get(first.headers["location"])
        assert 'name="username"' in page.text and 'name="password"' in page.text
        assert 'value="/monitor?status=failed"' in page.text
        form = {"username": "zhang", "password": PASSWORD, "next": "/monitor?status=failed"}
        form["csrf"] = await c.csrf("/login")
        done = await c.http.post("/login", data=form)
        assert done.status_code == 303 and done.headers["location"] == "/monitor?status=failed"
        cookie = done.headers["set-cookie"]
        assert "publisher_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        monitor = await c.http.get("/monitor?status=failed")
        assert monitor.status_code == 200 and "zhang" in monitor.text and "值班员" in monitor.text


async def test_a_wrong_password_says_so_without_telling_which_part(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("zhang", Role.EDITOR)
        for name, password in (("zhang", "wrong password!"), ("nobody", PASSWORD)):
            answer = await c.login(name, password)
            assert answer.status_code == 401 and "用户名或密码错误" in answer.text
        assert (await c.http.get("/")).status_code == 303  # still not logged in
        entries = await c.store.audit_entries(actor="zhang")
        assert [e.action for e in entries] == ["console.login_failed"]


async def test_guessing_is_throttled(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("zhang", Role.EDITOR)
        for _ in range(10):
            assert (await c.login("zhang", "not it at all")).status_code == 401
        held = await c.login("zhang", PASSWORD)  # even the right password waits now
        assert held.status_code == 429 and "登录失败次数过多" in held.text


async def test_login_without_the_form_token_is_refused(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("zhang", Role.EDITOR)
        answer = await c.http.post("/login", data={"username": "zhang", "password": PASSWORD})
        assert answer.status_code == 400 and "页面已过期" in answer.text
        assert "publisher_session" not in answer.headers.get("set-cookie", "")


async def test_after_login_only_paths_on_this_server(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("zhang", Role.EDITOR)
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            c.logout_locally()
            form = {
                "username": "zhang",
                "password": PASSWORD,
                "next": target,
                "csrf": await c.csrf("/login"),
            }
            done = await c.http.post("/login", data=form)
            assert done.headers["location"] == "/", target


async def test_a_forged_or_tampered_session_is_no_session(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("zhang", Role.EDITOR)
        await c.add_user("boss", Role.ADMIN)
        await c.login("zhang")
        good = c.http.cookies["publisher_session"]
        raw, _, mac = good.rpartition(".")
        import base64

        payload = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        forged = base64.urlsafe_b64encode(payload.replace("zhang", "boss").encode()).decode()
        c.http.cookies.set("publisher_session", forged.rstrip("=") + "." + mac)
        assert (await c.http.get("/users")).status_code == 303


async def test_a_disabled_user_is_logged_out_at_once(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("zhang", Role.EDITOR)
        await c.login("zhang")
        assert (await c.http.get("/")).status_code == 200
        await c.store.disable_user("zhang")
        assert (await c.http.get("/")).status_code == 303
        assert (await c.login("zhang")).status_code == 401


async def test_every_form_needs_its_token(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("boss", Role.ADMIN)
        await c.login("boss")
        user = {"username": "li", "roles": "editor", "password": "long enough pw"}
        refused = await c.http.post("/users", data=user)
        assert refused.status_code == 403 and "表单已过期" in refused.text
        wrong_origin = await c.http.post(
            "/users",
            data={**user, "csrf": await c.csrf("/users")},
            headers={"origin": "https://evil.example"},
        )
        assert wrong_origin.status_code == 403
        assert [u.name for u in await c.store.list_users()] == ["boss"]
        added = await c.http.post("/users", data={**user, "csrf": await c.csrf("/users")})
        assert added.status_code == 303
        assert [u.name for u in await c.store.list_users()] == ["boss", "li"]
        (entry,) = [e for e in await c.store.audit_entries(actor="boss") if e.action == "user.add"]
        assert entry.source == "console" and entry.detail["user"] == "li"


async def test_pages_carry_strict_security_headers(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        for path in ("/login", "/portal"):
            answer = await c.http.get(path, follow_redirects=True)
            assert answer.headers["content-security-policy"] == CSP, path
            assert "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["referrer-policy"] == "same-origin"
            assert answer.headers["x-content-type-options"] == "nosniff"
        docs = await c.http.get("/docs")  # FastAPI's own page needs its inline script
        assert "content-security-policy" not in docs.headers


async def test_a_user_changes_their_password(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("zhang", Role.COMMS_OFFICER)
        await c.login("zhang")
        form = {"current": "wrong", "new": "a new long password", "again": "a new long password"}
        wrong = await c.http.post("/account", data={**form, "csrf": await c.csrf("/account")})
        assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
        form["current"] = PASSWORD
        done = await c.http.post("/account", data={**form, "csrf": await c.csrf("/account")})
        assert done.status_code == 303
        c.logout_locally()
        assert (await c.login("zhang")).status_code == 401
        assert (await c.login("zhang", "a new long password")).status_code == 303


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


PENALTY = {
    "title": "2026年11月行政处罚结果公示",
    "body": "根据《中华人民共和国安全生产法》，现将本月行政处罚结果公示如下。",
    "f_issuer": "市应急管理局",
}


async def test_compose_previews_every_channel_with_the_table_from_xlsx(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("li", Role.EDITOR)
        await c.login("li")
        table = _xlsx(
            [
                ["单位", "违法事实", "罚款(元)"],
                ["某化工有限公司", "未按规定培训", 30000],
                ["某建材厂", "安全设施缺失", 50000],
            ]
        )
        answer = await c.http.post(
            "/compose/penalty_disclosure",
            data={
                **PENALTY,
                "action": "preview",
                "csrf": await c.csrf("/compose/penalty_disclosure"),
            },
            files={"table_file": ("处罚.xlsx", table, "application/octet-stream")},
        )
        assert answer.status_code == 200, answer.text
        assert (
            "共 2 行" in answer.text and "某化工有限公司" in answer.text and "30000" in answer.text
        )
        assert "各渠道预览" in answer.text and "portal（portal）" in answer.text
        assert "/ " in answer.text  # measured length against the limit


async def test_compose_shows_a_serious_error_in_place_and_publishes_nothing(
    tmp_path: Path,
) -> None:
    async with console(tmp_path) as c:
        await c.add_user("li", Role.EDITOR)
        await c.login("li")
        data = {**PENALTY, "body": "依据《中华人民共合国安全生产法》处罚。", "action": "submit"}
        answer = await c.http.post(
            "/compose/penalty_disclosure",
            data={**data, "csrf": await c.csrf("/compose/penalty_disclosure")},
            files={
                "table_file": ("x.csv", "单位,违法事实\n某厂,中华人民共合国\n".encode(), "text/csv")
            },
        )
        assert answer.status_code == 422
        assert "中华人民共和国" in answer.text  # the likely intended form is named
        assert (await c.store.count_by_status()) == {}


async def test_compose_refuses_personal_data_unless_masked(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("li", Role.EDITOR)
        await c.login("li")
        data = {**PENALTY, "body": "当事人手机 13812345678，已处罚。", "action": "submit"}
        path = "/compose/penalty_disclosure"
        answer = await c.http.post(path, data={**data, "csrf": await c.csrf(path)})
        assert answer.status_code == 422 and "个人信息" in answer.text
        assert (await c.store.count_by_status()) == {}
        masked = await c.http.post(path, data={**data, "pii_mask": "1", "csrf": await c.csrf(path)})
        assert masked.status_code == 303 and masked.headers["location"].startswith("/notices/")
        notice = await c.http.get(masked.headers["location"])
        assert "13812345678" not in notice.text and "已提交" in notice.text


async def test_the_monitor_filters_and_pages(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("zhang", Role.DUTY_OFFICER)
        await c.login("zhang")
        path = "/compose/general"
        for n in range(3):
            data = {"title": f"通知{n}", "body": f"第{n}条测试通知的正文内容。", "action": "submit"}
            assert (
                await c.http.post(path, data={**data, "csrf": await c.csrf(path)})
            ).status_code == 303
        page = await c.http.get("/monitor?account=portal")
        assert all(f"通知{n}" in page.text for n in range(3)) and "待发送" in page.text
        rows = await c.http.get("/monitor?account=portal&partial=1")
        assert rows.text.count("<tr>") == 3 and "<html" not in rows.text
        none = await c.http.get("/monitor?status=failed&partial=1")
        assert "没有符合条件的投递" in none.text


async def test_a_duty_officer_s_warning_form_has_the_fast_path_button(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        await c.add_user("duty", Role.DUTY_OFFICER)
        await c.add_user("li", Role.EDITOR)
        await c.login("duty")
        form = await c.http.get("/compose/weather_warning")
        assert "快速发布（值班）" in form.text and "事后补审" in form.text
        assert "快速发布" not in (await c.http.get("/compose/general")).text
        c.logout_locally()
        await c.login("li")
        assert "快速发布" not in (await c.http.get("/compose/weather_warning")).text
