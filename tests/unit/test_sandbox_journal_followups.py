"""Deleted and recalled posts (issue 11 withdrawals) stay deleted and recalled after a sandbox
restart: the journal replays them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from publisher.sandbox import sandbox_app


@asynccontextmanager
async def running(state: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


async def test_a_deleted_weibo_stays_deleted(tmp_path: Path) -> None:
    form = {"access_token": "tok", "status": "公示 http://x/portal/n", "rip": "1.2.3.4"}
    async with running(tmp_path) as first:
        idstr = (await first.post("/weibo/2/statuses/share.json", data=form)).json()["idstr"]
        gone = await first.post(
            "/weibo/2/statuses/destroy.json", data={"access_token": "tok", "id": idstr}
        )
        assert gone.json()["idstr"] == idstr
    async with running(tmp_path) as second:
        (post,) = (await second.get("/weibo/posts")).json()["posts"]
        assert post["deleted"] is True
        again = await second.post(
            "/weibo/2/statuses/destroy.json", data={"access_token": "tok", "id": idstr}
        )
        assert again.status_code == 400 and again.json()["error_code"] == "20101"


async def test_a_recalled_wecom_message_stays_recalled(tmp_path: Path) -> None:
    message = {"touser": "@all", "msgtype": "text", "agentid": 1, "text": {"content": "通知"}}

    async def token(client: httpx.AsyncClient) -> str:
        query = {"corpid": "ww1", "corpsecret": "s"}
        reply = await client.get("/wecom_app/cgi-bin/gettoken", params=query)
        return str(reply.json()["access_token"])

    async with running(tmp_path) as first:
        key = {"access_token": await token(first)}
        sent = await first.post("/wecom_app/cgi-bin/message/send", params=key, json=message)
        msgid = sent.json()["msgid"]
        unknown = await first.post(
            "/wecom_app/cgi-bin/message/recall", params=key, json={"msgid": "nope"}
        )
        assert unknown.json()["errcode"] == 40058
        done = await first.post(
            "/wecom_app/cgi-bin/message/recall", params=key, json={"msgid": msgid}
        )
        assert done.json() == {"errcode": 0, "errmsg": "ok"}
    async with running(tmp_path) as second:
        (post,) = (await second.get("/wecom_app/posts")).json()["posts"]
        assert post["recalled"] is True and post["recalled_at"]
