"""The first minute with ``publisher``: the address it prints leads somewhere, ``doctor`` finds
the ``serve`` that runs, reach reads in Chinese, and a restart of ``serve`` keeps what the
built-in sandbox received (so remote ids are never handed out twice)."""

from __future__ import annotations

import re
import signal
import time
from typing import Any

import pytest

from .procs import Server, Workspace, free_port, http

pytestmark = pytest.mark.slow

NOTICE = {
    "kind": "general",
    "title": "关于开展安全生产大检查的通知",
    "body": "各单位：请于本周内完成自查。",
}
MEASURED = ("portal", "weibo", "wechat")  # the channels that report reach (WeCom does not)


def submit(ws: Workspace, name: str, notice: dict[str, Any]) -> dict[str, Any]:
    ws.write(name, notice)
    result = ws.cli("notice", "submit", name, "--wait", "60", "--json")
    assert result.returncode == 0, result
    data: dict[str, Any] = result.json()
    assert data["status"] == "posted", data
    return data


def remote_ids(notice: dict[str, Any]) -> dict[str, str]:
    return {d["channel"]: d["remote_id"] for d in notice["deliveries"]}


def test_the_home_page_is_the_console_login_and_links_the_portal(workspace: Workspace) -> None:
    server = workspace.serve()
    with http() as client:
        home = client.get(f"{server.url}/")
        assert home.status_code == 303 and home.headers["location"] == "/login?next=/", home
        login = client.get(f"{server.url}/login")
        assert login.status_code == 200 and 'name="username"' in login.text, login
        assert 'href="/portal"' in login.text  # a citizen who lands here finds the portal
        for path in ("/portal", "/portal/"):
            page = client.get(f"{server.url}{path}", follow_redirects=True)
            assert page.status_code == 200, (path, page.status_code)
            assert "<html" in page.text.lower() and str(page.url).endswith("/portal")


def test_doctor_finds_serve_on_another_port(workspace: Workspace) -> None:
    server = workspace.serve()  # on a free port, not the default 8000
    nobody = str(free_port())
    lost = workspace.cli("doctor", env={"PUBLISHER_PORT": nobody})
    assert f"127.0.0.1:{nobody} 没有运行中的 publisher serve" in lost.stdout, lost
    assert "--port" in lost.stdout and "跳过检查" in lost.stdout, lost
    for how, args, env in (
        ("--port", ("--port", str(server.port)), {}),
        ("--url", ("--url", server.url), {}),
        ("the settings", (), {"PUBLISHER_PORT": str(server.port)}),
    ):
        found = workspace.cli("doctor", *args, env=env)
        assert found.returncode == 0, (how, found)
        assert f"✓ 服务: publisher serve 正在 {server.url} 运行" in found.stdout, (how, found)
        assert "未运行" not in found.stdout and "没有运行" not in found.stdout, (how, found)
        for account in ("portal", "weibo", "wechat", "oa"):
            assert f"✓ 渠道 {account} " in found.stdout, (how, account, found)
    bad = workspace.cli("doctor", "--url", "127.0.0.1:8000")
    assert bad.returncode == 2 and "http://" in bad.stderr, bad


def wait_reach(ws: Workspace, notice_id: int, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        shown = ws.cli("notice", "show", str(notice_id), "--json")
        assert shown.returncode == 0, shown
        data: dict[str, Any] = shown.json()
        if all(d.get("metrics") for d in data["deliveries"] if d["channel"] in MEASURED):
            return data
        assert time.monotonic() < deadline, f"no reach for every channel: {data['deliveries']}"
        time.sleep(0.5)


def test_reach_reads_in_chinese_and_a_restart_keeps_the_sandbox(workspace: Workspace) -> None:
    workspace.env["PUBLISHER_METRICS_INTERVAL"] = "1"
    port = free_port()
    first = workspace.serve(port)
    one = submit(workspace, "one.json", NOTICE)

    data = wait_reach(workspace, one["id"])
    codes = {k for d in data["deliveries"] for k in d["metrics"]} - {"as_of", "source"}
    assert {"reads", "likes"} <= codes, codes  # JSON keeps the codes
    text = workspace.cli("notice", "show", str(one["id"])).stdout
    reach = [line for line in text.splitlines() if "触达:" in line]
    assert len(reach) == len(MEASURED), text
    for word in ("阅读", "点赞", "转发", "评论"):
        assert word in text, (word, text)
    for line in reach:  # "触达: 阅读 16，分享 1，点赞 0 (截至 …，来源 …)": no English word
        figures = line.split("触达:")[1].split("(截至")[0]
        assert not re.search("[A-Za-z]", figures), line

    first.proc.kill(signal.SIGTERM)
    second: Server = workspace.serve(port, name="serve-again")
    two = submit(workspace, "two.json", {**NOTICE, "title": "关于开展消防安全检查的通知"})
    before, after = remote_ids(one), remote_ids(two)
    for channel in ("weibo", "wechat", "oa"):
        assert before[channel] != after[channel], (channel, before, after)
    with http() as client:
        weibo = client.get(f"{second.url}/_sandbox/weibo/posts").json()
        oa = client.get(f"{second.url}/_sandbox/wecom_app/posts").json()
    assert [p["idstr"] for p in weibo["posts"]] == [before["weibo"], after["weibo"]]
    assert oa["count"] == 2
    assert (workspace.dir / "publisher-sandbox" / "weibo.jsonl").is_file()
    # the first notice's Weibo reach is still its own post's
    again = wait_reach(workspace, one["id"])
    weibo_reach = next(d for d in again["deliveries"] if d["channel"] == "weibo")
    assert weibo_reach["remote_id"] == before["weibo"] and weibo_reach["metrics"]
