"""Who read an OA warning, end to end: ``publisher serve``'s app on a real socket with the
sandboxes of the DingTalk work notice, the Feishu app and the WeCom app (已知悉 link through the
sandbox's OAuth), the readers listing (API and CLI text), and the one-time nudge."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sandbox_server import free_socket, serve_app

from publisher.notice import parse_notice
from publisher.reach import readers as oa_readers
from publisher.runtime import Runtime
from publisher.settings import Settings, load_settings
from publisher.web.app import create_app
from tests.conftest import FakeClock

USERS = ["u1", "u2", "u3"]
ACCOUNTS = {
    "portal": {"type": "portal", "sandbox": True},
    "dt": {
        "type": "dingtalk_app",
        "sandbox": True,
        "appkey": "k",
        "appsecret": "s",
        "agent_id": 7,
        "userid_list": USERS,
        "nudge_after_minutes": 30,
    },
    "fs": {
        "type": "feishu_app",
        "sandbox": True,
        "app_id": "cli",
        "app_secret": "s",
        "user_ids": USERS,
    },
    "wc": {
        "type": "wecom_app",
        "sandbox": True,
        "corpid": "ww1",
        "corpsecret": "s",
        "agentid": 1000002,
        "touser": "|".join(USERS),
        "ack": True,
        "nudge_after_minutes": 30,
    },
}


@pytest.fixture
def served(tmp_path: Any) -> Iterator[tuple[str, Settings]]:
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/p.db",
        base_url=base,
        accounts=ACCOUNTS,
        metrics_interval=0,
    )
    app = create_app(settings)
    with serve_app(app, sock=sock, lifespan="on") as url:
        yield url, settings


async def _warning(rt: Runtime) -> int:
    notice = parse_notice(
        {"kind": "general", "title": "暴雨红色预警", "body": "请立即转移。", "urgent": True}
    )
    done = await rt.intake.submit(notice, source="test", actor="t")
    for _ in range(200):
        record = await rt.store.get_notice(done.notice_id)
        if all(d.status == "posted" for d in record.deliveries):
            return done.notice_id
        await asyncio.sleep(0.05)
    raise AssertionError([(d.account, d.status, d.error) for d in record.deliveries])


def _listing(body: dict[str, Any]) -> dict[str, tuple[list[str], list[str]]]:
    return {
        a["account"]: ([r["user"] for r in a["read"]], [r["user"] for r in a["unread"]])
        for a in body["accounts"]
    }


async def test_readers_per_account_acks_and_one_nudge(served: tuple[str, Settings]) -> None:
    base, settings = served
    rt = await Runtime.open(settings)  # like a CLI command beside `serve`
    try:
        await _check(base, rt)
    finally:
        await rt.close()


async def _check(base: str, rt: Runtime) -> None:
    notice_id = await _warning(rt)
    async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
        first = (await http.get(f"/api/notices/{notice_id}/readers")).json()
        assert _listing(first) == {a: ([], USERS) for a in ("dt", "fs", "wc")}
        assert {a["account"]: a["how"] for a in first["accounts"]}["wc"] == "acknowledged"

        # u1 opens the DingTalk and Feishu messages
        for kind in ("dingtalk_app", "feishu_app"):
            marked = await http.put(f"/_sandbox/{kind}/reads", json={"users": ["u1"]})
            assert marked.json() == {"read": 1}
        # u2 presses 已知悉 on the WeCom card: our link, WeCom's OAuth, back to us
        card = (await http.get("/_sandbox/wecom_app/posts")).json()["posts"][-1]
        link = card["payload"]["textcard"]["url"]
        assert card["payload"]["textcard"]["btntxt"] == "已知悉" and "/ack/" in link
        to_oauth = await http.get(link)
        assert to_oauth.status_code == 302
        oauth = to_oauth.headers["location"].split("#")[0] + "&sandbox_user=u2"
        back = await http.get(oauth)
        assert back.status_code == 302 and "/ack/" in back.headers["location"]
        done = await http.get(back.headers["location"])
        assert done.status_code == 200 and "已记录" in done.text and "查看全文" in done.text
        again = await http.get((await http.get(oauth)).headers["location"])
        assert "此前已确认" in again.text
        forged = await http.get(link + "?code=made-up")
        assert forged.status_code == 400 and "40029" in forged.text
        assert (await http.get("/ack/1ABCDEFGHJ")).status_code == 404

        after = _listing((await http.get(f"/api/notices/{notice_id}/readers")).json())
        assert after == {
            "dt": (["u1"], ["u2", "u3"]),
            "fs": (["u1"], ["u2", "u3"]),
            "wc": (["u2"], ["u1", "u3"]),
        }
        assert (await http.get("/api/notices/999/readers")).status_code == 404

    record, accounts = await oa_readers.readers_of(rt.store, rt.channels, notice_id)
    text = oa_readers.as_text(record, accounts, rt.settings.zone)
    assert "dt (dingtalk_app): 已读 1 人，未读 2 人" in text
    assert "wc (wecom_app): 已知悉 1 人，未知悉 2 人" in text

    # nudges: not before 30 minutes; then once to who has not read (dt) / acknowledged (wc)
    clock = FakeClock(rt.clock.now())
    assert await oa_readers.nudge_once(rt.store, rt.channels, clock) == []
    clock.advance(31 * 60)
    nudged = await oa_readers.nudge_once(rt.store, rt.channels, clock)
    assert {(n.account, tuple(n.users), n.error) for n in nudged} == {
        ("dt", ("u2", "u3"), None),
        ("wc", ("u1", "u3"), None),
    }
    clock.advance(600)
    assert await oa_readers.nudge_once(rt.store, rt.channels, clock) == []
    async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
        dt_posts = (await http.get("/_sandbox/dingtalk_app/posts")).json()["posts"]
        assert [p["payload"]["userid_list"] for p in dt_posts] == ["u1,u2,u3", "u2,u3"]
        assert "暴雨红色预警" in dt_posts[-1]["payload"]["msg"]["markdown"]["title"]
        wc_posts = (await http.get("/_sandbox/wecom_app/posts")).json()["posts"]
        assert wc_posts[-1]["payload"]["touser"] == "u1|u3"
        assert wc_posts[-1]["payload"]["textcard"]["url"] == link  # they can still acknowledge
        listing = (await http.get(f"/api/notices/{notice_id}/readers")).json()
    dt = next(a for a in listing["accounts"] if a["account"] == "dt")
    assert all(r["nudged_at"] for r in dt["unread"])
    assert timedelta(0) < clock.now() - rt.clock.now()  # the fake clock ran ahead of serve's
