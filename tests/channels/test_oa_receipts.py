"""OA read receipts through respx: DingTalk work notices (getsendresult), Feishu app messages
(read_users), and the WeCom 已知悉 link (web OAuth + getuserinfo)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from helpers import FakeTokens

from channels.oa.dingtalk_app import DingtalkAppAdapter, DingtalkAppOptions
from channels.oa.feishu_app import FeishuAppAdapter, FeishuAppOptions
from publisher.contract import Format, PostRef
from publisher.errors import AuthExpired, PermanentError
from publisher.links import LinkCodes
from tests.channels.test_oa import (
    DINGTALK,
    FEISHU,
    WECOM,
    Clock,
    ctx,
    post,
    query,
    sent,
    token_reply,
    wecom_app,
)

NOW = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def ref(detail: dict[str, Any], remote_id: str | None = None) -> PostRef:
    return PostRef(1, remote_id, None, "key-1", NOW, detail)


def dingtalk_app(http: httpx.AsyncClient, **kw: Any) -> DingtalkAppAdapter:
    raw = {"appkey": "dingkey", "appsecret": "s3cr3t", "agent_id": 778, **kw}
    raw.setdefault("userid_list", "zhangsan,lisi,wangwu")
    return DingtalkAppAdapter(ctx(DingtalkAppOptions.model_validate(raw), http))


def feishu_app(http: httpx.AsyncClient, **kw: Any) -> FeishuAppAdapter:
    raw = {"app_id": "cli_x", "app_secret": "s3cr3t", "user_ids": ["zhangsan", "lisi"], **kw}
    return FeishuAppAdapter(ctx(FeishuAppOptions.model_validate(raw), http, clock=Clock(NOW)))


@respx.mock
async def test_dingtalk_work_notice_then_who_read_it(http: httpx.AsyncClient) -> None:
    gettoken = respx.get(f"{DINGTALK}/gettoken").mock(return_value=token_reply("DT-1"))
    send = respx.post(f"{DINGTALK}/topapi/message/corpconversation/asyncsend_v2").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "task_id": 456, "request_id": "r"})
    )
    result_route = respx.post(f"{DINGTALK}/topapi/message/corpconversation/getsendresult").mock(
        return_value=httpx.Response(
            200,
            json={
                "errcode": 0,
                "errmsg": "ok",
                "send_result": {
                    "read_user_id_list": ["lisi"],
                    "unread_user_id_list": ["zhangsan", "wangwu"],
                    "invalid_user_id_list": [],
                    "forbidden_user_id_list": [],
                    "failed_user_id_list": [],
                },
            },
        )
    )
    adapter = dingtalk_app(http)
    published = await adapter.publish(post("各有关单位：请做好防范。"))
    assert query(gettoken) == {"appkey": "dingkey", "appsecret": "s3cr3t"}
    assert query(send) == {"access_token": "DT-1"}
    body = sent(send)
    assert body["agent_id"] == 778 and body["userid_list"] == "zhangsan,lisi,wangwu"
    assert body["msg"]["msgtype"] == "markdown"
    assert body["msg"]["markdown"]["title"] == "暴雨橙色预警"
    assert (
        "[查看全文](https://www.ajj.example.gov.cn/portal/notices/42)"
        in (body["msg"]["markdown"]["text"])
    )
    assert published.remote_id == "456"

    state = await adapter.read_state(ref(dict(published.detail), published.remote_id))
    assert sent(result_route) == {"agent_id": 778, "task_id": 456}
    assert set(state.read) == {"lisi"}
    assert state.recipients == ("zhangsan", "lisi", "wangwu")


@respx.mock
async def test_dingtalk_token_trouble_and_quota(http: httpx.AsyncClient) -> None:
    respx.get(f"{DINGTALK}/gettoken").mock(return_value=token_reply("DT-1"))
    respx.post(f"{DINGTALK}/topapi/message/corpconversation/asyncsend_v2").mock(
        side_effect=[
            httpx.Response(200, json={"errcode": 42001, "errmsg": "access_token超时"}),
            httpx.Response(200, json={"errcode": 143106, "errmsg": "重复消息"}),
        ]
    )
    adapter = dingtalk_app(http)
    with pytest.raises(AuthExpired):
        await adapter.publish(post())
    with pytest.raises(PermanentError, match="同一内容同一人一天只能收到一次"):
        await adapter.publish(post())


@respx.mock
async def test_feishu_one_message_each_then_read_users(http: httpx.AsyncClient) -> None:
    token = respx.post(f"{FEISHU}/open-apis/auth/v3/tenant_access_token/internal").mock(
        return_value=httpx.Response(
            200, json={"code": 0, "msg": "ok", "tenant_access_token": "t-1", "expire": 7200}
        )
    )
    create = respx.post(f"{FEISHU}/open-apis/im/v1/messages").mock(
        side_effect=[
            httpx.Response(200, json={"code": 0, "msg": "success", "data": {"message_id": "om_1"}}),
            httpx.Response(200, json={"code": 230013, "msg": "Bot has NO availability"}),
        ]
    )
    adapter = feishu_app(http)
    published = await adapter.publish(post("请做好防范。", fmt=Format.TEXT))
    assert json.loads(token.calls[0].request.content) == {"app_id": "cli_x", "app_secret": "s3cr3t"}
    first = create.calls[0].request
    assert first.headers["Authorization"] == "Bearer t-1"
    assert first.url.params["receive_id_type"] == "user_id"
    body = json.loads(first.content)
    assert body["receive_id"] == "zhangsan" and body["msg_type"] == "text"
    assert "请做好防范。" in json.loads(body["content"])["text"]
    assert len(body["uuid"]) == 32  # a repeat within an hour is dropped by Feishu
    assert published.detail["messages"] == {"zhangsan": "om_1"}
    assert published.note and "lisi" in published.note  # partly delivered, said plainly

    reads = respx.get(f"{FEISHU}/open-apis/im/v1/messages/om_1/read_users").mock(
        return_value=httpx.Response(
            200,
            json={
                "code": 0,
                "data": {
                    "items": [
                        {
                            "user_id_type": "user_id",
                            "user_id": "zhangsan",
                            "timestamp": "1782885600000",
                            "tenant_key": "t",
                        }
                    ],
                    "has_more": False,
                    "page_token": "",
                },
            },
        )
    )
    state = await adapter.read_state(ref(dict(published.detail)))
    assert reads.calls[0].request.url.params["user_id_type"] == "user_id"
    assert state.read == {"zhangsan": datetime.fromtimestamp(1782885600, UTC)}


@respx.mock
async def test_feishu_refuses_when_nobody_can_be_reached(http: httpx.AsyncClient) -> None:
    respx.post(f"{FEISHU}/open-apis/auth/v3/tenant_access_token/internal").mock(
        return_value=httpx.Response(200, json={"code": 0, "tenant_access_token": "t", "expire": 60})
    )
    respx.post(f"{FEISHU}/open-apis/im/v1/messages").mock(
        return_value=httpx.Response(200, json={"code": 230013, "msg": "no availability"})
    )
    with pytest.raises(PermanentError, match="没有人收到"):
        await feishu_app(http).publish(post(fmt=Format.TEXT))


@respx.mock
async def test_wecom_card_says_acknowledged_and_oauth_names_the_member(
    http: httpx.AsyncClient,
) -> None:
    respx.get(f"{WECOM}/cgi-bin/gettoken").mock(return_value=token_reply())
    send = respx.post(f"{WECOM}/cgi-bin/message/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": "m-1"})
    )
    adapter = wecom_app(http, touser="zhangsan|lisi", ack=True, tokens=FakeTokens())
    codes = LinkCodes(b"k" * 32)
    adapter.ctx = type(adapter.ctx)(**{**adapter.ctx.__dict__, "link_codes": codes})
    published = await adapter.publish(post("<div>要点</div>", fmt=Format.HTML, notice_id=9))
    card = sent(send)["textcard"]
    assert card["btntxt"] == "已知悉"
    assert card["url"] == f"https://www.ajj.example.gov.cn/ack/{codes.code(9, 'oa#ack')}"
    assert published.detail["ack"] == card["url"]
    state = await adapter.read_state(ref(dict(published.detail)))
    assert state.recipients == ("zhangsan", "lisi") and state.how == "acknowledged"

    oauth = adapter.oauth_url("https://www.ajj.example.gov.cn/ack/X")
    assert oauth.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww1234")
    assert "scope=snsapi_base" in oauth and oauth.endswith("#wechat_redirect")
    info = respx.get(f"{WECOM}/cgi-bin/auth/getuserinfo").mock(
        side_effect=[
            httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "userid": "lisi"}),
            httpx.Response(200, json={"errcode": 40029, "errmsg": "invalid code"}),
        ]
    )
    assert await adapter.identify("CODE1") == "lisi"
    assert query(info)["code"] == "CODE1"
    with pytest.raises(PermanentError, match="40029"):
        await adapter.identify("CODE1")
