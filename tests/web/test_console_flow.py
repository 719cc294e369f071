"""The console's whole day in a real browser, against a real ``publisher serve`` whose penalty
disclosures need a reviewer (``PUBLISHER_REVIEW_STEPS``): an editor composes a penalty
disclosure from an XLSX file, sees the per-channel preview and sends it to review; nothing is
published; a reviewer approves it; the monitor shows it posted on all four sandbox channels;
a duty officer lifts a warning from the warnings board; the communications officer opens the
reach dashboard and its charts. Screenshots go to tests/web/artifacts/flow-*.png."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from e2e.procs import Workspace, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "console-flow-password"
PEOPLE = {
    "editor": "editor",
    "reviewer": "reviewer",
    "duty": "duty_officer",
    "comms": "comms_officer",
}


@pytest.fixture(scope="module")
def served(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    ws = Workspace(tmp_path_factory.mktemp("flow"))
    try:
        port = free_port()
        ws.env["PUBLISHER_PORT"] = str(port)
        ws.env["PUBLISHER_REVIEW_STEPS"] = json.dumps({"penalty_disclosure": ["reviewer"]})
        server = ws.serve(port)
        for name, role in PEOPLE.items():
            done = ws.cli(
                "user", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n"
            )
            assert done.returncode == 0, done
        yield ws, server
    except BaseException:
        print(ws.logs()[-20_000:])
        raise
    finally:
        ws.close()


@pytest.fixture
def as_user(browser: Browser, served: Any) -> Iterator[Callable[[str], Page]]:
    _, server = served
    contexts: list[Any] = []

    def open_as(name: str) -> Page:
        context = browser.new_context(
            viewport={"width": 1366, "height": 844}, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{server.url}/login")
        page.get_by_label("用户名").fill(name)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{server.url}/")
        return page

    yield open_as
    for context in contexts:
        context.close()


def _xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["单位", "违法事实", "处罚决定", "罚款(元)"])
    sheet.append(["某化工有限公司", "未按规定开展安全生产教育培训", "罚款", 30000])
    sheet.append(["某建材厂", "安全设施未经验收即投入使用", "罚款并责令改正", 50000])
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())
    return path


def _sandbox_posts(ws: Workspace, server: Any) -> int:
    import httpx

    total = 0
    for kind in ("weibo", "wechat", "wecom_app"):
        answer = httpx.get(f"{server.url}/_sandbox/{kind}/posts", timeout=10, trust_env=False)
        total += len(answer.json()) if answer.status_code == 200 else 0
    return total


def test_compose_review_approve_and_watch_it_reach_every_channel(
    as_user: Callable[[str], Page],
    served: Any,
    tmp_path: Path,
    shoot: Callable[[Page, str], Path],
) -> None:
    ws, server = served
    before = _sandbox_posts(ws, server)
    editor = as_user("editor")
    editor.get_by_role("link", name="撰写发布").click()
    editor.get_by_role("link", name="行政处罚").click()
    editor.get_by_role("textbox", name="标题 （必填）").fill("2026年11月安全生产行政处罚结果公示")
    editor.get_by_role("textbox", name="正文 （必填）").fill(
        "根据《中华人民共和国安全生产法》，现将本月作出的行政处罚决定公示如下。"
    )
    editor.get_by_label("从 CSV 或 XLSX 文件导入").set_input_files(
        str(_xlsx(tmp_path / "处罚.xlsx"))
    )
    editor.get_by_role("button", name="预览").click()
    assert "共 2 行" in editor.locator("#table-preview caption").inner_text()
    assert editor.locator("#previews article").count() == 4
    shoot(editor, "flow-compose-preview")
    editor.get_by_role("button", name="立即发布").click()
    editor.wait_for_url(re.compile(r"/notices/\d+\?done=submitted"))
    notice_id = int(re.search(r"/notices/(\d+)", editor.url).group(1))  # type: ignore[union-attr]
    assert "待审核" in editor.locator("main").inner_text()  # sent to review, not published
    shoot(editor, "flow-awaiting-review")
    assert _sandbox_posts(ws, server) == before

    reviewer = as_user("reviewer")
    reviewer.get_by_role("link", name="审核队列").click()
    item = reviewer.locator(f"article.review:has(a[href='/notices/{notice_id}'])")
    assert item.locator("article.preview").count() == 4  # what each channel will receive
    shoot(reviewer, "flow-review-queue")
    item.get_by_role("button", name="通过").click()
    reviewer.wait_for_url(re.compile(r"/reviews\?done=approved"))

    reviewer.goto(f"{server.url}/monitor")
    reviewer.wait_for_function(
        """id => [...document.querySelectorAll('#monitor-rows tr')].filter(tr =>
              tr.querySelector(`a[href='/notices/${id}']`) &&
              tr.textContent.includes('已发布')).length === 4""",
        arg=notice_id,
        timeout=60_000,
    )
    shoot(reviewer, "flow-monitor-posted")
    portal = reviewer.context.new_page()
    portal.goto(f"{server.url}/portal/notices/{notice_id}")
    assert "某建材厂" in portal.locator("table").inner_text()


def test_a_duty_officer_lifts_a_warning_from_the_board(
    as_user: Callable[[str], Page],
    served: Any,
    shoot: Callable[[Page, str], Path],
) -> None:
    ws, server = served
    ws.write(
        "warning.json",
        {
            "kind": "weather_warning",
            "title": "暴雨橙色预警",
            "body": "预计未来3小时内本市将出现50毫米以上降雨，请注意防范。",
            "fields": {"signal": "暴雨", "color": "橙色", "issuer": "市气象台", "area": ["全市"]},
        },
    )
    done = ws.cli("notice", "submit", "warning.json", "--wait", "60", "--json")
    assert done.returncode == 0, done
    warning_id = int(json.loads(done.stdout)["id"])
    duty = as_user("duty")
    duty.get_by_role("link", name="预警", exact=True).click()
    card = duty.locator(f"li.card:has(a[href='/notices/{warning_id}'])")
    assert "橙色" in card.inner_text()
    shoot(duty, "flow-warnings-board")
    card.get_by_label("解除说明（可选）").fill("降雨已减弱")
    card.get_by_role("button", name="解除预警").click()
    duty.wait_for_url(re.compile(r"/notices/\d+\?done=lifted"))
    assert "本信息解除了" in duty.locator("main").inner_text()
    duty.goto(f"{server.url}/warnings")
    assert duty.locator(f"a[href='/notices/{warning_id}']").count() == 0  # no longer in force
    original = duty.context.new_page()
    original.goto(f"{server.url}/portal/notices/{warning_id}")
    original.wait_for_selector("text=本预警已解除", timeout=60_000)


def test_the_communications_officer_opens_the_dashboard(
    as_user: Callable[[str], Page],
    served: Any,
    shoot: Callable[[Page, str], Path],
) -> None:
    _, server = served
    comms = as_user("comms")
    assert comms.get_by_role("link", name="撰写发布").count() == 0  # read-only
    comms.get_by_role("link", name="传播数据").click()
    assert "传播数据" in comms.locator("h1").inner_text()
    charts = comms.locator(".charts img")
    assert charts.count() == 4
    for i in range(4):
        charts.nth(i).scroll_into_view_if_needed()
        comms.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=charts.nth(i).element_handle()
        )
    shoot(comms, "flow-reach-dashboard")
    with comms.expect_download() as got:
        comms.get_by_role("link", name="Excel（XLSX）").click()
    assert got.value.suggested_filename.endswith(".xlsx")
    refused = comms.goto(f"{server.url}/compose/general")
    assert refused is not None and refused.status == 403  # checked on the server


def test_typing_updates_the_previews_without_pressing_preview(
    as_user: Callable[[str], Page], served: Any, shoot: Callable[[Page, str], Path]
) -> None:
    from playwright.sync_api import expect

    _, server = served
    editor = as_user("editor")
    editor.goto(f"{server.url}/compose/weather_warning")
    previews = editor.locator("#previews")
    assert previews.get_attribute("aria-live") == "polite"
    assert previews.locator("article.preview").count() == 0
    editor.get_by_role("textbox", name="正文 （必填）").fill(
        "预计未来3小时本市将出现特大暴雨，请注意防范。"
    )
    title = editor.get_by_role("textbox", name="标题 （必填）")
    title.press_sequentially("市气象台发布暴雨预警", delay=30)
    expect(previews.locator("article.preview")).to_have_count(4, timeout=10_000)
    expect(previews.locator("article.preview").first).to_contain_text("市气象台发布暴雨预警")
    assert editor.evaluate("document.activeElement.id") == "title"  # focus never moves
    title.press_sequentially("（第二次）", delay=30)
    expect(previews.locator("article.preview").first).to_contain_text("暴雨预警（第二次）")
    editor.get_by_label("预警级别的颜色").select_option("红色")  # a choice: at once, no typing
    expect(previews).to_contain_text("群发推送：会推送给关注者", timeout=10_000)
    expect(previews).to_contain_text("今日群发配额：剩余")
    assert "/compose/weather_warning" in editor.url  # nothing submitted, no page load
    shoot(editor, "flow-live-preview")
