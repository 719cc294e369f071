"""DingTalk and Feishu group robots tell named people by @-mentioning them in the group
(a robot cannot message one person alone): what the review chain uses to tell a reviewer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from publisher.errors import PermanentError
from publisher.notify import tell
from publisher.registry import Account
from tests.channels.test_oa import DINGTALK, FEISHU, dingtalk, feishu, sent, wecom_robot


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@respx.mock
async def test_dingtalk_mentions_the_reviewers_by_user_id(http: httpx.AsyncClient) -> None:
    send = respx.post(f"{DINGTALK}/robot/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    accounts = [Account("robot", wecom_robot(http)), Account("ding", dingtalk(http))]
    told = await tell(accounts, ["li01", "wang02"], "待审核：通知", "请审核。", url="http://x/1")
    assert told.account == "ding" and told.result.detail == {"mentioned": ["li01", "wang02"]}
    body = sent(send, 0)
    assert body["msgtype"] == "text"
    assert body["at"] == {"atUserIds": ["li01", "wang02"], "isAtAll": False}
    assert body["text"]["content"] == "待审核：通知\n请审核。\nhttp://x/1\n@li01 @wang02"
    assert "sign=" in str(send.calls[0].request.url)  # signed like every other call


@respx.mock
async def test_dingtalk_refusal_is_the_channels_error(http: httpx.AsyncClient) -> None:
    respx.post(f"{DINGTALK}/robot/send").mock(
        return_value=httpx.Response(200, json={"errcode": 310000, "errmsg": "sign not match"})
    )
    with pytest.raises(PermanentError):
        await tell([Account("ding", dingtalk(http))], ["li01"], "t", "x")


@respx.mock
async def test_feishu_mentions_the_reviewers_in_a_post(http: httpx.AsyncClient) -> None:
    send = respx.post(f"{FEISHU}/open-apis/bot/v2/hook/hook-uuid-1").mock(
        return_value=httpx.Response(200, json={"code": 0, "msg": "success", "data": {}})
    )
    told = await tell(
        [Account("fs", feishu(http))], ["ou_1"], "待审核：通知", "请审核。", url="http://x/1"
    )
    assert told.account == "fs"
    body = sent(send, 0)
    assert body["msg_type"] == "post" and "sign" in body and "timestamp" in body
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == "待审核：通知"
    assert post["content"][0] == [{"tag": "at", "user_id": "ou_1"}]
    assert post["content"][-1] == [
        {"tag": "a", "text": post["content"][-1][0]["text"], "href": "http://x/1"}
    ]
