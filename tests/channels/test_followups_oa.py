"""WeCom app and issue 11: a withdrawal recalls the original message (message/recall, only
within 24 h of sending), else sends the 【撤回】 correction and says why — with respx, and
against the WeCom sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from followup_kit import NOW, PORTAL, follows_of, notice_view
from helpers import FakeTokens
from sandbox_server import serve_router

from channels.oa.sandbox import WecomAppSandbox
from channels.oa.wecom_app import WecomAppAdapter, WecomAppOptions
from publisher.contract import (
    AccountContext,
    Format,
    OutgoingPost,
    PostRef,
    Rendered,
)
from publisher.errors import AuthExpired

WECOM = "https://qyapi.weixin.qq.com"
STATEMENT = '<div class="highlight">市应急管理局撤回7月1日14时发布的《暴雨红色预警》。</div>'


class Clock:
    """Both sides' time: ``now()`` for the adapter, a call (epoch seconds) for the sandbox."""

    def __init__(self, start: datetime = NOW) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def __call__(self) -> float:
        return self.current.timestamp()


def adapter(
    http: httpx.AsyncClient, clock: Clock, base_url: str = PORTAL, **options: Any
) -> WecomAppAdapter:
    raw = {"corpid": "ww1234", "corpsecret": "s3cr3t", "agentid": 1000002, **options}
    ctx = AccountContext(
        account="oa",
        options=WecomAppOptions.model_validate(raw),
        http=http,
        clock=clock,
        tokens=FakeTokens(),
        log=logging.getLogger("test.oa.followups"),
        base_url=base_url,
    )
    return WecomAppAdapter(ctx)


WITHDRAWS = follows_of("withdraws", 1, "暴雨红色预警", "误发")


def withdrawal(recall: PostRef | None, notice_id: int = 2) -> OutgoingPost:
    return OutgoingPost(
        delivery_id=notice_id,
        account="oa",
        idempotency_key=f"k-{notice_id}",
        notice=notice_view(notice_id, "weather_warning", "暴雨红色预警", follows=WITHDRAWS),
        rendered=Rendered(Format.HTML, {"title": "【撤回】暴雨红色预警", "body": STATEMENT}),
        attempt=1,
        recall=recall,
    )


def original(notice_id: int = 1) -> OutgoingPost:
    return OutgoingPost(
        delivery_id=notice_id,
        account="oa",
        idempotency_key=f"k-{notice_id}",
        notice=notice_view(notice_id, "weather_warning", "暴雨红色预警"),
        rendered=Rendered(Format.HTML, {"title": "暴雨红色预警", "body": "<div>要点</div>"}),
        attempt=1,
    )


def sent_at(hours_ago: float, msgid: str | None = "MSG-1") -> PostRef:
    return PostRef(1, msgid, None, "k-1", NOW - timedelta(hours=hours_ago), {})


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def wecom() -> respx.MockRouter:
    with respx.mock(base_url=WECOM, assert_all_called=False) as router:
        router.get("/cgi-bin/gettoken").respond(
            json={"errcode": 0, "access_token": "TOKEN-A", "expires_in": 7200}
        )
        router.post("/cgi-bin/message/recall", name="recall").respond(
            json={"errcode": 0, "errmsg": "ok"}
        )
        router.post("/cgi-bin/message/send", name="send").respond(
            json={"errcode": 0, "errmsg": "ok", "msgid": "MSG-2"}
        )
        yield router


async def test_within_24_hours_the_original_message_is_recalled(
    wecom: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    result = await adapter(http, Clock()).publish(withdrawal(sent_at(23.5)))

    call = wecom["recall"].calls.last
    assert json.loads(call.request.content) == {"msgid": "MSG-1"}
    assert call.request.url.params["access_token"] == "TOKEN-A"
    assert result.remote_id == "MSG-1" and result.detail == {"recalled": True}
    assert result.note == "已撤回原消息"
    assert not wecom["send"].called


async def test_after_24_hours_a_correction_is_sent_without_asking(
    wecom: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    result = await adapter(http, Clock()).publish(withdrawal(sent_at(25)))

    assert not wecom["recall"].called
    card = json.loads(wecom["send"].calls.last.request.content)["textcard"]
    assert card["title"] == "【撤回】暴雨红色预警" and card["description"] == STATEMENT
    assert result.remote_id == "MSG-2" and result.detail["correction"] is True
    assert result.note == (
        "未撤回原帖（企业微信应用消息只能在发送后 24 小时内撤回，原消息已发送 25.0 小时），"
        "已改发撤回说明"
    )


async def test_a_refused_recall_becomes_a_correction(
    wecom: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wecom["recall"].respond(json={"errcode": 40058, "errmsg": "invalid msgid"})
    result = await adapter(http, Clock()).publish(withdrawal(sent_at(1)))
    assert wecom["send"].called
    assert result.note is not None and result.note.startswith("未撤回原帖（平台拒绝撤回：")
    assert "invalid msgid" in result.note


async def test_the_option_off_sends_a_correction(
    wecom: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    result = await adapter(http, Clock(), recall=False).publish(withdrawal(sent_at(1)))
    assert not wecom["recall"].called and wecom["send"].called
    assert result.note == "未撤回原帖（本账号设置为不撤回原帖（recall = false）），已改发撤回说明"


async def test_an_expired_token_during_recall_is_refreshed_like_a_send(
    wecom: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wecom["recall"].respond(json={"errcode": 42001, "errmsg": "access_token expired"})
    with pytest.raises(AuthExpired):
        await adapter(http, Clock()).publish(withdrawal(sent_at(1)))
    assert not wecom["send"].called  # the worker refreshes and tries the recall again


async def test_against_the_sandbox_recall_within_the_window_and_refused_after() -> None:
    clock = Clock()
    sandbox = WecomAppSandbox(now=clock)
    with serve_router(sandbox.router, "/_sandbox/wecom_app") as base:
        api = f"{base}/_sandbox/wecom_app"
        async with httpx.AsyncClient(timeout=5) as http:
            oa = adapter(http, clock, base_url=base, api_base=api, sandbox=True)
            first = await oa.publish(original(1))
            ref = PostRef(1, first.remote_id, None, "k-1", clock.now(), first.detail)
            clock.current += timedelta(hours=2)
            recalled = await oa.publish(withdrawal(ref, notice_id=2))
            assert recalled.detail == {"recalled": True}
            posts = (await http.get(f"{api}/posts")).json()["posts"]
            assert [(p["msgid"], p.get("recalled", False)) for p in posts] == [
                (first.remote_id, True)
            ]

            # WeCom refuses a message older than 24 h (the adapter does not know when it was
            # sent here: no posted_at), so the withdrawal is a correction
            second = await oa.publish(original(3))
            clock.current += timedelta(hours=25)
            late = PostRef(3, second.remote_id, None, "k-3", None, second.detail)
            corrected = await oa.publish(withdrawal(late, notice_id=4))
            assert corrected.note is not None and "24 hours" in corrected.note
            posts = (await http.get(f"{api}/posts")).json()["posts"]
            assert [p.get("recalled", False) for p in posts] == [True, False, False]
            assert posts[-1]["payload"]["textcard"]["title"] == "【撤回】暴雨红色预警"
