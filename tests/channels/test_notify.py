"""Messages to named people over OA (publisher.notify): only they receive it, never @all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from helpers import FakeTokens

from publisher.contract import ChannelAdapter
from publisher.notify import NobodyToTell, messaging_accounts, tell
from publisher.registry import Account
from tests.channels.test_oa import WECOM, sent, token_reply, wecom_app, wecom_robot


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@respx.mock
async def test_a_wecom_app_message_goes_to_the_named_members_only(
    http: httpx.AsyncClient,
) -> None:
    respx.get(f"{WECOM}/cgi-bin/gettoken").mock(return_value=token_reply())
    send = respx.post(f"{WECOM}/cgi-bin/message/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": "n-1"})
    )
    adapter = wecom_app(http, touser="@all", tokens=FakeTokens())
    robot = wecom_robot(http)
    accounts = [Account("robot", robot), Account("oa", adapter)]

    told = await tell(
        accounts, ["zhangsan", "lisi"], "待审核：暴雨橙色预警", "请审核。", url="http://x/r/1"
    )

    assert told.account == "oa"  # the robot cannot message people; the app can
    assert told.result.remote_id == "n-1"
    body = sent(send, 0)
    assert body["touser"] == "zhangsan|lisi"
    assert "toparty" not in body and "totag" not in body
    assert body["textcard"]["title"] == "待审核：暴雨橙色预警"
    assert body["textcard"]["url"] == "http://x/r/1"


async def test_no_account_that_can_message_people_is_said_plainly(
    http: httpx.AsyncClient,
) -> None:
    accounts = [Account("robot", wecom_robot(http))]
    assert messaging_accounts(accounts) == []
    with pytest.raises(NobodyToTell, match="没有可发送工作通知的 OA 账号"):
        await tell(accounts, ["zhangsan"], "t", "x")


def test_only_adapters_that_override_notify_count() -> None:
    from channels.oa.wecom_app import WecomAppAdapter
    from channels.weibo.adapter import WeiboAdapter

    assert WecomAppAdapter.notify is not ChannelAdapter.notify
    assert WeiboAdapter.notify is ChannelAdapter.notify  # public channels never message people
