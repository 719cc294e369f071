"""Drills (演练, issue 11 part C), through the real application on 127.0.0.1.

A drill is rendered as usual and every channel's copy is labelled 【演练】; it goes only to
accounts marked ``sandbox`` or ``drill``; the portal shows it on /portal/drills only, with a
演练 banner on its own page, and never in the front page, the lists, the in-force box or the
feeds. The copies are read back from the built-in sandbox over HTTP.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cap_samples import alert, info
from sandbox_server import free_socket, serve_app
from test_portal import BROWSER_A, Page

from publisher.settings import REPO_ROOT, default_accounts, load_settings
from publisher.web.app import create_app

LABEL = "【演练】"
WARNING = {
    "kind": "weather_warning",
    "title": "市气象台发布暴雨橙色预警信号",
    "body": "预计未来6小时内本市将出现50毫米以上降雨，请注意防范。",
    "fields": {"signal": "暴雨", "color": "橙色", "level": "Ⅱ"},
}
CHANNEL_SANDBOXES = ("weibo", "wechat", "wecom_app")


@dataclass
class Server:
    base: str
    client: httpx.Client
    tmp: Path

    def submit(self, expect: int = 201, **notice: Any) -> httpx.Response:
        response = self.client.post("/api/notices", json=notice)
        assert response.status_code == expect, response.text
        return response

    def settled(self, notice_id: int, timeout: float = 30.0) -> dict[str, Any]:
        """The notice once no delivery is pending, sending or confirming."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.client.get(f"/api/notices/{notice_id}").json()
            states = {d["status"] for d in data["deliveries"]}
            if states and states <= {"posted", "failed", "needs_review", "cancelled"}:
                return dict(data)
            if time.monotonic() > deadline:
                raise AssertionError(f"notice {notice_id} not settled: {data}")
            time.sleep(0.05)

    def sandbox_posts(self, channel: str) -> list[dict[str, Any]]:
        found = self.client.get(f"/_sandbox/{channel}/posts").json()
        return list(found["posts"])

    def page(self, path: str) -> httpx.Response:
        return self.client.get(path, headers={"User-Agent": BROWSER_A})


@contextlib.contextmanager
def running(tmp_path: Path, accounts: dict[str, Any], **settings: Any) -> Iterator[Server]:
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(
        load_settings(
            database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
            host="127.0.0.1",
            port=sock.getsockname()[1],
            base_url=base,
            templates_dir=REPO_ROOT / "templates",
            accounts=accounts,
            metrics_interval=0,
            portal_rate_limit=0,
            sandbox_dir=tmp_path / "sandbox",
            **settings,
        )
    )
    with (
        serve_app(app, sock=sock, lifespan="on", graceful_seconds=2),
        httpx.Client(base_url=base, trust_env=False, timeout=20.0) as client,
    ):
        yield Server(base, client, tmp_path)


@pytest.fixture
def defaults(tmp_path: Path) -> Iterator[Server]:
    """The embedded default accounts: portal, Weibo, WeChat and OA, all sandbox."""
    with running(tmp_path, default_accounts()) as server:
        yield server


def mixed_accounts() -> dict[str, Any]:
    """A sandbox portal (the built-in sandbox is mounted), and two webhook receivers on the
    sandbox's one sink: one real, one a real account marked ``drill``."""
    sink = "{base_url}/_sandbox/webhook/receive"
    return {
        "portal": {"type": "portal", "sandbox": True},
        "real_oa": {"type": "webhook", "url": sink, "format": "text"},
        "drill_oa": {"type": "webhook", "url": sink, "format": "text", "drill": True},
    }


def texts(posts: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(p, ensure_ascii=False) for p in posts]


def counts(server: Server) -> dict[str, int]:
    return {c: len(server.sandbox_posts(c)) for c in CHANNEL_SANDBOXES}


def posts_since(server: Server, before: dict[str, int]) -> dict[str, list[str]]:
    """What each channel's sandbox received since ``before`` (a :func:`counts`) that carries a
    warning's text (the WeChat sandbox also logs token and status calls)."""
    got = {c: texts(server.sandbox_posts(c)[n:]) for c, n in before.items()}
    return {c: [t for t in posts if "预警" in t] for c, posts in got.items()}


# -- default accounts: every copy labelled ---------------------------------------------------


def test_a_json_drill_reaches_every_sandbox_channel_labelled(defaults: Server) -> None:
    before = counts(defaults)
    created = defaults.submit(**WARNING, drill=True).json()
    assert created["drill"] is True
    shown = defaults.settled(created["id"])
    assert shown["drill"] is True
    assert {d["channel"] for d in shown["deliveries"]} == {"portal", "weibo", "wechat", "oa"}
    assert {d["status"] for d in shown["deliveries"]} == {"posted"}, shown["deliveries"]
    for channel, new in posts_since(defaults, before).items():
        assert new and all(LABEL in t for t in new), (channel, new)
    page = defaults.page(f"/portal/notices/{created['id']}")
    assert page.status_code == 200
    text = Page(page.text).text
    assert "演练" in text and "不是正式发布的预警" in text and f"{LABEL}市气象台" in text


def test_a_real_notice_is_not_labelled(defaults: Server) -> None:
    before = counts(defaults)
    created = defaults.submit(**{**WARNING, "title": "市气象台发布大风蓝色预警信号"}).json()
    shown = defaults.settled(created["id"])
    assert shown["drill"] is False
    for channel, new in posts_since(defaults, before).items():
        assert new and not any(LABEL in t for t in new), (channel, new)
    assert "不是正式发布的预警" not in defaults.page(f"/portal/notices/{created['id']}").text


def test_cap_exercise_and_test_are_drills(defaults: Server) -> None:
    for status, code in (("Exercise", "0203"), ("Test", "0204")):
        doc = alert(
            info(event_codes=[("CMA_SIGNAL", code)], headline="市气象台发布暴雨预警信号（演练）"),
            status=status,
            identifier=f"drill-{status}",
        )
        before = counts(defaults)
        response = defaults.client.post(
            "/api/warnings", content=doc, headers={"Content-Type": "application/cap+xml"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["drill"] is True and body["cap"]["status"] == status
        defaults.settled(body["id"])
        for channel, new in posts_since(defaults, before).items():
            assert new and all(LABEL in t for t in new), (channel, new)
        cap = defaults.page(f"/portal/notices/{body['id']}/cap.xml").text
        assert f"<status>{status}</status>" in cap.replace("cap:", "")


# -- the portal keeps drills apart -----------------------------------------------------------


def test_the_portal_lists_drills_on_their_own_page_only(defaults: Server) -> None:
    real = defaults.submit(**{**WARNING, "title": "市气象台发布寒潮蓝色预警信号"}).json()["id"]
    drill = defaults.submit(**{**WARNING, "title": "寒潮预警演练"}, drill=True).json()["id"]
    defaults.settled(real)
    defaults.settled(drill)
    drill_link = f"/portal/notices/{drill}"
    real_link = f"/portal/notices/{real}"
    for path in ("/portal", "/portal/category/weather_warning"):
        html = defaults.page(path).text
        assert real_link in html and f'href="{drill_link}"' not in html, path
    front = defaults.page("/portal").text
    assert 'href="/portal/drills"' in front  # linked from the warnings block
    for feed in ("/portal/rss.xml", "/portal/atom.xml", "/portal/cap.xml"):
        xml = defaults.page(feed).text
        assert real_link in xml and drill_link not in xml and "寒潮预警演练" not in xml, feed
    drills = defaults.page("/portal/drills")
    assert drills.status_code == 200
    assert drill_link in drills.text and real_link not in drills.text
    assert "演练" in Page(drills.text).text
    assert "共 1 条" in defaults.page("/portal/category/weather_warning").text


# -- real accounts never get a drill --------------------------------------------------------


def test_a_real_account_gets_nothing_and_a_drill_account_gets_the_copy(tmp_path: Path) -> None:
    routes = {"weather_warning": ["portal", "real_oa", "drill_oa"]}
    with running(tmp_path, mixed_accounts(), routes=routes) as server:
        sent = server.submit(**WARNING, drill=True).json()
        shown = server.settled(sent["id"])
        assert {d["channel"] for d in shown["deliveries"]} == {"portal", "drill_oa"}
        posts = texts(server.sandbox_posts("webhook"))
        assert len(posts) == 1 and LABEL in posts[0]

        real = server.submit(**WARNING).json()  # the very text rehearsed: not a duplicate
        server.settled(real["id"])
        posts = texts(server.sandbox_posts("webhook"))
        assert len(posts) == 3 and all(LABEL not in p for p in posts[1:])  # both got it


def test_a_drill_naming_a_real_account_is_refused_and_nothing_stored(tmp_path: Path) -> None:
    with running(tmp_path, mixed_accounts()) as server:
        refused = server.submit(
            expect=400, **WARNING, drill=True, channels=["drill_oa", "real_oa"]
        ).json()
        assert "real_oa" in refused["error"] and "drill_oa" not in refused["error"]
        assert "\n" not in refused["error"]
        assert server.client.get("/api/deliveries").json() == []
        assert server.client.get("/api/notices/1").status_code == 404


def test_a_drill_left_with_no_account_is_refused_plainly(tmp_path: Path) -> None:
    accounts = {k: v for k, v in mixed_accounts().items() if k != "drill_oa"}
    with running(tmp_path, accounts, routes={"weather_warning": ["real_oa"]}) as server:
        refused = server.submit(expect=400, **WARNING, drill=True).json()
        assert "演练没有可发的账号" in refused["error"]
        assert server.client.get("/api/deliveries").json() == []


def test_a_cap_drill_naming_a_real_account_is_refused(tmp_path: Path) -> None:
    with running(tmp_path, mixed_accounts()) as server:
        doc = alert(info(event_codes=[("CMA_SIGNAL", "0202")]), status="Exercise")
        headers = {"Content-Type": "application/cap+xml"}
        refused = server.client.post(
            "/api/warnings", params={"channels": "drill_oa,real_oa"}, content=doc, headers=headers
        )
        assert refused.status_code == 400, refused.text
        assert "正式账号 real_oa" in refused.json()["error"]
        assert server.client.get("/api/deliveries").json() == []
        taken = server.client.post(
            "/api/warnings", params={"channels": "drill_oa"}, content=doc, headers=headers
        )
        assert taken.status_code == 201, taken.text
        shown = server.settled(taken.json()["id"])
        assert [d["channel"] for d in shown["deliveries"]] == ["drill_oa"]
        assert LABEL in texts(server.sandbox_posts("webhook"))[-1]
