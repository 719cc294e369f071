"""The OA channels: WeCom app, WeCom/DingTalk/Feishu robots and the OA webhook.

respx for the wire (success, every classified code, token expiry, rate limits, signatures
computed here from the reference formulas), the byte limits through a real Intake, the
declared rates against the platforms' windows, and each adapter against its sandbox over
real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote_plus

import httpx
import pytest
import respx
from fastapi import APIRouter
from helpers import FakeTokens, open_intake
from pydantic import BaseModel, ValidationError
from sandbox_server import serve_router

from channels.oa.dingtalk import DingtalkAdapter, DingtalkOptions
from channels.oa.feishu import FeishuAdapter, FeishuOptions
from channels.oa.oa_webhook import OaWebhookAdapter, OaWebhookOptions
from channels.oa.sandbox import (
    SANDBOX_SECRET,
    DingtalkSandbox,
    FeishuSandbox,
    OaSandbox,
    WecomAppSandbox,
    WecomRobotSandbox,
)
from channels.oa.wecom_app import WecomAppAdapter, WecomAppOptions
from channels.oa.wecom_robot import WecomRobotAdapter, WecomRobotOptions
from publisher.contract import (
    AccountContext,
    ChannelAdapter,
    Format,
    Idempotency,
    NoticeView,
    OutgoingPost,
    Overflow,
    RateLimit,
    Rendered,
)
from publisher.errors import (
    AuthExpired,
    ChannelError,
    CredentialsInvalid,
    LimitViolationError,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from publisher.notice import parse_notice
from publisher.queue.intake import Intake
from publisher.settings import REPO_ROOT, load_settings

PORTAL = "https://www.ajj.example.gov.cn"
NOW = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
WECOM = "https://qyapi.weixin.qq.com"
DINGTALK = "https://oapi.dingtalk.com"
FEISHU = "https://open.feishu.cn"
DING_SECRET = "SEC1f2e3d4c5b6a7980aabbccddeeff00112233445566778899aabbccddeeff0011"
FEISHU_SECRET = "qJ4mXvJtA1bS2c3d4e5f6g"


class Clock:
    def __init__(self, start: datetime = NOW) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def ctx(
    options: BaseModel,
    http: httpx.AsyncClient,
    *,
    clock: Any = None,
    tokens: FakeTokens | None = None,
    base_url: str = PORTAL,
) -> AccountContext:
    return AccountContext(
        account="oa",
        options=options,
        http=http,
        clock=clock or Clock(),
        tokens=tokens or FakeTokens(),
        log=logging.getLogger("test.oa"),
        base_url=base_url,
    )


def wecom_app(http: httpx.AsyncClient, **kw: Any) -> WecomAppAdapter:
    clock, tokens = kw.pop("clock", None), kw.pop("tokens", None)
    raw = {"corpid": "ww1234", "corpsecret": "s3cr3t", "agentid": 1000002, **kw}
    return WecomAppAdapter(
        ctx(WecomAppOptions.model_validate(raw), http, clock=clock, tokens=tokens)
    )


def wecom_robot(http: httpx.AsyncClient, **kw: Any) -> WecomRobotAdapter:
    raw = {"key": "693a91f6-7xxx", **kw}
    return WecomRobotAdapter(ctx(WecomRobotOptions.model_validate(raw), http))


def dingtalk(http: httpx.AsyncClient, clock: Any = None, **kw: Any) -> DingtalkAdapter:
    raw = {"access_token": "abc123", "secret": DING_SECRET, **kw}
    return DingtalkAdapter(ctx(DingtalkOptions.model_validate(raw), http, clock=clock))


def feishu(http: httpx.AsyncClient, clock: Any = None, **kw: Any) -> FeishuAdapter:
    raw = {"hook": "hook-uuid-1", "secret": FEISHU_SECRET, **kw}
    return FeishuAdapter(ctx(FeishuOptions.model_validate(raw), http, clock=clock))


def post(
    body: str = "各有关单位：请做好防范。",
    *,
    title: str = "暴雨橙色预警",
    fmt: Format = Format.MARKDOWN,
    notice_id: int = 42,
    fields: dict[str, Any] | None = None,
    urgent: bool = True,
) -> OutgoingPost:
    notice = NoticeView(
        id=notice_id,
        kind="weather_warning",
        title=title,
        body=body,
        summary=None,
        table=None,
        fields=fields or {},
        urgent=urgent,
        publish_at=None,
        created_at=NOW,
    )
    return OutgoingPost(
        delivery_id=7,
        account="oa",
        idempotency_key="k-7",
        notice=notice,
        rendered=Rendered(fmt, {"title": title, "body": body}),
        attempt=1,
    )


def sent(route: respx.Route, n: int = -1) -> Any:
    return json.loads(route.calls[n].request.content)


def query(route: respx.Route, n: int = -1) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(route.calls[n].request.url.query.decode()).items()}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


# -- declared rates against the platforms' windows ---------------------------------------


def most_in_any_window(rate: RateLimit, window: float, horizon: float) -> int:
    """Greedy sending under the core's sliding window (a send is allowed while fewer than
    ``count`` sends lie in the last ``per_seconds``): the most in any ``window``."""
    sends: list[float] = []
    t = 0.0
    step = min(0.05, rate.per_seconds / rate.count / 4)
    while t <= horizon:
        while len([s for s in sends[-rate.count :] if s > t - rate.per_seconds]) < rate.count:
            sends.append(t)
        t += step
    worst, start = 0, 0
    for end, when in enumerate(sends):
        while when - sends[start] >= window:
            start += 1
        worst = max(worst, end - start + 1)
    return worst


@pytest.mark.parametrize(
    ("make", "window", "allowed"),
    [
        ("wecom_robot", 60.0, 20),  # each robot: 20 a minute
        ("dingtalk", 60.0, 20),  # 20 a minute, or 10 minutes of silence
        ("wecom_app", 60.0, 30),  # each member: 30 a minute ...
        ("wecom_app", 3600.0, 1000),  # ... and 1000 an hour
        ("feishu", 60.0, 100),  # 100 a minute ...
        ("feishu", 1.0, 5),  # ... and 5 a second
    ],
)
async def test_declared_rates_stay_inside_the_platform_windows(
    http: httpx.AsyncClient, make: str, window: float, allowed: int
) -> None:
    rate = globals()[make](http).capabilities.rate_limit
    assert rate is not None
    assert most_in_any_window(rate, window, horizon=4000.0 if window > 60 else 300.0) <= allowed


def test_the_core_window_never_lets_a_twenty_first_through_in_a_minute() -> None:
    assert most_in_any_window(RateLimit(20, 60.0), 60.0, 300.0) == 20


@pytest.mark.parametrize(
    ("make", "options", "formats", "limits", "idempotency"),
    [
        (
            wecom_app,
            {},
            (Format.HTML,),
            {"title": (128, Overflow.TRUNCATE), "body": (512, Overflow.USE_SUMMARY)},
            Idempotency.REMOTE_KEY,
        ),
        (wecom_app, {"duplicate_check": False}, (Format.HTML,), None, Idempotency.NONE),
        (
            wecom_app,
            {"msgtype": "markdown"},
            (Format.MARKDOWN,),
            {"body": (2048, Overflow.TRUNCATE)},
            Idempotency.REMOTE_KEY,
        ),
        (
            wecom_robot,
            {},
            (Format.MARKDOWN,),
            {"body": (4096, Overflow.TRUNCATE)},
            Idempotency.NONE,
        ),
        (
            wecom_robot,
            {"msgtype": "text"},
            (Format.TEXT,),
            {"body": (2048, Overflow.TRUNCATE)},
            Idempotency.NONE,
        ),
        (
            dingtalk,
            {},
            (Format.MARKDOWN,),
            {"title": (128, Overflow.TRUNCATE), "body": (4096, Overflow.TRUNCATE)},
            Idempotency.NONE,
        ),
        (
            feishu,
            {},
            (Format.TEXT,),
            {"title": (256, Overflow.TRUNCATE), "body": (20480, Overflow.TRUNCATE)},
            Idempotency.NONE,
        ),
        (feishu, {"msg_type": "interactive"}, (Format.MARKDOWN,), None, Idempotency.NONE),
    ],
)
async def test_capabilities_measure_in_bytes(
    http: httpx.AsyncClient,
    make: Any,
    options: dict[str, Any],
    formats: tuple[Format, ...],
    limits: dict[str, tuple[int, Overflow]] | None,
    idempotency: Idempotency,
) -> None:
    caps = make(http, **options).capabilities
    assert caps.formats == formats
    assert caps.idempotency is idempotency
    assert caps.rate_limit is not None
    for limit in caps.limits:
        assert limit.unit == "字节"
        assert limit.measure("汉汉") - limit.measure("汉") == 3  # bytes, not characters
        if limits is not None:
            channel_max, overflow = limits[limit.part]
            assert limit.overflow is overflow
            # the channel's maximum, less the room the appended link (and, for Feishu, the
            # rest of the request) needs
            if limit.part == "title" or (make is wecom_app and options == {}):
                assert limit.max == channel_max
            else:
                assert channel_max - 800 < limit.max < channel_max


# -- WeCom application message ------------------------------------------------------------


def token_reply(token: str = "TOKEN-A", expires_in: int = 7200) -> httpx.Response:
    return httpx.Response(
        200, json={"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": expires_in}
    )


@respx.mock
async def test_wecom_app_sends_a_textcard_linking_the_portal(http: httpx.AsyncClient) -> None:
    gettoken = respx.get(f"{WECOM}/cgi-bin/gettoken").mock(return_value=token_reply())
    send = respx.post(f"{WECOM}/cgi-bin/message/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": "m-1"})
    )
    tokens = FakeTokens()
    adapter = wecom_app(http, touser=["zhangsan", "lisi"], toparty="2", tokens=tokens)
    result = await adapter.publish(post("<div>要点</div>", fmt=Format.HTML, notice_id=9))
    await adapter.publish(post("<div>要点</div>", fmt=Format.HTML, notice_id=10))

    assert gettoken.call_count == 1  # the token is kept and reused
    assert query(gettoken) == {"corpid": "ww1234", "corpsecret": "s3cr3t"}
    assert query(send)["access_token"] == "TOKEN-A"
    assert sent(send, 0) == {
        "msgtype": "textcard",
        "agentid": 1000002,
        "touser": "zhangsan|lisi",
        "toparty": "2",
        "textcard": {
            "title": "暴雨橙色预警",
            "description": "<div>要点</div>",
            "url": f"{PORTAL}/portal/notices/9",
            "btntxt": "详情",
        },
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 1800,
    }
    assert "暴雨" in send.calls[0].request.content.decode("utf-8")  # no \\u escapes
    assert result.remote_id == "m-1"
    assert result.note is None
    ((_, stored),) = tokens.values.items()
    assert stored == ("TOKEN-A", NOW + timedelta(seconds=7200))


@respx.mock
async def test_wecom_app_markdown_ends_with_the_link(http: httpx.AsyncClient) -> None:
    respx.get(f"{WECOM}/cgi-bin/gettoken").mock(return_value=token_reply())
    send = respx.post(f"{WECOM}/cgi-bin/message/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": "m"})
    )
    adapter = wecom_app(http, msgtype="markdown", duplicate_check_interval=3600)
    given = {"portal_url": "https://www.gov.cn/zhengce/2026-07/01/content_1.htm"}
    await adapter.publish(post("**暴雨橙色预警**", fields=given))
    body = sent(send)
    assert body["markdown"] == {
        "content": "**暴雨橙色预警**\n\n[查看全文](https://www.gov.cn/zhengce/2026-07/01/content_1.htm)"
    }
    assert body["touser"] == "@all"
    assert body["duplicate_check_interval"] == 3600


@respx.mock
async def test_wecom_app_fetches_a_new_token_shortly_before_expiry(
    http: httpx.AsyncClient,
) -> None:
    gettoken = respx.get(f"{WECOM}/cgi-bin/gettoken").mock(
        side_effect=[token_reply("TOKEN-A"), token_reply("TOKEN-B")]
    )
    send = respx.post(f"{WECOM}/cgi-bin/message/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    clock, tokens = Clock(), FakeTokens()
    worker_1 = wecom_app(http, clock=clock, tokens=tokens)
    worker_2 = wecom_app(http, clock=clock, tokens=tokens)  # another worker, same database
    await worker_1.publish(post())
    clock.advance(7200 - 600)
    await worker_2.publish(post())
    assert gettoken.call_count == 1  # still 10 minutes left: shared and reused
    clock.advance(301)
    await worker_2.publish(post())
    assert gettoken.call_count == 2  # under 5 minutes left: fetched again before expiry
    assert [query(send, n)["access_token"] for n in range(3)] == ["TOKEN-A", "TOKEN-A", "TOKEN-B"]


@respx.mock
async def test_wecom_app_token_expiring_in_the_middle_of_a_publish(
    http: httpx.AsyncClient,
) -> None:
    respx.get(f"{WECOM}/cgi-bin/gettoken").mock(
        side_effect=[token_reply("TOKEN-A"), token_reply("TOKEN-B")]
    )
    send = respx.post(f"{WECOM}/cgi-bin/message/send").mock(
        side_effect=[
            httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": "m-1"}),
            httpx.Response(200, json={"errcode": 42001, "errmsg": "access_token expired"}),
            httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": "m-2"}),
        ]
    )
    tokens = FakeTokens()
    adapter = wecom_app(http, tokens=tokens)
    await adapter.publish(post())
    # what the worker does: AuthExpired -> refresh once -> publish again at once
    with pytest.raises(AuthExpired, match="42001"):
        await adapter.publish(post())
    await adapter.refresh_credentials()
    result = await adapter.publish(post())
    assert result.remote_id == "m-2"
    assert [query(send, n)["access_token"] for n in range(3)] == ["TOKEN-A", "TOKEN-A", "TOKEN-B"]
    assert [v for v, _ in tokens.values.values()] == ["TOKEN-B"]


@respx.mock
async def test_wecom_app_many_tasks_refreshing_fetch_one_token(http: httpx.AsyncClient) -> None:
    gettoken = respx.get(f"{WECOM}/cgi-bin/gettoken").mock(
        side_effect=[token_reply("TOKEN-A"), token_reply("TOKEN-B"), token_reply("TOKEN-C")]
    )
    respx.post(f"{WECOM}/cgi-bin/message/send").mock(
        return_value=httpx.Response(200, json={"errcode": 40014, "errmsg": "invalid access_token"})
    )
    adapter = wecom_app(http)
    with pytest.raises(AuthExpired):
        await adapter.publish(post())
    await asyncio.gather(*(adapter.refresh_credentials() for _ in range(5)))
    assert gettoken.call_count == 2  # one fetch replaced the rejected token for all five


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (40001, CredentialsInvalid),  # on gettoken 40001 means a wrong secret, not a token
        (40013, CredentialsInvalid),
        (60020, CredentialsInvalid),
        (-1, TransientError),
        (45009, RateLimited),
    ],
)
@respx.mock
async def test_wecom_app_token_codes(
    http: httpx.AsyncClient, code: int, error: type[ChannelError]
) -> None:
    respx.get(f"{WECOM}/cgi-bin/gettoken").mock(
        return_value=httpx.Response(200, json={"errcode": code, "errmsg": "bad"})
    )
    send = respx.post(f"{WECOM}/cgi-bin/message/send")
    with pytest.raises(error):
        await wecom_app(http).publish(post())
    with pytest.raises(error):
        await wecom_app(http).check()
    assert not send.called


@respx.mock
async def test_wecom_app_partly_invalid_recipients_are_posted_with_a_note(
    http: httpx.AsyncClient,
) -> None:
    respx.get(f"{WECOM}/cgi-bin/gettoken").mock(return_value=token_reply())
    respx.post(f"{WECOM}/cgi-bin/message/send").mock(
        return_value=httpx.Response(
            200,
            json={
                "errcode": 0,
                "errmsg": "ok",
                "invaliduser": "wangwu|zhaoliu",
                "invalidparty": "",
                "invalidtag": "7",
                "msgid": "m-9",
            },
        )
    )
    result = await wecom_app(http, touser="zhangsan|wangwu|zhaoliu", totag="7").publish(post())
    assert result.remote_id == "m-9"
    assert result.note == "已发送；以下接收人无效，未收到：成员 wangwu、zhaoliu；标签 7"
    assert result.detail["invaliduser"] == "wangwu|zhaoliu"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (httpx.Response(502, text="Bad Gateway"), TransientError),
        (httpx.Response(429, text="slow down"), RateLimited),
        (httpx.Response(200, text="<html>login</html>"), OutcomeUnknown),
        (httpx.Response(404, text="no such path"), PermanentError),
        (httpx.ConnectError("refused"), TransientError),
        (httpx.ReadTimeout("timed out"), OutcomeUnknown),
    ],
)
@respx.mock
async def test_replies_without_a_result_code(
    http: httpx.AsyncClient, reply: Any, error: type[ChannelError]
) -> None:
    route = respx.post(f"{WECOM}/cgi-bin/webhook/send")
    if isinstance(reply, Exception):
        route.mock(side_effect=reply)
    else:
        route.mock(return_value=reply)
    with pytest.raises(error) as caught:
        await wecom_robot(http).publish(post())
    assert "693a91f6" not in str(caught.value)  # the key never shows in a message


def test_wecom_app_options_need_recipients_and_respect_wecom_caps() -> None:
    base = {"corpid": "ww", "corpsecret": "s", "agentid": 1}
    with pytest.raises(ValidationError, match="请指定接收人"):
        WecomAppOptions.model_validate({**base, "touser": ""})
    with pytest.raises(ValidationError, match="1000"):
        WecomAppOptions.model_validate({**base, "touser": [f"u{n}" for n in range(1001)]})
    with pytest.raises(ValidationError, match="100"):
        WecomAppOptions.model_validate({**base, "toparty": list(range(101))})
    assert "s" not in repr(WecomAppOptions.model_validate(base).corpsecret)


# -- WeCom group robot --------------------------------------------------------------------


@respx.mock
async def test_wecom_robot_posts_markdown_or_text_with_the_link(http: httpx.AsyncClient) -> None:
    route = respx.post(f"{WECOM}/cgi-bin/webhook/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    await wecom_robot(http).publish(post("**暴雨橙色预警**", notice_id=5))
    assert query(route) == {"key": "693a91f6-7xxx"}
    assert sent(route) == {
        "msgtype": "markdown",
        "markdown": {"content": f"**暴雨橙色预警**\n\n[查看全文]({PORTAL}/portal/notices/5)"},
    }
    await wecom_robot(http, msgtype="text", mentioned_list=["@all"]).publish(
        post("暴雨橙色预警", fmt=Format.TEXT, notice_id=5)
    )
    assert sent(route) == {
        "msgtype": "text",
        "text": {
            "content": f"暴雨橙色预警\n\n全文：{PORTAL}/portal/notices/5",
            "mentioned_list": ["@all"],
        },
    }


# -- DingTalk -----------------------------------------------------------------------------


def dingtalk_sign_by_hand(timestamp: str, secret: str) -> str:
    """The reference's Python, line for line."""
    string_to_sign = f"{timestamp}\n{secret}"
    digest = hmac.new(
        secret.encode("utf-8"), string_to_sign.encode("utf-8"), digestmod=hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest))


@respx.mock
async def test_dingtalk_signs_exactly_as_the_reference(http: httpx.AsyncClient) -> None:
    route = respx.post(f"{DINGTALK}/robot/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    clock = Clock(datetime(2026, 7, 1, 6, 0, 0, 123000, tzinfo=UTC))
    await dingtalk(http, clock=clock).publish(post("#### 暴雨橙色预警"))
    raw = route.calls[0].request.url.raw_path.decode("ascii")  # as it went on the wire
    ts = str(int(clock.current.timestamp() * 1000))
    assert ts == "1782885600123"
    signature = dingtalk_sign_by_hand(ts, DING_SECRET)
    assert raw == f"/robot/send?access_token=abc123&timestamp={ts}&sign={signature}"
    clock.advance(1)
    await dingtalk(http, clock=clock).publish(post())
    assert query(route)["timestamp"] == "1782885601123"  # a fresh timestamp each time


@respx.mock
async def test_dingtalk_without_a_secret_sends_no_signature(http: httpx.AsyncClient) -> None:
    route = respx.post(f"{DINGTALK}/robot/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    await dingtalk(http, secret=None).publish(post())
    assert query(route) == {"access_token": "abc123"}


@respx.mock
async def test_dingtalk_markdown_has_title_text_link_and_at(http: httpx.AsyncClient) -> None:
    route = respx.post(f"{DINGTALK}/robot/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    adapter = dingtalk(http, at_mobiles=["13800000000"], at_all_urgent=True)
    await adapter.publish(post("#### 暴雨橙色预警", notice_id=8))
    assert sent(route) == {
        "msgtype": "markdown",
        "markdown": {
            "title": "暴雨橙色预警",
            "text": f"#### 暴雨橙色预警\n\n[查看全文]({PORTAL}/portal/notices/8)\n\n@13800000000",
        },
        "at": {"atMobiles": ["13800000000"], "isAtAll": True},
    }
    await adapter.publish(post("例行通知", urgent=False))
    assert sent(route)["at"]["isAtAll"] is False


# -- Feishu -------------------------------------------------------------------------------


def feishu_sign_by_hand(timestamp: str, secret: str) -> str:
    """The reference: the string to sign is the HMAC key, the message is empty."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", digestmod=hashlib.sha256).digest()).decode()


@respx.mock
async def test_feishu_signs_with_the_string_as_key_and_seconds(http: httpx.AsyncClient) -> None:
    route = respx.post(f"{FEISHU}/open-apis/bot/v2/hook/hook-uuid-1").mock(
        return_value=httpx.Response(200, json={"code": 0, "msg": "success", "data": {}})
    )
    clock = Clock(datetime(2026, 7, 1, 6, 0, 0, 900000, tzinfo=UTC))
    await feishu(http, clock=clock).publish(post("预计未来3小时有强降雨。", notice_id=4))
    body = sent(route)
    assert body["timestamp"] == "1782885600"  # seconds, not milliseconds
    assert body["sign"] == feishu_sign_by_hand("1782885600", FEISHU_SECRET)
    dingtalk_way = base64.b64encode(
        hmac.new(
            FEISHU_SECRET.encode(), f"1782885600\n{FEISHU_SECRET}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert body["sign"] != dingtalk_way
    assert body["msg_type"] == "post"
    assert body["content"]["post"]["zh_cn"] == {
        "title": "暴雨橙色预警",
        "content": [
            [{"tag": "text", "text": "预计未来3小时有强降雨。"}],
            [
                {"tag": "text", "text": "全文："},
                {"tag": "a", "text": "查看全文", "href": f"{PORTAL}/portal/notices/4"},
            ],
        ],
    }


@respx.mock
async def test_feishu_card_is_coloured_by_the_signal_and_links_the_portal(
    http: httpx.AsyncClient,
) -> None:
    route = respx.post(f"{FEISHU}/open-apis/bot/v2/hook/hook-uuid-1").mock(
        return_value=httpx.Response(200, json={"StatusCode": 0, "StatusMessage": "success"})
    )
    adapter = feishu(http, msg_type="interactive", secret=None)
    await adapter.publish(post("**红色预警**", fields={"color": "红色"}, notice_id=2))
    card = sent(route)["card"]
    assert "sign" not in sent(route)
    assert card["header"] == {
        "title": {"tag": "plain_text", "content": "暴雨橙色预警"},
        "template": "red",
    }
    assert card["elements"][0] == {
        "tag": "div",
        "text": {"tag": "lark_md", "content": "**红色预警**"},
    }
    assert card["elements"][1]["actions"][0]["url"] == f"{PORTAL}/portal/notices/2"


@respx.mock
async def test_feishu_at_all_for_urgent_posts(http: httpx.AsyncClient) -> None:
    route = respx.post(f"{FEISHU}/open-apis/bot/v2/hook/hook-uuid-1").mock(
        return_value=httpx.Response(200, json={"code": 0, "msg": "success", "data": {}})
    )
    await feishu(http, at_all_urgent=True).publish(post("预警"))
    assert sent(route)["content"]["post"]["zh_cn"]["content"][0] == [
        {"tag": "at", "user_id": "all"}
    ]


@pytest.mark.parametrize("msg_type", ["post", "interactive"])
@respx.mock
async def test_feishu_a_cut_body_keeps_the_request_under_20_kb(
    http: httpx.AsyncClient, msg_type: str
) -> None:
    from publisher.validate import fit

    route = respx.post(f"{FEISHU}/open-apis/bot/v2/hook/hook-uuid-1").mock(
        return_value=httpx.Response(200, json={"code": 0, "msg": "success", "data": {}})
    )
    adapter = feishu(http, msg_type=msg_type)
    lines = "\n".join(f"{n}. 当事人：某某化工有限公司；处罚：罚款2万元" for n in range(2000))
    rendered = Rendered(Format.TEXT, {"title": "处" * 200, "body": lines})
    fitted, problems = fit("feishu", rendered, adapter.capabilities, lambda: rendered)
    assert problems == []
    assert fitted.body.endswith("…")
    item = post(fitted.body, title=fitted.title, notice_id=999_999_999_999)
    await adapter.publish(item)
    assert 19_000 < len(route.calls[0].request.content) <= 20 * 1024


# -- every classified code of every OA channel --------------------------------------------


@dataclass(frozen=True)
class Wire:
    """How a channel is reached here: where it sends, how its replies spell code and message."""

    make: Callable[..., ChannelAdapter]
    url: str
    credential: str  # part of the send address; never part of an error message
    code_key: str = "errcode"
    msg_key: str = "errmsg"


WIRES = {
    "wecom_app": Wire(wecom_app, f"{WECOM}/cgi-bin/message/send", "TOKEN-A"),
    "wecom_robot": Wire(wecom_robot, f"{WECOM}/cgi-bin/webhook/send", "693a91f6"),
    "dingtalk": Wire(dingtalk, f"{DINGTALK}/robot/send", "abc123"),
    "feishu": Wire(
        feishu,
        f"{FEISHU}/open-apis/bot/v2/hook/hook-uuid-1",
        "hook-uuid-1",
        code_key="code",
        msg_key="msg",
    ),
}

CODES = [
    ("wecom_app", -1, "system busy", TransientError, None),
    ("wecom_app", 40001, "invalid credential", AuthExpired, None),
    ("wecom_app", 40014, "invalid access_token", AuthExpired, None),
    ("wecom_app", 42001, "access_token expired", AuthExpired, None),
    ("wecom_app", 45009, "api freq out of limit", RateLimited, 60.0),
    ("wecom_app", 60020, "not allow to access from your ip", CredentialsInvalid, None),
    ("wecom_app", 81013, "user & party & tag all invalid", PermanentError, None),
    ("wecom_app", 40056, "invalid agentid", PermanentError, None),  # not in the table: permanent
    ("wecom_robot", -1, "said -1", TransientError, None),
    ("wecom_robot", 45009, "said 45009", RateLimited, 60.0),
    ("wecom_robot", 93000, "said 93000", CredentialsInvalid, None),
    ("wecom_robot", 40058, "said 40058", PermanentError, None),
    ("dingtalk", 130101, "send too fast, exceed 20 times per minute", RateLimited, 600.0),
    # 310000 is keyword, signature or IP: which one, DingTalk's own words say
    ("dingtalk", 310000, "keywords not in content", PermanentError, None),
    ("dingtalk", 310000, "sign not match", PermanentError, None),
    ("dingtalk", 310000, "ip X.X.X.X not in whitelist", PermanentError, None),
    ("dingtalk", 300001, "token is not exist", CredentialsInvalid, None),
    ("dingtalk", 300005, "token is not exist", CredentialsInvalid, None),
    ("dingtalk", -1, "系统繁忙", TransientError, None),
    ("feishu", 11232, "said 11232", RateLimited, 60.0),
    ("feishu", 19021, "said 19021", PermanentError, None),
    ("feishu", 19022, "said 19022", PermanentError, None),
    ("feishu", 19024, "said 19024", PermanentError, None),
    ("feishu", 9499, "said 9499", PermanentError, None),
    ("feishu", 9499, "Bad Request", PermanentError, None),
    # a busy bot: the same code, and Feishu's words say it is throttling
    ("feishu", 9499, "too many request", RateLimited, 60.0),
    ("feishu", 9499, "Too Many Requests", RateLimited, 60.0),
    ("feishu", 19001, "said 19001", CredentialsInvalid, None),
]


@pytest.mark.parametrize(("channel", "code", "message", "error", "retry_after"), CODES)
@respx.mock
async def test_every_classified_code(
    http: httpx.AsyncClient,
    channel: str,
    code: int,
    message: str,
    error: type[ChannelError],
    retry_after: float | None,
) -> None:
    wire = WIRES[channel]
    if channel == "wecom_app":
        respx.get(f"{WECOM}/cgi-bin/gettoken").mock(return_value=token_reply())
    respx.post(wire.url).mock(
        return_value=httpx.Response(200, json={wire.code_key: code, wire.msg_key: message})
    )
    with pytest.raises(ChannelError) as caught:
        await wire.make(http).publish(post())
    assert type(caught.value) is error  # the class decides what the worker does next
    assert caught.value.code == code
    assert message in str(caught.value)  # the platform's own words reach the user
    assert wire.credential not in str(caught.value)
    assert getattr(caught.value, "retry_after", None) == retry_after


# -- sandbox accounts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "path", "reply"),
    [
        (wecom_robot, "/_sandbox/wecom_robot/cgi-bin/webhook/send", {"errcode": 0}),
        (dingtalk, "/_sandbox/dingtalk/robot/send", {"errcode": 0}),
        (feishu, "/_sandbox/feishu/open-apis/bot/v2/hook/hook-uuid-1", {"code": 0}),
        (wecom_app, "/_sandbox/wecom_app/cgi-bin/message/send", {"errcode": 0}),
    ],
)
async def test_a_sandbox_account_never_reaches_the_real_platform(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter, make: Any, path: str, reply: Any
) -> None:
    respx_mock.get(f"{PORTAL}/_sandbox/wecom_app/cgi-bin/gettoken").mock(return_value=token_reply())
    route = respx_mock.post(f"{PORTAL}{path}").mock(return_value=httpx.Response(200, json=reply))
    await make(http, sandbox=True).publish(post())  # respx refuses any other host
    assert route.called
    configured = make(http, sandbox=True, api_base="http://127.0.0.1:9/")
    assert configured._api == "http://127.0.0.1:9"


# -- the OA webhook -----------------------------------------------------------------------


@respx.mock
async def test_oa_webhook_is_the_webhook_plus_the_portal_link(http: httpx.AsyncClient) -> None:
    route = respx.post("https://oa.example.gov.cn/api/notices").mock(
        return_value=httpx.Response(201, json={"id": "oa-1", "url": "https://oa/1"})
    )
    options = OaWebhookOptions.model_validate({"url": "https://oa.example.gov.cn/api/notices"})
    adapter = OaWebhookAdapter(ctx(options, http))
    result = await adapter.publish(post("正文", notice_id=3))
    assert result.remote_id == "oa-1"
    body = sent(route)
    assert body["portal_url"] == f"{PORTAL}/portal/notices/3"
    assert body["body"] == "正文"
    assert route.calls[0].request.headers["Idempotency-Key"] == "k-7"
    assert adapter.type_name == "oa_webhook"


# -- byte limits at submit, through a real Intake and the real templates -----------------

ACCOUNTS = {
    "wecom_app": {"type": "wecom_app", "corpid": "ww", "corpsecret": "s", "agentid": 1},
    "wecom_md": {
        "type": "wecom_app",
        "corpid": "ww",
        "corpsecret": "s",
        "agentid": 1,
        "msgtype": "markdown",
    },
    "wecom_robot": {"type": "wecom_robot", "key": "k"},
    "wecom_robot_text": {"type": "wecom_robot", "key": "k", "msgtype": "text"},
    "dingtalk": {"type": "dingtalk", "access_token": "t", "secret": "SECx"},
    "dingtalk_text": {"type": "dingtalk", "access_token": "t", "msgtype": "text"},
    "feishu": {"type": "feishu", "hook": "h"},
    "feishu_card": {"type": "feishu", "hook": "h", "msg_type": "interactive"},
    "oa_webhook": {"type": "oa_webhook", "url": "https://oa.example.gov.cn/api/notices"},
}

WARNING: dict[str, Any] = {
    "kind": "weather_warning",
    "title": "市气象台发布暴雨橙色预警信号",
    "body": "预计未来3小时内，我市东部将出现50毫米以上降雨，局地可达80毫米以上。",
    "summary": "未来3小时东部有50毫米以上降雨。",
    "fields": {
        "signal": "暴雨",
        "color": "橙色",
        "issuer": "滨江市气象台",
        "area": ["滨江区", "临江县"],
        "issued_at": "2026-07-01T14:00:00+08:00",
        "valid_until": "2026-07-01T20:00:00+08:00",
        "advice": ["停止户外作业和集会", "危险地带人员撤离"],
    },
}
ROWS = [[f"滨应急罚〔2026〕{n}号", f"滨江第{n}化工有限公司", "罚款2万元"] for n in range(1, 51)]
PENALTIES: dict[str, Any] = {
    "kind": "penalty_disclosure",
    "title": "2026年第二季度行政处罚结果公开",
    "body": "现将本局2026年第二季度作出的行政处罚决定予以公开。",
    "table": {"columns": ["决定书文号", "当事人", "处罚内容"], "rows": ROWS},
}


@pytest.fixture
async def intake(tmp_path: Path) -> AsyncIterator[Intake]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/publisher.db",
        base_url=PORTAL,
        templates_dir=REPO_ROOT / "templates",
        accounts=ACCOUNTS,
    )
    async with open_intake(settings, Clock(), FakeTokens()) as intake:
        yield intake


def preview(intake: Intake, notice: dict[str, Any], account: str) -> Any:
    return intake.preview(parse_notice(notice), intake.channels.get(account))


KINDS: list[dict[str, Any]] = [
    WARNING,
    PENALTIES,
    {**PENALTIES, "kind": "approval_list", "title": "2026年6月行政许可决定公示"},
    {
        "kind": "accident_report",
        "title": "“6·18”物体打击事故调查报告",
        "body": "事故经过……",
        "fields": {
            "occurred_at": "2026-06-18T10:00:00+08:00",
            "unit": "某建设公司",
            "casualties": "死亡1人",
        },
    },
    {
        "kind": "budget_disclosure",
        "title": "2026年部门预算公开",
        "body": "现予公开。",
        "fields": {"year": 2026},
        "table": {"columns": ["项目", "金额"], "rows": [["三公", 1]]},
    },
    {"kind": "general", "title": "关于开展安全生产月活动的通知", "body": "各单位：\n\n请……"},
    {"kind": "weather_warning", "title": "大风蓝色预警", "body": "注意防风。"},  # no fields
]


@pytest.mark.parametrize("account", list(ACCOUNTS))
async def test_every_kind_renders_and_fits_every_oa_account(intake: Intake, account: str) -> None:
    for notice in KINDS:
        result = preview(intake, notice, account)
        assert result.violations == [], notice["kind"]
        body = result.rendered.body
        assert body.strip()
        assert "\n\n\n\n" not in body
        if notice is WARNING:
            assert "暴雨橙色预警" in body
            assert "Ⅱ级" in body
            if account != "wecom_app":  # the card carries the essentials; the rest is a tap away
                assert "滨江市气象台" in body and "滨江区、临江县" in body
                assert "危险地带人员撤离" in body
        if notice.get("table") and account != "oa_webhook":
            assert "| --- |" not in body  # no OA client here renders markdown tables


YICHUN_BODY = (
    "伊春市气象台2026年12月4日5时发布暴雨橙色预警信号：受强降雨云团影响，过去6小时伊春市区、"
    "铁力市部分地区降雨量已达100毫米以上，预计未来3小时内上述地区仍将出现50毫米以上的强降雨，"
    "并伴有雷电和8级以上短时大风，山区发生山洪、泥石流、滑坡等地质灾害的风险较高，城区低洼"
    "地带易发生积涝。根据《伊春市气象灾害预警信号发布办法》（伊政办发〔2026〕30号），请各单位"
    "按照职责做好防御工作。"
)
LONG_WARNING: dict[str, Any] = {
    "kind": "weather_warning",
    "title": "伊春市气象台发布暴雨橙色预警信号",
    "body": "\n\n".join([YICHUN_BODY] * 6),
    "fields": {
        "signal": "暴雨",
        "color": "橙色",
        "issuer": "伊春市气象台",
        "area": ["伊春市区", "铁力市", "嘉荫县"],
        "issued_at": "2026-12-04T05:00:00+08:00",
        "valid_until": "2026-12-04T20:00:00+08:00",
        "advice": [
            "政府及相关部门按照职责做好防暴雨应急工作，切断有危险的室外电源，暂停户外作业",
            "处于危险地带的单位应当停课、停业，采取专门措施保护已到校学生、幼儿和其他上班人员的安全",
            "做好城市、农田的排涝，注意防范可能引发的山洪、滑坡、泥石流等灾害",
        ],
    },
}
# a cut right after a digit or inside a document number: "…降雨量已达10…"
BROKEN_CUT = re.compile(r"(\d|〔|〕|[A-Za-z])…")


async def test_the_warning_card_keeps_signal_area_validity_and_advice(intake: Intake) -> None:
    # the card used to read "…降雨量已达10…" where the text says 100毫米, with no 防御指南
    body = preview(intake, {**LONG_WARNING, "body": YICHUN_BODY}, "wecom_app").rendered.body
    assert len(body.encode("utf-8")) <= 512
    assert '<div class="highlight">暴雨橙色预警信号 · Ⅱ级（严重）</div>' in body
    assert "影响区域：伊春市区、铁力市、嘉荫县" in body
    assert "有效期至：2026年12月4日20时" in body
    assert "防御指南：政府及相关部门按照职责做好防暴雨应急工作" in body
    assert not BROKEN_CUT.search(body), body
    # the body's own lead is not repeated under the issuer line
    assert body.count("伊春市气象台") == 1


@pytest.mark.parametrize("account", list(ACCOUNTS))
async def test_a_long_warning_keeps_its_essentials_on_every_oa_account(
    intake: Intake, account: str
) -> None:
    result = preview(intake, LONG_WARNING, account)
    assert result.violations == []
    text = "\n".join(result.rendered.parts.values())
    for needle in ("暴雨橙色预警", "Ⅱ级", "铁力市、嘉荫县", "2026年12月4日20时", "暂停户外作业"):
        assert needle in text, (account, needle)
    assert not BROKEN_CUT.search(text), text


async def test_the_oa_webhook_keeps_the_real_table(intake: Intake) -> None:
    body = preview(intake, PENALTIES, "oa_webhook").rendered.body
    assert "| 决定书文号 | 当事人 | 处罚内容 |" in body
    assert body.count("滨江第") == 50


async def test_robot_lists_rows_compactly_and_points_to_the_full_list(intake: Intake) -> None:
    body = preview(intake, PENALTIES, "wecom_robot").rendered.body
    assert (
        "1. 决定书文号：滨应急罚〔2026〕1号；当事人：滨江第1化工有限公司；处罚内容：罚款2万元"
        in body
    )
    assert "滨江第11化工" not in body
    assert "共 50 条，以上为前 10 条" in body


async def test_a_long_body_is_cut_by_bytes_and_the_link_still_fits(intake: Intake) -> None:
    # 1,500 Chinese characters are 4,500 bytes: over WeCom's 4,096-byte markdown limit
    notice = {"kind": "general", "title": "通知", "body": "请各单位认真落实。" * 167}
    submitted = await intake.submit(parse_notice(notice), source="test", actor="editor")
    record = await intake.store.get_notice(submitted.notice_id)
    by_account = {d.account: d for d in record.deliveries}
    robot = by_account["wecom_robot"]
    body = str(robot.rendered["parts"]["body"])
    assert body.endswith("…")
    adapter = intake.channels.get("wecom_robot").adapter
    assert isinstance(adapter, WecomRobotAdapter)
    content = adapter._payload(post(body, notice_id=submitted.notice_id))["markdown"]["content"]
    assert content.endswith(f"[查看全文]({PORTAL}/portal/notices/{submitted.notice_id})")
    assert 4096 - 300 < len(content.encode("utf-8")) <= 4096
    text_body = str(by_account["wecom_robot_text"].rendered["parts"]["body"])
    assert len(text_body.encode("utf-8")) < 2048  # the text robot's 2,048 bytes, by bytes
    assert len(text_body) < 700


async def test_a_long_card_title_is_cut_to_128_bytes(intake: Intake) -> None:
    notice = {"kind": "general", "title": "关于" + "安全生产" * 30 + "的通知", "body": "见附件。"}
    title = preview(intake, notice, "wecom_app").rendered.title
    assert title.endswith("…")
    assert 120 < len(title.encode("utf-8")) <= 128


async def test_a_card_description_that_cannot_fit_is_refused_naming_the_rule(
    intake: Intake,
) -> None:
    fields = {**WARNING["fields"], "issuer": "滨江市气象台" * 30}
    notice = parse_notice({**WARNING, "fields": fields, "channels": ["wecom_app", "dingtalk"]})
    with pytest.raises(LimitViolationError) as caught:
        await intake.submit(notice, source="test", actor="duty")
    (violation,) = caught.value.violations
    assert (violation.account, violation.part, violation.limit) == ("wecom_app", "body", 512)
    assert "超过上限 512 字节" in str(caught.value)


# -- the sandboxes over real HTTP on 127.0.0.1 -------------------------------------------


class SandboxClock:
    """One time for both sides: the sandbox reads it as epoch seconds, adapters as datetime."""

    def __init__(self) -> None:
        self.current = time.time()

    def __call__(self) -> float:
        return self.current

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.current, UTC)


A = TypeVar("A", bound=ChannelAdapter)


@dataclass
class Live:
    """A sandbox served on 127.0.0.1, a client for it, and the time both sides read."""

    base: str  # this publisher's address: portal links start here
    api: str  # the sandbox, as the accounts' api_base
    client: httpx.AsyncClient
    clock: SandboxClock

    def adapter(
        self,
        make: type[A],
        options: Mapping[str, Any],
        *,
        clock: Any = None,
        tokens: FakeTokens | None = None,
    ) -> A:
        """An account of type ``make`` that talks to this sandbox."""
        validated = make.Options.model_validate({"api_base": self.api, **options})
        return make(
            ctx(
                validated,
                self.client,
                clock=self.clock if clock is None else clock,
                tokens=tokens,
                base_url=self.base,
            )
        )

    async def posts(self) -> Any:
        return (await self.client.get(f"{self.api}/posts")).json()

    async def faults(self, **faults: Any) -> None:
        await self.client.put(f"{self.api}/faults", json=faults)


@contextlib.asynccontextmanager
async def live(sandbox: type[OaSandbox], type_name: str) -> AsyncIterator[Live]:
    clock = SandboxClock()
    prefix = f"/_sandbox/{type_name}"
    with serve_router(sandbox(now=clock).router, prefix) as base:
        async with httpx.AsyncClient(timeout=5) as client:
            yield Live(base, base + prefix, client, clock)


@pytest.mark.parametrize(
    ("adapter", "paths"),
    [
        (WecomAppAdapter, {"/cgi-bin/gettoken", "/cgi-bin/message/send"}),
        (WecomRobotAdapter, {"/cgi-bin/webhook/send"}),
        (DingtalkAdapter, {"/robot/send"}),
        (FeishuAdapter, {"/open-apis/bot/v2/hook/{hook}"}),
    ],
)
def test_each_adapter_class_offers_its_sandbox(
    adapter: type[ChannelAdapter], paths: set[str]
) -> None:
    router = adapter.sandbox()
    assert isinstance(router, APIRouter)
    assert paths | {"/posts", "/faults"} <= {getattr(r, "path", "") for r in router.routes}


async def test_wecom_app_against_its_sandbox() -> None:
    async with live(WecomAppSandbox, "wecom_app") as sandbox:
        tokens = FakeTokens()
        app = {
            "corpid": "wwsandbox",
            "corpsecret": "sandbox",
            "agentid": 1000002,
            "touser": "zhangsan|invalid_li",
            "sandbox": True,
        }
        adapter = sandbox.adapter(WecomAppAdapter, app, tokens=tokens)
        await adapter.check()

        first = await adapter.publish(post("<div>要点</div>", fmt=Format.HTML, notice_id=1))
        assert first.note == "已发送；以下接收人无效，未收到：成员 invalid_li"
        listing = await sandbox.posts()
        assert listing["count"] == 1
        card = listing["posts"][0]["payload"]["textcard"]
        assert card["url"] == f"{sandbox.base}/portal/notices/1"
        assert listing["posts"][0]["read_count"] == 0
        sandbox.clock.current += 60
        assert (await sandbox.posts())["posts"][0]["read_count"] == 12

        # the same content again inside the interval: WeCom delivers it once
        again = await adapter.publish(post("<div>要点</div>", fmt=Format.HTML, notice_id=1))
        assert again.remote_id == first.remote_id
        assert [p["delivered"] for p in (await sandbox.posts())["posts"]] == [True, False]

        # the token expires mid-flight: AuthExpired, refresh once, then it goes out
        await sandbox.faults(expire_token=True)
        with pytest.raises(AuthExpired, match="42001"):
            await adapter.publish(post("<div>第二条</div>", fmt=Format.HTML, notice_id=2))
        await adapter.refresh_credentials()
        await adapter.publish(post("<div>第二条</div>", fmt=Format.HTML, notice_id=2))
        posts = (await sandbox.posts())["posts"]
        assert len({p["payload"]["textcard"]["description"] for p in posts}) == 2

        # nobody valid at all
        nobody = sandbox.adapter(WecomAppAdapter, {**app, "touser": "invalid_a"}, tokens=tokens)
        with pytest.raises(PermanentError, match="81013"):
            await nobody.publish(post(fmt=Format.HTML))

        # an injected busy code, and bad credentials
        await sandbox.faults(error_rate=1, error_code=-1)
        with pytest.raises(TransientError, match="-1"):
            await adapter.publish(post("<div>x</div>", fmt=Format.HTML))
        bad = sandbox.adapter(WecomAppAdapter, {**app, "corpsecret": "invalid-secret"})
        with pytest.raises(CredentialsInvalid, match="40001"):
            await bad.check()


async def test_wecom_robot_against_its_sandbox() -> None:
    async with live(WecomRobotSandbox, "wecom_robot") as sandbox:
        robot = {"key": "sandbox-key"}
        adapter = sandbox.adapter(WecomRobotAdapter, robot)
        for n in range(20):
            await adapter.publish(post(f"**第{n}条**", notice_id=n))
        with pytest.raises(RateLimited, match="45009") as caught:
            await adapter.publish(post("**第21条**"))
        assert caught.value.retry_after == 60
        listing = await sandbox.posts()
        assert listing["count"] == 20
        assert listing["posts"][3]["payload"]["markdown"]["content"] == (
            f"**第3条**\n\n[查看全文]({sandbox.base}/portal/notices/3)"
        )
        sandbox.clock.current += 61
        await adapter.publish(post("**一分钟后**"))

        # a lost reply: it arrived, but we cannot know
        await sandbox.faults(lost_reply=True, hang_seconds=1)
        slow = sandbox.adapter(WecomRobotAdapter, {**robot, "timeout": 0.3})
        with pytest.raises(OutcomeUnknown):
            await slow.publish(post("**丢失的回复**"))
        await sandbox.faults()
        assert (await sandbox.posts())["count"] == 22

        wrong = sandbox.adapter(WecomRobotAdapter, {"key": "invalid-key"})
        with pytest.raises(CredentialsInvalid, match="93000"):
            await wrong.publish(post())


async def test_dingtalk_against_its_sandbox() -> None:
    async with live(DingtalkSandbox, "dingtalk") as sandbox:
        robot = {"access_token": "robot-1", "secret": SANDBOX_SECRET}
        adapter = sandbox.adapter(DingtalkAdapter, robot)
        await adapter.publish(post("#### 暴雨橙色预警", notice_id=6))
        (received,) = (await sandbox.posts())["posts"]
        assert received["signed"] is True
        assert received["payload"]["markdown"]["title"] == "暴雨橙色预警"

        # a wrong secret, and a clock more than an hour off, fail the signature check
        wrong = sandbox.adapter(DingtalkAdapter, {**robot, "secret": "SECwrong"})
        with pytest.raises(PermanentError, match="310000"):
            await wrong.publish(post())
        late = SandboxClock()
        late.current = sandbox.clock.current - 3700
        with pytest.raises(PermanentError, match=r"310000.*timestamp"):
            await sandbox.adapter(DingtalkAdapter, robot, clock=late).publish(post())

        # more than 20 in a minute: 130101, and the robot stays throttled for 10 minutes
        for _ in range(19):
            await adapter.publish(post())
        with pytest.raises(RateLimited, match="130101") as caught:
            await adapter.publish(post())
        assert caught.value.retry_after == 600
        sandbox.clock.current += 120
        with pytest.raises(RateLimited, match="130101"):
            await adapter.publish(post())
        sandbox.clock.current += 600
        await adapter.publish(post())

        # an unsigned robot (keyword security) takes no signature
        await sandbox.client.put(f"{sandbox.api}/secrets", json={"robot-2": None})
        await sandbox.adapter(DingtalkAdapter, {"access_token": "robot-2"}).publish(post())
        missing = sandbox.adapter(DingtalkAdapter, {"access_token": "invalid"})
        with pytest.raises(CredentialsInvalid, match="300005"):  # what the real one says
            await missing.publish(post())


async def test_feishu_against_its_sandbox() -> None:
    async with live(FeishuSandbox, "feishu") as sandbox:
        robot = {"hook": "hook-1", "secret": SANDBOX_SECRET}
        adapter = sandbox.adapter(FeishuAdapter, robot)
        await adapter.publish(post("预计未来3小时有强降雨。", fmt=Format.TEXT, notice_id=4))
        (received,) = (await sandbox.posts())["posts"]
        assert received["signed"] is True
        zh = received["payload"]["content"]["post"]["zh_cn"]
        assert zh["content"][-1][1]["href"] == f"{sandbox.base}/portal/notices/4"

        wrong = sandbox.adapter(FeishuAdapter, {**robot, "secret": "nope"})
        with pytest.raises(PermanentError, match="19021"):
            await wrong.publish(post())

        # five a second at most: the sixth within the same second is throttled
        for _ in range(4):
            await adapter.publish(post())
        with pytest.raises(RateLimited, match="11232"):
            await adapter.publish(post())
        sandbox.clock.current += 1.5
        card = sandbox.adapter(FeishuAdapter, {**robot, "msg_type": "interactive"})
        await card.publish(post("**预警**", fields={"color": "橙色"}))
        last = (await sandbox.posts())["posts"][-1]["payload"]
        assert last["card"]["header"]["template"] == "orange"

        await sandbox.faults(error_rate=1, error_code=19024)
        with pytest.raises(PermanentError, match="19024"):
            await adapter.publish(post())
        await sandbox.faults(error_rate=1)
        with pytest.raises(TransientError, match="503"):
            await adapter.publish(post())
        await sandbox.client.delete(f"{sandbox.api}/posts")
        assert (await sandbox.posts())["count"] == 0
