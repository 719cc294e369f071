"""The ``publisher`` command end to end: real processes, real HTTP on 127.0.0.1.

A module-wide site runs ``publisher serve`` (SQLite, the sandbox receiver mounted at
``/_sandbox/webhook``) and a separate ``publisher sandbox`` whose receiver refuses every post
with HTTP 400 (a permanent failure). Bad-input tests run in their own empty directories.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from .procs import Server, Sink, Workspace, free_port, http

pytestmark = pytest.mark.slow

NOTICE = {
    "kind": "general",
    "title": "关于开展安全生产大检查的通知",
    "body": "各单位：请于本周内完成自查。",
}

SITE_CONFIG = """
[accounts.webhook]
type = "webhook"
url = "{{base_url}}/_sandbox/webhook/receive"
sandbox = true

[accounts.broken]
type = "webhook"
url = "{broken}/receive"
max_attempts = 3

# A receiver that keeps each post but answers too late (a lost reply).
[accounts.lossy_none]
type = "webhook"
url = "{lossy}/receive-plain"
idempotency = "none"
timeout = 1

[accounts.lossy_lookup]
type = "webhook"
url = "{lossy}/receive-plain"
idempotency = "lookup"
lookup_url = "{lossy}/lookup?key={{key}}"
timeout = 1

[routes]
general = ["webhook"]
weather_warning = ["webhook"]
penalty_disclosure = ["webhook"]
"""


@dataclass
class Site:
    ws: Workspace
    server: Server
    broken: Sink
    lossy: Sink

    def submit(self, name: str, notice: dict[str, Any] | str, *args: str) -> Any:
        self.ws.write(name, notice)
        return self.ws.cli("notice", "submit", name, *args)

    def show(self, notice_id: int) -> dict[str, Any]:
        result = self.ws.cli("notice", "show", str(notice_id), "--json")
        assert result.returncode == 0, result
        data: dict[str, Any] = result.json()
        return data

    def wait_status(self, notice_id: int, status: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            data = self.show(notice_id)
            if data["status"] == status or time.monotonic() > deadline:
                return data
            time.sleep(0.2)


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    ws = Workspace(tmp_path_factory.mktemp("site"))
    failed_before = request.session.testsfailed
    try:
        broken = ws.sandbox(name="broken-sink")
        broken.faults(error_rate=1, error_status=400)
        lossy = ws.sandbox(name="lossy-sink")
        lossy.faults(hang_seconds=3, hang_rate=1)
        port = free_port()
        ws.env["PUBLISHER_PORT"] = str(port)  # the CLI and `doctor` agree with the server
        ws.config(SITE_CONFIG.format(broken=broken.url, lossy=lossy.url))
        server = ws.serve(port)
        yield Site(ws, server, broken, lossy)
    finally:
        ws.close()
        if request.session.testsfailed > failed_before:
            sys.stderr.write(ws.logs()[-20_000:])


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one clear line, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


# -- submit and watch it go out -----------------------------------------------------------------


def test_submit_json_waits_and_prints_the_posted_delivery(site: Site) -> None:
    result = site.submit("notice.json", NOTICE, "--wait", "30", "--json")

    assert result.returncode == 0, result
    data = result.json()
    assert {"id", "status", "deliveries"} <= data.keys()
    assert data["status"] == "posted"
    [delivery] = data["deliveries"]
    assert delivery["channel"] == "webhook"
    assert delivery["status"] == "posted"
    assert delivery["remote_id"].startswith("wh-")
    assert delivery["url"].startswith(f"{site.server.url}/_sandbox/webhook/posts/")
    assert delivery["attempts"] == 1
    with http() as client:
        posts = client.get(f"{site.server.url}/_sandbox/webhook/posts").json()["posts"]
    [post] = [p for p in posts if p["id"] == delivery["remote_id"]]
    assert post["payload"]["notice_id"] == data["id"]
    assert post["payload"]["title"] == NOTICE["title"]
    assert "请于本周内完成自查" in post["payload"]["body"]


YAML_NOTICE = """\
kind: penalty_disclosure
title: 2026年第三季度行政处罚结果公示
body: |
  根据《安全生产法》，现将处罚结果公示如下。
table:
  columns: [企业名称, 处罚决定书文号, 罚款金额]
  rows:
    - [某化工有限公司, 安监罚〔2026〕12号, 30000]
"""

TOML_NOTICE = """\
kind = "weather_warning"
title = "暴雨橙色预警"
body = "预计未来6小时内将出现50毫米以上降雨，请做好防范。"
[fields]
signal = "暴雨"
color = "橙色"
"""


@pytest.mark.parametrize(
    ("name", "content", "title"),
    [
        ("notice.yaml", YAML_NOTICE, "2026年第三季度行政处罚结果公示"),
        ("notice.yml", YAML_NOTICE, "2026年第三季度行政处罚结果公示"),
        ("notice.toml", TOML_NOTICE, "暴雨橙色预警"),
    ],
)
def test_yaml_and_toml_files_are_posted(site: Site, name: str, content: str, title: str) -> None:
    # .yaml and .yml carry one notice: the second is a deliberate duplicate.
    result = site.submit(name, content, "--wait", "30", "--json", "--allow-duplicate")

    assert result.returncode == 0, result
    data = result.json()
    assert data["title"] == title
    [delivery] = data["deliveries"]  # the kind's route in the settings file
    assert delivery["channel"] == "webhook"
    assert delivery["status"] == "posted"


def test_a_notice_from_standard_input(site: Site) -> None:
    text = "kind: general\ntitle: 管道提交的通知\nbody: 从标准输入读入。\n"
    result = site.ws.cli(
        "notice", "submit", "-", "--format", "yaml", "--wait", "30", "--json", stdin=text
    )
    assert result.returncode == 0, result
    assert result.json()["title"] == "管道提交的通知"
    assert result.json()["deliveries"][0]["status"] == "posted"

    bad = site.ws.cli("notice", "submit", "-", stdin=text)  # JSON unless told otherwise
    assert bad.returncode == 2, bad
    assert one_line(bad.stderr).startswith("publisher: 错误: 标准输入: JSON 格式错误")


def test_failed_delivery_exits_1_with_the_channels_message(site: Site) -> None:
    result = site.submit(
        "broken.json",
        {**NOTICE, "title": "拒收测试", "channels": ["broken"]},
        "--wait",
        "30",
        "--json",
    )

    assert result.returncode == 1, result
    [delivery] = result.json()["deliveries"]
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 1  # a 400 is permanent: no retries
    assert "HTTP 400" in delivery["error"]
    assert "沙箱注入的故障" in delivery["error"]  # the receiver's own words are kept


def test_a_lost_reply_on_a_channel_that_cannot_be_asked_needs_review(site: Site) -> None:
    notice = {**NOTICE, "title": "回执丢失-无法查询", "channels": ["lossy_none"]}
    result = site.submit("lost-none.json", notice, "--wait", "30", "--json")

    assert result.returncode == 1, result
    [delivery] = result.json()["deliveries"]
    assert delivery["status"] == "needs_review"
    assert "没有收到完整的回复" in delivery["error"]
    assert [p["payload"]["title"] for p in site.lossy.posts()].count("回执丢失-无法查询") == 1
    shown = site.ws.cli("notice", "show", str(result.json()["id"]))
    assert "待人工核查(needs_review)" in shown.stdout and "请到渠道上核实" in shown.stdout


def test_a_lost_reply_is_reconciled_by_lookup_not_posted_again(site: Site) -> None:
    notice = {**NOTICE, "title": "回执丢失-可查询", "channels": ["lossy_lookup"]}
    result = site.submit("lost-lookup.json", notice, "--wait", "30", "--json")

    assert result.returncode == 0, result
    [delivery] = result.json()["deliveries"]
    assert delivery["status"] == "posted"
    [post] = [p for p in site.lossy.posts() if p["payload"]["title"] == "回执丢失-可查询"]
    assert delivery["remote_id"] == post["id"]  # learnt from the lookup
    actions = [e["action"] for e in site.show(result.json()["id"])["events"]]
    assert "reconciled" in actions


def test_the_same_idempotency_key_gives_the_same_notice(site: Site) -> None:
    notice = {**NOTICE, "title": "幂等测试", "idempotency_key": "bureau-2026-001"}
    first = site.submit("key.json", notice, "--wait", "30", "--json")
    again = site.submit("key.json", notice, "--wait", "30", "--json")

    assert first.returncode == 0 and again.returncode == 0, (first, again)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["deliveries"] == first.json()["deliveries"]
    with http() as client:
        posts = client.get(f"{site.server.url}/_sandbox/webhook/posts").json()["posts"]
    assert [p["payload"]["title"] for p in posts].count("幂等测试") == 1

    changed = site.submit("key2.json", {**notice, "body": "另一份内容"}, "--json")
    assert changed.returncode == 2, changed
    assert "bureau-2026-001" in one_line(changed.stderr)


def test_cli_submission_is_picked_up_within_one_second(site: Site) -> None:
    latencies = []
    for n in range(5):
        result = site.submit(
            f"fast{n}.json", {**NOTICE, "title": f"快速通知{n}"}, "--wait", "10", "--json"
        )
        assert result.returncode == 0, result
        data = result.json()
        created = datetime.fromisoformat(data["created_at"])
        posted = datetime.fromisoformat(data["deliveries"][0]["posted_at"])
        latencies.append((posted - created).total_seconds())
        time.sleep(0.13 * n)  # land at different moments of the server's poll cycle
    print(f"SQLite submit->posted_at: {[round(x, 3) for x in latencies]} s")
    assert max(latencies) < 1.0, latencies
    assert "没有正在运行的投递进程" not in result.stderr  # serve's worker is running


def test_submitting_with_no_worker_running_says_so_and_the_notice_waits_for_one(
    workspace: Workspace,
) -> None:
    workspace.write("n.json", {**NOTICE, "title": "无人值守时提交"})
    result = workspace.cli("notice", "submit", "n.json", "--wait", "1", "--json")
    assert result.returncode == 3, result  # nobody sent it...
    assert "没有正在运行的投递进程" in result.stderr  # ...and the user is told why
    notice_id = result.json()["id"]

    server = workspace.serve()  # queued, not lost: the first worker to start sends it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = workspace.cli("notice", "show", str(notice_id), "--json").json()
        if shown["status"] == "posted":
            break
        time.sleep(0.2)
    assert shown["status"] == "posted", shown
    assert server.proc.alive()


# -- inspect and steer ---------------------------------------------------------------------------


def test_notice_show_and_deliveries_list(site: Site) -> None:
    submitted = site.submit("show.json", {**NOTICE, "title": "查看测试"}, "--wait", "30", "--json")
    assert submitted.returncode == 0, submitted
    notice_id = submitted.json()["id"]
    delivery_id = submitted.json()["deliveries"][0]["id"]

    text = site.ws.cli("notice", "show", str(notice_id))
    assert text.returncode == 0, text
    assert "查看测试" in text.stdout
    assert "已发布(posted)" in text.stdout
    assert "提交 操作者" in text.stdout  # the event history is shown too
    created = datetime.fromisoformat(submitted.json()["created_at"])
    local = created.astimezone(ZoneInfo("Asia/Shanghai"))  # the bureau's clock, not UTC
    assert f"创建: {local:%Y-%m-%d %H:%M:%S}" in text.stdout

    data = site.show(notice_id)
    assert data["id"] == notice_id
    actions = [e["action"] for e in data["events"] if e["delivery_id"] == delivery_id]
    assert actions[0] == "queued"
    assert "sending" in actions
    assert actions[-1] == "posted"
    assert all(e["at"] and e["actor"] for e in data["events"])

    listed = site.ws.cli("deliveries", "list", "--status", "posted", "--json")
    assert listed.returncode == 0, listed
    rows = listed.json()
    assert rows and all(r["status"] == "posted" for r in rows)
    assert delivery_id in [r["id"] for r in rows]

    human = site.ws.cli("deliveries", "list", "--status", "posted")
    assert human.returncode == 0, human
    assert f"#{delivery_id}" in human.stdout
    assert "已发布(posted)" in human.stdout


def test_retry_a_failed_delivery_after_the_receiver_recovers(site: Site) -> None:
    result = site.submit(
        "retry.json",
        {**NOTICE, "title": "重试测试", "channels": ["broken"]},
        "--wait",
        "30",
        "--json",
    )
    assert result.returncode == 1, result
    notice_id = result.json()["id"]
    delivery_id = result.json()["deliveries"][0]["id"]

    site.broken.faults()  # the receiver works again
    try:
        retried = site.ws.cli("deliveries", "retry", str(delivery_id))
        assert retried.returncode == 0, retried
        data = site.wait_status(notice_id, "posted")
    finally:
        site.broken.faults(error_rate=1, error_status=400)
    assert data["status"] == "posted", data
    assert data["deliveries"][0]["remote_id"]
    assert [e["action"] for e in data["events"]].count("retry") == 1
    assert [p["payload"]["title"] for p in site.broken.posts()].count("重试测试") == 1

    again = site.ws.cli("deliveries", "retry", str(delivery_id))  # posted: nothing to retry
    assert again.returncode == 2, again
    assert "当前状态为 posted" in one_line(again.stderr)


def test_cancel_a_scheduled_delivery(site: Site) -> None:
    later = (datetime.now(UTC) + timedelta(days=1)).astimezone().isoformat()
    result = site.submit(
        "later.json", {**NOTICE, "title": "定时发布", "publish_at": later}, "--json"
    )
    assert result.returncode == 0, result
    data = result.json()
    assert data["status"] == "queued"
    delivery_id = data["deliveries"][0]["id"]

    cancelled = site.ws.cli("deliveries", "cancel", str(delivery_id))
    assert cancelled.returncode == 0, cancelled
    after = site.show(data["id"])
    assert after["status"] == "cancelled"
    assert after["deliveries"][0]["status"] == "cancelled"
    assert after["deliveries"][0]["posted_at"] is None

    twice = site.ws.cli("deliveries", "cancel", str(delivery_id))
    assert twice.returncode == 2, twice
    assert "当前状态为 cancelled" in one_line(twice.stderr)
    missing = site.ws.cli("deliveries", "cancel", "999999")
    assert missing.returncode == 2, missing
    assert "没有 id 为 999999 的投递" in one_line(missing.stderr)


def test_a_scheduled_notice_goes_out_at_its_time(site: Site) -> None:
    at = datetime.now(UTC).astimezone() + timedelta(seconds=3)
    notice = {**NOTICE, "title": "定时三秒", "publish_at": at.isoformat()}
    result = site.submit("soon.json", notice, "--wait", "20", "--json")

    assert result.returncode == 0, result
    posted = datetime.fromisoformat(result.json()["deliveries"][0]["posted_at"])
    late = (posted - at).total_seconds()
    print(f"scheduled notice posted {late:.3f} s after its publish_at")
    assert 0 <= late < 1.0


def test_wait_times_out_on_a_scheduled_notice(site: Site) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    result = site.submit(
        "wait.json", {**NOTICE, "title": "等待超时", "publish_at": later}, "--wait", "1", "--json"
    )
    assert result.returncode == 3, result
    assert "等待投递超时" in result.stderr


# -- operations ----------------------------------------------------------------------------------


def test_the_api_docs_load_nothing_from_outside(site: Site) -> None:
    """Government intranets are offline: /docs and /redoc bring their own scripts."""
    with http() as client:
        for page in ("/docs", "/redoc"):
            html = client.get(f"{site.server.url}{page}").text
            assets = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert assets, html
            for asset in assets:
                assert asset.startswith("/"), (page, asset)
                assert client.get(f"{site.server.url}{asset}").status_code == 200, asset
            assert "://" not in html.replace("http://www.w3.org", ""), html
        assert '"validatorUrl": null' in client.get(f"{site.server.url}/docs").text


def test_healthz(site: Site) -> None:
    with http() as client:
        response = client.get(f"{site.server.url}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_doctor_passes_on_a_running_site(site: Site) -> None:
    result = site.ws.cli("doctor")
    assert result.returncode == 0, result
    assert "✗" not in result.stdout
    assert "webhook" in result.stdout and "broken" in result.stdout


def test_a_second_server_on_the_same_sqlite_file_is_refused(site: Site) -> None:
    result = site.ws.cli("serve", "--port", str(free_port()), timeout=60)
    assert result.returncode != 0, result
    line = [ln for ln in result.stderr.splitlines() if "错误" in ln]
    assert line and "已有另一个 publisher 进程" in line[0], result
    assert "Traceback" not in result.stderr
    with http() as client:  # and the first one is unharmed
        assert client.get(f"{site.server.url}/healthz").status_code == 200


def test_worker_on_sqlite_is_refused(site: Site) -> None:
    result = site.ws.cli("worker", timeout=60)
    assert result.returncode == 2, result
    line = one_line(result.stderr)
    assert "SQLite" in line and "postgresql://" in line


# -- alone, without a server ---------------------------------------------------------------------


def test_db_upgrade_creates_and_is_repeatable(workspace: Workspace) -> None:
    first = workspace.cli("db", "upgrade")
    assert first.returncode == 0, first
    assert "数据库已迁移到最新版本" in first.stdout and "0001, " in first.stdout, first
    assert workspace.db_path.exists()
    assert workspace.counts() == {"notices": 0, "deliveries": 0, "events": 0}
    second = workspace.cli("db", "upgrade")
    assert second.returncode == 0, second
    assert "数据库已是最新版本，无需迁移" in second.stdout, second


def test_wait_times_out_when_no_server_runs(workspace: Workspace) -> None:
    workspace.write("n.json", NOTICE)
    result = workspace.cli("notice", "submit", "n.json", "--wait", "1", "--json")
    assert result.returncode == 3, result
    assert "等待投递超时" in result.stderr
    assert result.json()["deliveries"][0]["status"] == "pending"
    assert workspace.counts()["notices"] == 1  # it is stored: a server started later sends it


def test_doctor_passes_on_the_default_configuration(workspace: Workspace) -> None:
    port = free_port()
    workspace.env["PUBLISHER_PORT"] = str(port)
    workspace.serve(port)
    result = workspace.cli("doctor")
    assert result.returncode == 0, result
    assert "✗" not in result.stdout


def test_doctor_names_a_dead_webhook(workspace: Workspace) -> None:
    workspace.config(f"""
[accounts.oa_hook]
type = "webhook"
url = "http://127.0.0.1:{free_port()}/receive"
""")
    result = workspace.cli("doctor")
    assert result.returncode != 0, result
    problems = [ln for ln in result.stdout.splitlines() if ln.startswith("✗")]
    assert len(problems) == 1, result
    assert "oa_hook" in problems[0]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PUBLISHER_LEASE_SECONDS": "soon"}, "PUBLISHER_LEASE_SECONDS"),
        ({"PUBLISHER_TIMEZONE": "Mars/Olympus"}, "PUBLISHER_TIMEZONE"),
        ({"PUBLISHER_DATABASE_URL": "mysql://x/y"}, "PUBLISHER_DATABASE_URL"),
        ({"PUBLISHER_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}, "数据库"),
    ],
)
def test_doctor_names_a_bad_setting(workspace: Workspace, env: dict[str, str], named: str) -> None:
    result = workspace.cli("doctor", env=env)
    assert result.returncode != 0, result
    problems = [ln for ln in result.stdout.splitlines() if ln.startswith("✗")]
    assert len(problems) == 1, result
    assert named in problems[0]
    assert "Traceback" not in result.stdout + result.stderr


LIMITED_CONFIG = """
[accounts.webhook]
type = "webhook"
url = "http://127.0.0.1:9/receive"

[accounts.short]
type = "webhook"
url = "http://127.0.0.1:9/receive"
body_max = 40
"""

LONG_BODY = "请各单位高度重视安全生产工作。" * 10

BAD_INPUTS = [
    ("malformed-json", "n.json", '{"kind": "general", "title": "t",', "JSON 格式错误"),
    ("malformed-yaml", "n.yaml", "kind: general\ntitle: [unclosed\n", "YAML 格式错误"),
    ("malformed-toml", "n.toml", 'kind = "general"\ntitle = \n', "TOML 格式错误，第 2 行"),
    ("unknown-kind", "n.json", {**NOTICE, "kind": "rumour"}, "未知的通知类型 'rumour'"),
    ("unknown-channel", "n.json", {**NOTICE, "channels": ["douyin"]}, "douyin"),
    ("missing-title", "n.json", {"kind": "general", "body": "正文"}, "title"),
    ("missing-body", "n.json", {"kind": "general", "title": "标题"}, "body"),
    ("body-over-limit", "n.json", {**NOTICE, "body": LONG_BODY, "channels": ["short"]}, "short"),
    (
        "not-utf8",
        "n.json",
        '{"kind": "general", "title": "通知", "body": "正文"}'.encode("gbk"),
        "UTF-8",
    ),
    ("naive-publish-at", "n.json", {**NOTICE, "publish_at": "2030-01-01T09:00:00"}, "publish_at"),
    ("not-a-mapping", "n.yaml", "- just\n- a list\n", "键值映射"),
    ("no-such-file", "missing.json", None, "missing.json: 文件不存在"),
]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUTS],
)
def test_bad_input_exits_2_and_writes_nothing(
    workspace: Workspace, name: str, content: Any, needle: str
) -> None:
    workspace.config(LIMITED_CONFIG)
    if content is not None:
        workspace.write(name, content)

    result = workspace.cli("notice", "submit", name, "--wait", "5", "--json")

    assert result.returncode == 2, result
    line = one_line(result.stderr)
    assert needle in line, line
    assert result.stdout == ""
    assert workspace.counts() == {"notices": 0, "deliveries": 0, "events": 0}
    listed = workspace.cli("deliveries", "list", "--json")
    assert listed.returncode == 0, listed
    assert listed.json() == []


API_BAD_INPUTS = [
    (b'{"kind": "general", "title": "t",', 422, "请求体不是有效的 JSON"),
    (b"[1, 2]", 422, "键值映射"),
    ({**NOTICE, "kind": "rumour"}, 422, "未知的通知类型 'rumour'"),
    ({**NOTICE, "channels": ["douyin"]}, 422, "douyin"),
    ({"kind": "general", "body": "正文"}, 422, "title"),
    ({**NOTICE, "body": LONG_BODY, "channels": ["short"]}, 422, "short"),
    ({**NOTICE, "publish_at": "2030-01-01T09:00:00"}, 422, "publish_at"),
    ({**NOTICE, "urgent": "perhaps"}, 422, "urgent"),
    ({**NOTICE, "colour": "red"}, 422, "colour"),
    ({**NOTICE, "body": "联系人身份证号 110101199003074514"}, 422, "身份证"),
    (
        b'{"kind": "general", "fields": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        422,
        "嵌套层数",
    ),
    (
        b'{"kind": "general", "title": "t", "body": "b", "fields": {"x": '
        + b"[" * 40
        + b"]" * 40
        + b"}}",
        422,
        "嵌套超过 32 层",
    ),
]


def test_the_api_refuses_bad_input_with_4xx_and_writes_nothing(workspace: Workspace) -> None:
    workspace.config(LIMITED_CONFIG)
    server = workspace.serve()
    with http() as client:
        for notice, status, needle in API_BAD_INPUTS:
            raw = notice if isinstance(notice, bytes) else json.dumps(notice).encode()
            response = client.post(
                f"{server.url}/api/notices",
                content=raw,
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == status, (notice, response.text)
            error = response.json()["error"]
            assert needle in error and "\n" not in error, (notice, error)
        violations = client.post(
            f"{server.url}/api/notices", json={**NOTICE, "body": LONG_BODY, "channels": ["short"]}
        ).json()["violations"]
        assert [v["channel"] for v in violations] == ["short"]
        # Over 10 MB: refused before it is read whole, declared (Content-Length) or chunked.
        huge = b'{"kind": "general", "title": "t", "body": "' + b"x" * 11 * 2**20 + b'"}'

        def chunks() -> Iterator[bytes]:
            yield from (huge[i : i + 2**20] for i in range(0, len(huge), 2**20))

        for content in (huge, chunks()):
            too_big = client.post(
                f"{server.url}/api/notices",
                content=content,
                headers={"Content-Type": "application/json"},
            )
            assert too_big.status_code == 413, too_big.text
            assert too_big.json()["error"] == "请求体超过 10 MB"
        # Ids and query values out of range are refused, not passed to the database.
        for path, needle in [
            ("/api/notices/99999999999999999999", "notice_id"),
            ("/api/notices/0", "notice_id"),
            ("/api/deliveries?limit=-5", "limit"),
            ("/api/deliveries?status=lost", "'needs_review'"),
        ]:
            odd = client.get(f"{server.url}{path}")
            assert odd.status_code == 422 and needle in odd.json()["error"], (path, odd.text)
    assert workspace.counts() == {"notices": 0, "deliveries": 0, "events": 0}


@pytest.mark.parametrize(
    "args",
    [
        ("notice", "show", "99999999999999999999"),
        ("deliveries", "retry", "99999999999999999999"),
        ("deliveries", "cancel", "0"),
    ],
)
def test_ids_out_of_range_exit_2_without_a_traceback(
    workspace: Workspace, args: tuple[str, ...]
) -> None:
    result = workspace.cli(*args)
    assert result.returncode == 2, result
    assert "is not in the range 1<=x<=9223372036854775807" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [("--wait", "-1"), ("--wait", "nan"), ("--wait", "inf"), ("--actor", "x" * 101)],
)
def test_an_option_out_of_range_exits_2_and_writes_nothing(
    workspace: Workspace, option: str, value: str
) -> None:
    workspace.write("n.json", NOTICE)
    result = workspace.cli("notice", "submit", "n.json", option, value)
    assert result.returncode == 2, result
    assert f"Invalid value for '{option}'" in result.stderr
    assert workspace.counts() == {"notices": 0, "deliveries": 0, "events": 0}


def test_body_over_limit_names_the_channel_and_the_measure(workspace: Workspace) -> None:
    workspace.config(LIMITED_CONFIG)
    workspace.write("n.json", {**NOTICE, "body": LONG_BODY, "channels": ["webhook", "short"]})
    result = workspace.cli("notice", "submit", "n.json")
    assert result.returncode == 2, result
    line = one_line(result.stderr)
    assert "short: body:" in line and "超过上限 40" in line
    assert "webhook:" not in line  # the channel that fits is not blamed
    assert workspace.counts()["notices"] == 0


def test_database_unreachable_is_one_clear_line(workspace: Workspace) -> None:
    workspace.env["PUBLISHER_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/x"
    workspace.write("n.json", NOTICE)

    for args in (
        ("notice", "submit", "n.json"),
        ("deliveries", "list"),
        ("notice", "show", "1"),
        ("db", "upgrade"),
        ("worker",),
        ("serve", "--port", str(free_port())),
    ):
        result = workspace.cli(*args)
        assert result.returncode not in (0, 2), result  # not the user's input at fault
        line = one_line(result.stderr)
        assert "数据库" in line and "127.0.0.1" in line, line

    debug = workspace.cli("--debug", "notice", "submit", "n.json")
    assert debug.returncode == result.returncode, debug
    assert "Traceback" in debug.stderr
    assert "无法连接数据库" in debug.stderr.splitlines()[-1]


def test_doctor_names_a_bad_channel_account(workspace: Workspace) -> None:
    workspace.config('[accounts.tiktok]\ntype = "douyin"\n')
    result = workspace.cli("doctor")
    assert result.returncode != 0, result
    problems = [ln for ln in result.stdout.splitlines() if ln.startswith("✗")]
    assert len(problems) == 1, result
    assert "tiktok" in problems[0] and "douyin" in problems[0]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PUBLISHER_LEASE_SECONDS": "0"}, "PUBLISHER_LEASE_SECONDS"),
        ({"PUBLISHER_CONFIG": "nowhere.toml"}, "nowhere.toml"),
        ({"PUBLISHER_DATABASE_URL": "sqlite:///no/such/folder/x.db"}, "/no/such/folder"),
    ],
)
def test_serve_stops_at_a_bad_setting_with_one_line(
    workspace: Workspace, env: dict[str, str], named: str
) -> None:
    result = workspace.cli("serve", "--port", str(free_port()), env=env, timeout=60)
    assert result.returncode == 2, result
    assert named in one_line(result.stderr)


def test_serve_names_the_line_of_a_broken_config_file(workspace: Workspace) -> None:
    workspace.config("accounts:\n  oa:\n    type: webhook\n    url: [\n", name="publisher.yaml")
    result = workspace.cli("serve", "--port", str(free_port()), timeout=60)
    assert result.returncode == 2, result
    said = one_line(result.stderr)
    assert "publisher.yaml: 不是有效的 YAML" in said and "(第 5 行)" in said, said
    assert "Traceback" not in result.stderr


def test_serve_beyond_loopback_needs_an_api_token(workspace: Workspace) -> None:
    del workspace.env["PUBLISHER_API_TOKEN"]
    result = workspace.cli("serve", "--host", "0.0.0.0", "--port", str(free_port()), timeout=60)
    assert result.returncode == 2, result
    assert "监听 0.0.0.0 需要设置 PUBLISHER_API_TOKEN" in one_line(result.stderr)


def test_with_an_api_token_the_api_wants_it_and_pages_do_not(workspace: Workspace) -> None:
    token = "tok-" + "x" * 28
    workspace.env["PUBLISHER_API_TOKEN"] = token
    server = workspace.serve()
    with http() as client:
        bare = client.post(f"{server.url}/api/notices", json=NOTICE)
        wrong = client.get(
            f"{server.url}/api/deliveries", headers={"Authorization": "Bearer not-the-token"}
        )
        right = client.post(
            f"{server.url}/api/notices", json=NOTICE, headers={"Authorization": f"Bearer {token}"}
        )
        health = client.get(f"{server.url}/healthz")
    assert (bare.status_code, wrong.status_code) == (401, 401), (bare.text, wrong.text)
    assert "API 令牌" in bare.json()["error"] and token not in bare.text
    assert bare.headers["WWW-Authenticate"] == "Bearer"
    assert right.status_code == 201, right.text
    assert health.status_code == 200
    assert workspace.counts()["notices"] == 1  # only the one that carried the token


def test_serve_says_when_its_port_is_taken(workspace: Workspace) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = workspace.cli("serve", "--port", str(port), timeout=60)
    assert result.returncode == 2, result
    assert f"127.0.0.1:{port}" in one_line(result.stderr)


def test_a_dead_and_a_hanging_channel_do_not_delay_a_healthy_one(workspace: Workspace) -> None:
    hanging = workspace.sandbox(name="hanging-sink")
    hanging.faults(latency_ms=20_000)
    port = free_port()
    workspace.env["PUBLISHER_PORT"] = str(port)
    workspace.config(f"""
[accounts.healthy]
type = "webhook"
url = "{{base_url}}/_sandbox/webhook/receive"
sandbox = true

[accounts.dead]
type = "webhook"
url = "http://127.0.0.1:{free_port()}/receive"

[accounts.hanging]
type = "webhook"
url = "{hanging.url}/receive"
timeout = 30
""")
    server = workspace.serve(port)
    with http() as client:
        ids = []
        for n in range(20):
            notice = {**NOTICE, "title": f"独立性{n}", "urgent": n % 2 == 0}
            response = client.post(f"{server.url}/api/notices", json=notice)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        time.sleep(3)
        notices = [client.get(f"{server.url}/api/notices/{i}").json() for i in ids]

    lag = []
    for data in notices:
        by_channel = {d["channel"]: d for d in data["deliveries"]}
        assert by_channel["healthy"]["status"] == "posted", data
        assert by_channel["dead"]["status"] in ("retry_wait", "pending"), data
        assert by_channel["hanging"]["status"] in ("sending", "pending"), data
        posted = datetime.fromisoformat(by_channel["healthy"]["posted_at"])
        lag.append((posted - datetime.fromisoformat(data["created_at"])).total_seconds())
    print(f"healthy channel beside a dead and a hanging one: max lag {max(lag):.3f} s")
    assert max(lag) < 1.5, lag
