"""The sandbox keeps what it received across a restart and never hands out a remote id twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from publisher.sandbox import sandbox_app

WEIBO = "/weibo/2/statuses/share.json"


@asynccontextmanager
async def running(state: Path | None) -> AsyncIterator[httpx.AsyncClient]:
    """One run of the sandbox (a fresh app: what a restart of the process gives)."""
    transport = httpx.ASGITransport(app=sandbox_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


async def share(client: httpx.AsyncClient, text: str) -> dict[str, Any]:
    form = {"access_token": "tok", "status": f"{text} http://x/portal/n", "rip": "1.2.3.4"}
    answer = await client.post(WEIBO, data=form)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_weibo_keeps_its_posts_and_gives_new_ids_after_a_restart(tmp_path: Path) -> None:
    async with running(tmp_path) as first:
        one = await share(first, "通知一")
    async with running(tmp_path) as second:
        listed = (await second.get("/weibo/posts")).json()
        assert [p["idstr"] for p in listed["posts"]] == [one["idstr"]]
        eight = await share(second, "通知八")
        assert eight["idstr"] != one["idstr"]
        counts = await second.get(
            "/weibo/2/statuses/count.json",
            params={"access_token": "tok", "ids": f"{one['idstr']},{eight['idstr']}"},
        )
        assert {row["id"] for row in counts.json()} == {one["id"], eight["id"]}
        again = await second.post(
            WEIBO, data={"access_token": "tok", "status": one["text"], "rip": "1.2.3.4"}
        )
        assert again.json()["error_code"] == "20019"  # it still knows the first text


async def test_without_a_state_folder_a_restart_forgets(clean_env: Path) -> None:
    """``publisher sandbox`` without ``--state-dir``: in memory, nothing written anywhere."""
    async with running(None) as first:
        one = await share(first, "通知一")
    async with running(None) as second:
        assert (await second.get("/weibo/posts")).json()["count"] == 0
        assert (await share(second, "通知八"))["idstr"] == one["idstr"]
    assert not any(clean_env.iterdir())  # noqa: ASYNC240


async def test_ids_stay_unique_after_delete_and_restart(tmp_path: Path) -> None:
    seen = set()
    for run in range(3):
        async with running(tmp_path) as client:
            for n in range(2):
                posted = await client.post("/webhook/receive-plain", json={"run": run, "n": n})
                seen.add(posted.json()["id"])
            if run == 1:
                cleared = await client.delete("/webhook/posts")
                assert cleared.json() == {"cleared": 4}
    assert len(seen) == 6
    async with running(tmp_path) as client:
        posts = (await client.get("/webhook/posts")).json()["posts"]
        assert [p["payload"]["run"] for p in posts] == [2, 2]  # run 1's DELETE forgot 0 and 1


async def test_idempotency_keys_hold_across_a_restart(tmp_path: Path) -> None:
    key = {"Idempotency-Key": "notice-1-portal"}
    article = {"title": "关于开展检查的通知"}
    auth = {"Authorization": "Bearer cms", **key}
    async with running(tmp_path) as first:
        made = await first.post("/webhook/receive", json={"n": 1}, headers=key)
        cms = await first.post("/portal/api/articles", json=article, headers=auth)
    async with running(tmp_path) as second:
        replay = await second.post("/webhook/receive", json={"n": 1}, headers=key)
        assert replay.json()["id"] == made.json()["id"]
        found = await second.get("/webhook/lookup", params={"key": key["Idempotency-Key"]})
        assert found.status_code == 200
        twice = await second.post("/portal/api/articles", json=article, headers=auth)
        assert twice.status_code == 409
        assert twice.json()["data"]["id"] == cms.json()["data"]["id"]
        page = await second.get(f"/portal/articles/{cms.json()['data']['id']}.html")
        assert page.status_code == 200 and "关于开展检查的通知" in page.text


async def test_wecom_duplicate_check_remembers_across_a_restart(tmp_path: Path) -> None:
    message = {
        "touser": "@all",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "停电通知"},
        "enable_duplicate_check": 1,
    }

    async def send(client: httpx.AsyncClient) -> str:
        token = (
            await client.get(
                "/wecom_app/cgi-bin/gettoken", params={"corpid": "ww1", "corpsecret": "s"}
            )
        ).json()["access_token"]
        sent = await client.post(
            "/wecom_app/cgi-bin/message/send", params={"access_token": token}, json=message
        )
        return str(sent.json()["msgid"])

    async with running(tmp_path) as first:
        msgid = await send(first)
    async with running(tmp_path) as second:
        assert await send(second) == msgid
        posts = (await second.get("/wecom_app/posts")).json()["posts"]
        assert [p["delivered"] for p in posts] == [True, False]


async def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    async with running(tmp_path) as first:
        await share(first, "通知一")
    with (tmp_path / "weibo.jsonl").open("a", encoding="utf-8") as journal:
        journal.write('{"post": {"idstr": "49900')
    async with running(tmp_path) as second:
        assert (await second.get("/weibo/posts")).json()["count"] == 1
        await share(second, "通知二")
    async with running(tmp_path) as third:  # the record after the torn line was kept whole
        await share(third, "通知三")
        posts = (await third.get("/weibo/posts")).json()["posts"]
        assert [p["text"][:3] for p in posts] == ["通知一", "通知二", "通知三"]
        assert len({p["idstr"] for p in posts}) == 3
