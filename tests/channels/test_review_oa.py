"""The review chain end to end over real HTTP: the app served on 127.0.0.1 with its worker and
the built-in sandbox (portal + WeCom app). The reviewer is told over OA (the sandbox receives
a text card to their OA id only), nothing is published before the last approval, and the
release reaches the channels."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
from sandbox_server import free_socket, serve_app

from publisher.auth.secrets import new_token, token_digest
from publisher.clock import SystemClock
from publisher.settings import REPO_ROOT, SANDBOX_URL, load_settings
from publisher.store import open_store, upgrade
from publisher.web.app import create_app

SERVICE = "service-" + "s" * 32
NOTICE = {"kind": "general", "title": "关于开展汛期安全检查的通知", "body": "各单位：请做好防汛。"}


def wait_for(fn: Any, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_the_next_reviewer_is_told_over_oa_and_nothing_goes_out_before_approval(
    tmp_path: Path,
) -> None:
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
        base_url=base,
        api_token=SERVICE,
        templates_dir=REPO_ROOT / "templates",
        metrics_interval=0,
        review_steps={"_default": ["reviewer", "signer"]},
        portal_show_reviewers=True,
        accounts={
            "portal": {"type": "portal", "display_name": "门户", "sandbox": True},
            "oa": {
                "type": "wecom_app",
                "display_name": "局内OA",
                "corpid": "wwsandbox0000000001",
                "corpsecret": "sandbox-wecom-secret",
                "agentid": 1000002,
                "api_base": SANDBOX_URL + "/wecom_app",
                "sandbox": True,
            },
        },
    )
    tokens: dict[str, str] = {}

    async def people() -> None:
        store = open_store(settings.database_url, SystemClock())
        try:
            await upgrade(store)
            for name, role, oa in (
                ("zhang", "editor", "ZhangSan"),
                ("li", "reviewer", "LiSi"),
                ("wang", "signer", None),
            ):
                await store.add_user(name, [role])
                if oa:
                    await store.set_oa_id(name, oa)
                tokens[name] = new_token()
                await store.replace_token(name, token_digest(tokens[name]))
        finally:
            await store.close()

    asyncio.run(people())
    app = create_app(settings)
    with (
        serve_app(app, sock=sock, lifespan="on", graceful_seconds=2),
        httpx.Client(base_url=base, trust_env=False, timeout=10.0) as http,
    ):

        def as_(name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[name]}"}

        def oa_posts() -> list[dict[str, Any]]:
            posts: list[dict[str, Any]] = http.get("/_sandbox/wecom_app/posts").json()["posts"]
            return posts

        made = http.post("/api/notices", json=NOTICE, headers=as_("zhang"))
        assert made.status_code == 201 and made.json()["status"] == "awaiting_review"
        nid = made.json()["id"]

        (told,) = oa_posts()  # told at once: to li's OA id, nobody else
        assert told["payload"]["touser"] == "LiSi"
        assert told["payload"]["textcard"]["title"] == f"待审核：{NOTICE['title']}"
        assert told["payload"]["textcard"]["url"] == f"{base}/api/notices/{nid}"

        assert http.post(f"/api/notices/{nid}/approve", headers=as_("li")).status_code == 200
        listed = http.get("/api/reviews", headers=as_("wang")).json()
        # wang has no OA id: nobody could be told, and the list says so; the approval stood
        assert listed[0]["told"]["ok"] is False and "OA" in listed[0]["told"]["error"]
        time.sleep(1.0)  # a worker would have taken anything claimable by now
        assert len(oa_posts()) == 1  # still only the message to li: nothing published
        assert http.get("/api/deliveries", headers=as_("li")).json() == []
        page = http.get("/portal/", follow_redirects=True)
        assert page.status_code == 200 and NOTICE["title"] not in page.text

        last = http.post(f"/api/notices/{nid}/approve", headers=as_("wang"))
        assert last.status_code == 200 and last.json()["released"] is True

        def posted() -> bool:
            shown = http.get(f"/api/notices/{nid}", headers=as_("li")).json()
            return shown["status"] == "posted"

        wait_for(posted)
        published = [p for p in oa_posts() if p["payload"].get("touser") == "@all"]
        assert len(published) == 1
        assert NOTICE["title"] in http.get("/portal/", follow_redirects=True).text
        page = http.get(f"/portal/notices/{nid}").text
        assert "<span>责任编辑：zhang</span>" in page

        # a rejection goes back to the author, who is told over OA with the comment
        again = {**NOTICE, "title": "关于开展消防安全检查的通知"}
        second = http.post("/api/notices", json=again, headers=as_("zhang")).json()["id"]
        no = http.post(
            f"/api/notices/{second}/reject", json={"comment": "请补充检查范围"}, headers=as_("li")
        )
        assert no.status_code == 200
        back = [p for p in oa_posts() if p["payload"].get("touser") == "ZhangSan"]
        assert len(back) == 1
        assert back[0]["payload"]["textcard"]["title"] == f"已驳回：{again['title']}"
        assert "请补充检查范围" in back[0]["payload"]["textcard"]["description"]
        assert "<span>责任编辑：zhang</span> <span>审核：li</span> <span>签发：wang</span>" in page
