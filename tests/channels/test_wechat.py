"""The WeChat Official Account adapter: token sharing and refresh, cover -> draft -> publish ->
confirm, mass-sent warnings (duplicate key, used quota), every classified error code (respx),
metrics, limits at submit through intake, the signed and encrypted callback, and the adapter
against its sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import struct
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi import APIRouter, FastAPI
from helpers import FakeTokens, open_intake
from sandbox_server import serve_router
from wechatpy.crypto import WeChatCrypto  # type: ignore[import-untyped]

from channels.wechat import QUOTA_NOTE, WechatAdapter, WechatOptions
from channels.wechat.covers import HEIGHT, SIGNAL_COLOURS, WIDTH, draw_cover
from channels.wechat.errors import CHINA, ERRORS, TOKEN_INVALID_CODES
from publisher.clock import SystemClock
from publisher.contract import (
    AccountContext,
    Format,
    Idempotency,
    MetricSample,
    NoticeView,
    OutgoingPost,
    PostRef,
    PublishMode,
    PublishResult,
    Rendered,
)
from publisher.errors import (
    AuthExpired,
    ChannelError,
    ConfigError,
    CredentialsInvalid,
    LimitViolationError,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from publisher.notice import parse_notice
from publisher.queue.intake import Intake
from publisher.registry import build_options
from publisher.settings import REPO_ROOT, load_settings

API = "https://api.weixin.qq.com"
PORTAL = "https://www.ajj.example.gov.cn"
NOW = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)  # 14:00 in Beijing
APPID = "wx1234567890abcdef"
CALLBACK_TOKEN = "callbacktoken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters


class Clock:
    def __init__(self, current: datetime = NOW) -> None:
        self.current = current

    def now(self) -> datetime:
        return self.current


class Confirmations:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, remote_id: str) -> bool:
        self.asked.append(remote_id)
        return True


def make_adapter(
    http: httpx.AsyncClient,
    tokens: FakeTokens | None = None,
    clock: Any = None,
    confirm_now: Confirmations | None = None,
    **options: Any,
) -> WechatAdapter:
    raw = {"appid": APPID, "secret": "app-secret", "author": "滨江应急管理局", **options}
    ctx = AccountContext(
        account="wx",
        options=WechatOptions.model_validate(raw),
        http=http,
        clock=clock or Clock(),
        tokens=tokens if tokens is not None else FakeTokens(),
        log=logging.getLogger("test.wechat"),
        base_url=PORTAL,
        confirm_now=confirm_now or Confirmations(),
    )
    return WechatAdapter(ctx)


def outgoing(
    kind: str = "general",
    *,
    title: str = "我局开展安全生产月活动",
    body: str = "<p>6月，我局开展安全生产月活动。</p>",
    fields: dict[str, Any] | None = None,
    key: str = "key-0001",
    notice_id: int = 7,
) -> OutgoingPost:
    notice = NoticeView(
        id=notice_id,
        kind=kind,
        title=title,
        body="正文",
        summary=None,
        table=None,
        fields=fields or {},
        urgent=kind == "weather_warning",
        publish_at=None,
        created_at=NOW,
    )
    rendered = Rendered(Format.HTML, {"title": title, "digest": "摘要", "body": body})
    return OutgoingPost(
        delivery_id=notice_id,
        account="wx",
        idempotency_key=key,
        notice=notice,
        rendered=rendered,
        attempt=1,
    )


# Red: only red warnings are mass-sent by default (issue 11; test_followups_wechat.py has orange)
WARNING_FIELDS = {"signal": "暴雨", "color": "红色", "issuer": "滨江市气象台"}
ORANGE_FIELDS = {**WARNING_FIELDS, "color": "橙色"}


def body_of(call: Any) -> Any:
    return json.loads(call.request.content)


def rotate_tokens(wx: respx.MockRouter) -> None:
    """The token route hands out T1, then T2 (after a refresh)."""
    wx["token"].side_effect = [
        httpx.Response(200, json={"access_token": t, "expires_in": 7200}) for t in ("T1", "T2")
    ]


def expired_then(reply: dict[str, Any], errmsg: str = "access_token expired") -> list[Any]:
    """A route's answers: WeChat's 42001 (token expired) once, then ``reply``."""
    return [
        httpx.Response(200, json={"errcode": 42001, "errmsg": errmsg}),
        httpx.Response(200, json=reply),
    ]


def token_of(call: Any) -> str:
    return str(call.request.url.params["access_token"])


@pytest.fixture
async def wx() -> AsyncIterator[respx.MockRouter]:
    """The WeChat API as respx routes answering the happy path; tests override single routes."""
    with respx.mock(base_url=API, assert_all_called=False) as router:
        router.post("/cgi-bin/stable_token", name="token").respond(
            json={"access_token": "T1", "expires_in": 7200}
        )
        router.post("/cgi-bin/material/add_material", name="cover").respond(
            json={"media_id": "THUMB_MID", "url": "http://mmbiz.qpic.cn/x/0"}
        )
        router.post("/cgi-bin/media/uploadimg", name="uploadimg").respond(
            json={"url": "http://mmbiz.qpic.cn/y/0", "errcode": 0, "errmsg": "ok"}
        )
        router.post("/cgi-bin/draft/add", name="draft").respond(json={"media_id": "DRAFT_MID"})
        router.post("/cgi-bin/freepublish/submit", name="submit").respond(
            json={
                "errcode": 0,
                "errmsg": "ok",
                "publish_id": "2247503051",
                "msg_data_id": "2247503051",
            }
        )
        router.post("/cgi-bin/message/mass/sendall", name="sendall").respond(
            json={
                "errcode": 0,
                "errmsg": "send job submission success",
                "msg_id": 34182,
                "msg_data_id": 206227730,
            }
        )
        yield router


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


# -- capabilities ------------------------------------------------------------------------


def test_capabilities_declare_wechat_rules(http: httpx.AsyncClient) -> None:
    caps = make_adapter(http).capabilities
    assert caps.formats == (Format.HTML,)
    assert caps.parts == ("title", "digest", "body")
    limits = {(limit.part, limit.unit): limit.max for limit in caps.limits}
    assert limits == {
        ("title", "字"): 32,
        ("digest", "字"): 128,
        ("body", "字"): 19_999,
        ("body", "字节"): 1024 * 1024 - 1,
    }
    assert caps.idempotency is Idempotency.LOOKUP
    assert caps.publish_mode is PublishMode.TWO_PHASE
    assert caps.max_concurrency == 2
    assert caps.metrics == ("reads", "shares", "likes")
    assert caps.metrics_lag_seconds == 86_400


# -- the publish path --------------------------------------------------------------------


async def test_publish_uploads_cover_drafts_and_submits(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    adapter = make_adapter(http)
    result = await adapter.publish(outgoing())

    assert result == PublishResult(
        remote_id="2247503051",
        confirming=True,
        confirm_after=5.0,
        detail={
            "media_id": "DRAFT_MID",
            "published_on": "2026-07-01",
            "mode": "freepublish",
            "publish_id": "2247503051",
            "msg_data_id": "2247503051",
        },
    )
    token = wx["token"].calls.last.request
    assert json.loads(token.content) == {
        "grant_type": "client_credential",
        "appid": APPID,
        "secret": "app-secret",
        "force_refresh": False,
    }
    cover = wx["cover"].calls.last.request
    assert cover.url.params["type"] == "image"
    assert b'name="media"; filename="cover-general.png"' in cover.content
    draft = wx["draft"].calls.last.request
    assert draft.headers["content-type"] == "application/json"
    assert "滨江应急管理局".encode() in draft.content  # UTF-8, not \\u escapes
    (article,) = json.loads(draft.content)["articles"]
    assert article == {
        "article_type": "news",
        "title": "我局开展安全生产月活动",
        "author": "滨江应急管理局",
        "digest": "摘要",
        "content": "<p>6月，我局开展安全生产月活动。</p>",
        "content_source_url": f"{PORTAL}/portal/notices/7?k=key-0001",
        "need_open_comment": 0,
        "only_fans_can_comment": 0,
        "thumb_media_id": "THUMB_MID",
    }
    assert body_of(wx["submit"].calls.last) == {"media_id": "DRAFT_MID"}
    assert all(token_of(c) == "T1" for c in (*wx["draft"].calls, *wx["submit"].calls))
    assert not wx["uploadimg"].called and not wx["sendall"].called


async def test_cover_and_token_are_fetched_once_for_every_worker(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    tokens = FakeTokens()  # the database both workers share
    first, second = make_adapter(http, tokens), make_adapter(http, tokens)
    await first.publish(outgoing(key="a"))
    await second.publish(outgoing(key="b"))
    assert wx["token"].call_count == 1
    assert wx["cover"].call_count == 1
    assert tokens.values[("wx", "access_token")] == ("T1", NOW + timedelta(seconds=7200))


async def test_a_token_expiring_within_five_minutes_is_fetched_again(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    tokens = FakeTokens()
    adapter = make_adapter(http, tokens, clock)
    await adapter.publish(outgoing(key="a"))
    clock.current = NOW + timedelta(seconds=7200 - 301)
    await adapter.publish(outgoing(key="b"))
    assert wx["token"].call_count == 1
    clock.current = NOW + timedelta(seconds=7200 - 299)
    await adapter.publish(outgoing(key="c"))
    assert wx["token"].call_count == 2
    assert all(body_of(c)["force_refresh"] is False for c in wx["token"].calls)


async def test_each_kind_and_signal_colour_gets_its_own_cover(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    adapter = make_adapter(http, mass_send=False)
    await adapter.publish(outgoing("weather_warning", fields=ORANGE_FIELDS))
    await adapter.publish(outgoing("weather_warning", fields={**WARNING_FIELDS, "color": "红"}))
    await adapter.publish(outgoing("penalty_disclosure"))
    await adapter.publish(outgoing("weather_warning", fields=ORANGE_FIELDS))
    names = [re.search(rb'filename="([^"]+)"', c.request.content)[1] for c in wx["cover"].calls]  # type: ignore[index]
    assert names == [
        b"cover-weather_warning-orange.png",
        b"cover-weather_warning-red.png",
        b"cover-penalty_disclosure.png",
    ]


@pytest.mark.parametrize("colour", [*SIGNAL_COLOURS, "橙", "紫色", None])
@pytest.mark.parametrize("kind", ["weather_warning", "general", "approval_list"])
async def test_every_cover_is_uploaded_under_an_ascii_file_name(
    wx: respx.MockRouter, http: httpx.AsyncClient, kind: str, colour: str | None
) -> None:
    fields = {**WARNING_FIELDS, "color": colour} if colour else {}
    await make_adapter(http, mass_send=False).publish(outgoing(kind, fields=fields))
    name = re.search(rb'filename="([^"]+)"', wx["cover"].calls.last.request.content)[1]  # type: ignore[index]
    assert re.fullmatch(rb"cover-[a-z_]+(-(blue|yellow|orange|red))?\.png", name), name


def _pixels(png: bytes) -> tuple[int, int, bytes]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data)
        if kind == b"IHDR":
            size = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    return size[0], size[1], zlib.decompress(idat)


def test_drawn_cover_is_a_valid_png_in_the_signal_colour() -> None:
    width, height, raw = _pixels(draw_cover(SIGNAL_COLOURS["红色"]))
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(raw) == height * (1 + 3 * width)
    assert raw[1:4] == bytes(SIGNAL_COLOURS["红色"])  # first pixel of the first row


async def test_a_configured_cover_file_is_used_and_uploaded_again_when_changed(
    wx: respx.MockRouter, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    cover = tmp_path / "logo.jpg"
    cover.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 100)
    adapter = make_adapter(http, covers={"_default": str(cover)})
    await adapter.publish(outgoing(key="a"))
    await adapter.publish(outgoing(key="b"))
    assert wx["cover"].call_count == 1
    assert b"Content-Type: image/jpeg" in wx["cover"].calls.last.request.content
    cover.write_bytes(b"\xff\xd8\xff\xe0" + b"1" * 100)
    await adapter.publish(outgoing(key="c"))
    assert wx["cover"].call_count == 2


async def test_a_cover_deleted_from_the_library_is_uploaded_again(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wx["draft"].side_effect = [
        httpx.Response(200, json={"errcode": 40007, "errmsg": "invalid media_id"}),
        httpx.Response(200, json={"media_id": "DRAFT_MID"}),
    ]
    tokens = FakeTokens()
    await tokens.put(
        "wx",
        "cover:general",
        json.dumps(
            {
                "media_id": "GONE",
                "digest": hashlib.sha256(draw_cover((0xB7, 0x1C, 0x1C))).hexdigest()[:16],
            }
        ),
        None,
    )
    result = await make_adapter(http, tokens).publish(outgoing())
    assert result.confirming
    thumbs = [body_of(c)["articles"][0]["thumb_media_id"] for c in wx["draft"].calls]
    assert thumbs == ["GONE", "THUMB_MID"]


async def test_inline_images_are_uploaded_and_foreign_ones_refused(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    import base64

    png = base64.b64encode(draw_cover((1, 2, 3), 4, 4)).decode()
    body = f'<p>现场</p><img src="data:image/png;base64,{png}" style="width:100%">'
    await make_adapter(http).publish(outgoing(body=body))
    content = body_of(wx["draft"].calls.last)["articles"][0]["content"]
    assert content == '<p>现场</p><img src="http://mmbiz.qpic.cn/y/0" style="width:100%">'
    with pytest.raises(PermanentError, match="不在本站"):
        await make_adapter(http).publish(outgoing(body='<img src="https://evil.example/a.png">'))


async def test_a_body_pushed_over_the_limit_by_wechat_image_urls_is_never_sent(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    png = draw_cover((1, 2, 3), 4, 4)
    long_url = "http://mmbiz.qpic.cn/mmbiz_png/" + "x" * 90 + "/0?wx_fmt=png"
    wx["uploadimg"].respond(json={"url": long_url, "errcode": 0, "errmsg": "ok"})
    images = "".join(f'<img src="/files/{n}.png">' for n in range(5))
    filler = "预" * (19_999 - len(images) - len("<p></p>"))
    body = f"<p>{filler}</p>{images}"
    assert len(body) == 19_999  # fits at submit
    with respx.mock(assert_all_called=False) as site:
        site.get(url__regex=rf"{re.escape(PORTAL)}/files/\d\.png").respond(
            content=png, headers={"Content-Type": "image/png"}
        )
        with pytest.raises(PermanentError) as caught:
            await make_adapter(http).publish(outgoing(body=body))
    message = str(caught.value)
    assert "\n" not in message
    assert f"共 {len(body) + 5 * (len(long_url) - len('/files/0.png'))} 字" in message
    assert "超过微信图文正文上限 19999 字" in message and "未发送" in message
    assert not wx["draft"].called and not wx["submit"].called
    # the same body with WeChat's image URLs taken into account fits once trimmed
    trimmed = f"<p>{filler[: -5 * len(long_url)]}</p>{images}"
    with respx.mock(assert_all_called=False) as site:
        site.get(url__regex=rf"{re.escape(PORTAL)}/files/\d\.png").respond(
            content=png, headers={"Content-Type": "image/png"}
        )
        await make_adapter(http).publish(outgoing(body=trimmed))
    sent = body_of(wx["draft"].calls.last)["articles"][0]["content"]
    assert len(sent) <= 19_999 and sent.count(long_url) == 5


# -- confirm ------------------------------------------------------------------------------


def ref_of(result: PublishResult, delivery_id: int = 7) -> PostRef:
    return PostRef(
        delivery_id=delivery_id,
        remote_id=result.remote_id,
        url=result.url,
        idempotency_key="key-0001",
        posted_at=None,
        detail=result.detail,
    )


async def test_confirm_waits_while_publishing_then_posts_with_the_article_url(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    get = wx.post("/cgi-bin/freepublish/get").mock(
        side_effect=[
            httpx.Response(
                200, json={"publish_id": "2247503051", "publish_status": 1, "fail_idx": []}
            ),
            httpx.Response(
                200,
                json={
                    "publish_id": "2247503051",
                    "publish_status": 0,
                    "article_id": "AID",
                    "article_detail": {
                        "count": 1,
                        "item": [{"idx": 1, "article_url": "https://mp.weixin.qq.com/s/abc"}],
                    },
                    "fail_idx": [],
                },
            ),
        ]
    )
    adapter = make_adapter(http)
    started = await adapter.publish(outgoing())
    waiting = await adapter.confirm(ref_of(started))
    assert waiting.confirming and waiting.remote_id == "2247503051"
    assert waiting.confirm_after == 5.0
    done = await adapter.confirm(ref_of(waiting))
    assert body_of(get.calls.last) == {"publish_id": "2247503051"}
    assert not done.confirming
    assert done.remote_id == "2247503051"
    assert done.url == "https://mp.weixin.qq.com/s/abc"
    assert done.detail["article_id"] == "AID"
    assert done.detail["msg_data_id"] == "2247503051"  # kept for metrics
    assert "polls" not in done.detail


@pytest.mark.parametrize(
    ("status", "named"),
    [
        (2, "原创声明失败"),
        (3, "常规失败"),
        (4, "平台审核不通过"),
        (5, "用户删除了所有文章"),
        (6, "系统封禁了所有文章"),
    ],
)
async def test_confirm_names_a_failed_publish(
    wx: respx.MockRouter, http: httpx.AsyncClient, status: int, named: str
) -> None:
    wx.post("/cgi-bin/freepublish/get").respond(
        json={"publish_id": "1", "publish_status": status, "fail_idx": [1]}
    )
    ref = PostRef(7, "1", None, "k", None, {"mode": "freepublish", "publish_id": "1"})
    with pytest.raises(PermanentError, match=named):
        await make_adapter(http).confirm(ref)


async def test_confirm_refreshes_a_rejected_token_itself(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    rotate_tokens(wx)
    get = wx.post("/cgi-bin/freepublish/get").mock(
        side_effect=expired_then({"publish_id": "1", "publish_status": 1})
    )
    ref = PostRef(7, "1", None, "k", None, {"mode": "freepublish", "publish_id": "1"})
    result = await make_adapter(http).confirm(ref)
    assert result.confirming
    assert [token_of(c) for c in get.calls] == ["T1", "T2"]


# -- errors -------------------------------------------------------------------------------

ERROR_CASES = [
    # (endpoint that fails, reply, expected class, text the user sees)
    ("draft", {"errcode": -1, "errmsg": "system error"}, TransientError, "系统繁忙"),
    ("draft", {"errcode": 40001, "errmsg": "invalid credential"}, AuthExpired, "40001"),
    ("draft", {"errcode": 40014, "errmsg": "invalid access_token"}, AuthExpired, "40014"),
    ("draft", {"errcode": 42001, "errmsg": "access_token expired"}, AuthExpired, "42001"),
    (
        "draft",
        {"errcode": 45009, "errmsg": "reach max api daily quota limit"},
        RateLimited,
        "今日上限",
    ),
    (
        "draft",
        {"errcode": 45011, "errmsg": "api minute-quota reach limit"},
        RateLimited,
        "下一分钟",
    ),
    (
        "draft",
        {"errcode": 45166, "errmsg": "invalid content hint: [x]"},
        PermanentError,
        "invalid content hint: [x]",
    ),
    ("draft", {"errcode": 45003, "errmsg": "title size out of limit"}, PermanentError, "标题"),
    ("draft", {"errcode": 48001, "errmsg": "api unauthorized"}, PermanentError, "api unauthorized"),
    ("draft", {"errcode": 48004, "errmsg": "api forbidden"}, PermanentError, "违规"),
    (
        "draft",
        {"errcode": 98765, "errmsg": "something new"},
        PermanentError,
        "98765: something new",
    ),
    ("cover", {"errcode": 40005, "errmsg": "invalid file type"}, PermanentError, "jpg/png"),
    (
        "submit",
        {"errcode": 53503, "errmsg": "draft check failed"},
        PermanentError,
        "未通过发布检查",
    ),
    ("submit", {"errcode": 53501, "errmsg": "publish too frequent"}, RateLimited, "频繁"),
    ("submit", {"errcode": 48001, "errmsg": "api unauthorized"}, PermanentError, "认证"),
]


def test_the_token_codes_named_as_a_set_are_the_ones_that_refresh() -> None:
    refreshing = {code for code, known in ERRORS.items() if known.error is AuthExpired}
    assert refreshing == TOKEN_INVALID_CODES == {40001, 40014, 42001}


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: f"{c[0]}-{c[1]['errcode']}")
async def test_each_wechat_error_code_takes_its_class(
    wx: respx.MockRouter, http: httpx.AsyncClient, case: tuple[Any, ...]
) -> None:
    route, reply, error, text = case
    wx[route].side_effect = None
    wx[route].return_value = httpx.Response(200, json=reply)
    with pytest.raises(ChannelError) as caught:
        await make_adapter(http).publish(outgoing())
    assert type(caught.value) is error
    assert caught.value.code == reply["errcode"]
    assert text in str(caught.value)


async def test_daily_quota_waits_until_beijing_midnight(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wx["draft"].respond(json={"errcode": 45009, "errmsg": "reach max api daily quota limit"})
    with pytest.raises(RateLimited) as caught:
        await make_adapter(http).publish(outgoing())
    # 14:00 in Beijing: ten hours (and a few seconds) to go
    assert 10 * 3600 <= caught.value.retry_after <= 10 * 3600 + 10


@pytest.mark.parametrize(
    ("route", "failure", "error"),
    [
        ("draft", httpx.Response(502, text="bad gateway"), TransientError),
        ("draft", httpx.ConnectError("refused"), TransientError),
        ("draft", httpx.ReadTimeout("slow"), OutcomeUnknown),
        ("submit", httpx.Response(502, text="bad gateway"), OutcomeUnknown),
        ("submit", httpx.Response(200, text="<html>oops</html>"), OutcomeUnknown),
        ("draft", httpx.Response(200, text="<html>oops</html>"), TransientError),
        ("submit", httpx.Response(429, headers={"retry-after": "7"}), RateLimited),
    ],
)
async def test_transport_trouble_is_safe_or_unknown_by_step(
    wx: respx.MockRouter,
    http: httpx.AsyncClient,
    route: str,
    failure: Any,
    error: type[ChannelError],
) -> None:
    wx[route].side_effect = [failure]
    with pytest.raises(ChannelError) as caught:
        await make_adapter(http).publish(outgoing())
    assert type(caught.value) is error


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (40013, "AppID 无效"),
        (40125, "AppSecret 无效"),
        (40164, "IP 白名单"),
        (61004, "IP 白名单"),
        (40243, "冻结"),
        (40001, "AppSecret 错误"),
    ],
)
async def test_check_names_wrong_credentials(
    wx: respx.MockRouter, http: httpx.AsyncClient, code: int, hint: str
) -> None:
    wx["token"].respond(json={"errcode": code, "errmsg": f"error {code}"})
    with pytest.raises(CredentialsInvalid, match=hint) as caught:
        await make_adapter(http).check()
    assert caught.value.code == code


async def test_check_passes_and_stores_the_token(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    tokens = FakeTokens()
    await make_adapter(http, tokens).check()
    assert tokens.values[("wx", "access_token")][0] == "T1"


# -- token expiry in the middle of a publish ---------------------------------------------


async def publish_like_the_worker(adapter: WechatAdapter, post: OutgoingPost) -> PublishResult:
    """What publisher.queue.worker does: on AuthExpired refresh once, then publish again."""
    try:
        return await adapter.publish(post)
    except AuthExpired:
        await adapter.refresh_credentials()
        return await adapter.publish(post)


async def test_token_expiring_mid_publish_is_refreshed_and_the_retry_succeeds(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    rotate_tokens(wx)
    wx["draft"].side_effect = expired_then({"media_id": "DRAFT_MID"}, "access_token expired rid: x")
    result = await publish_like_the_worker(make_adapter(http), outgoing())
    assert result.remote_id == "2247503051" and result.confirming
    assert [token_of(c) for c in wx["draft"].calls] == ["T1", "T2"]
    assert [body_of(c)["force_refresh"] for c in wx["token"].calls] == [False, False]
    assert wx["cover"].call_count == 1  # the cover from the first attempt is reused
    assert wx["submit"].call_count == 1


async def test_refresh_forces_a_new_token_only_when_wechat_hands_back_the_rejected_one(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    wx["token"].side_effect = lambda request: httpx.Response(
        200,
        json={
            "access_token": "T2" if json.loads(request.content)["force_refresh"] else "T1",
            "expires_in": 7000,
        },
    )
    wx["draft"].side_effect = [
        httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"}),
        httpx.Response(200, json={"media_id": "DRAFT_MID"}),
    ]
    adapter = make_adapter(http, clock=clock)
    await publish_like_the_worker(adapter, outgoing())
    assert [body_of(c)["force_refresh"] for c in wx["token"].calls] == [False, False, True]
    assert [token_of(c) for c in wx["draft"].calls] == ["T1", "T2"]
    # a second forced refresh within 30 s would break WeChat's rule: wait instead
    adapter.token.last_used = "T2"
    wx["token"].side_effect = lambda request: httpx.Response(
        200, json={"access_token": "T2", "expires_in": 7000}
    )
    clock.current += timedelta(seconds=10)
    with pytest.raises(RateLimited, match="30 秒") as caught:
        await adapter.refresh_credentials()
    assert caught.value.retry_after == pytest.approx(20)


# -- mass send for warnings ---------------------------------------------------------------


async def test_a_warning_is_mass_sent_to_followers_with_our_key(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    mass_get = wx.post("/cgi-bin/message/mass/get").mock(
        side_effect=[
            httpx.Response(200, json={"msg_id": 34182, "msg_status": "SENDING"}),
            httpx.Response(200, json={"msg_id": 34182, "msg_status": "SEND_SUCCESS"}),
        ]
    )
    tokens = FakeTokens()
    adapter = make_adapter(http, tokens)
    started = await adapter.publish(outgoing("weather_warning", fields=WARNING_FIELDS))
    assert body_of(wx["sendall"].calls.last) == {
        "filter": {"is_to_all": True},
        "mpnews": {"media_id": "DRAFT_MID"},
        "msgtype": "mpnews",
        "send_ignore_reprint": 1,
        "clientmsgid": "key-0001",
    }
    assert not wx["submit"].called
    assert started.confirming and started.remote_id == "34182"
    assert started.detail["msg_data_id"] == 206227730
    waiting = await adapter.confirm(ref_of(started))
    assert waiting.confirming
    await tokens.put("wx", "massurl:34182", "https://mp.weixin.qq.com/s/mass", None)
    done = await adapter.confirm(ref_of(waiting))
    assert body_of(mass_get.calls.last) == {"msg_id": 34182}
    assert (done.confirming, done.url) == (False, "https://mp.weixin.qq.com/s/mass")


async def test_a_warning_sent_before_under_the_same_key_counts_as_posted(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wx["sendall"].respond(json={"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": 1001})
    result = await make_adapter(http).publish(outgoing("weather_warning", fields=WARNING_FIELDS))
    assert (result.confirming, result.remote_id) == (False, "1001")
    assert "未重复推送" in (result.note or "")
    assert not wx["submit"].called


async def test_when_todays_mass_send_is_used_the_warning_is_published_without_push(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wx["sendall"].respond(json={"errcode": 45028, "errmsg": "has no masssend quota"})
    tokens = FakeTokens()
    adapter = make_adapter(http, tokens)
    first = await adapter.publish(outgoing("weather_warning", fields=WARNING_FIELDS, key="a"))
    assert first.note == QUOTA_NOTE == "今日群发次数已用完，本条已发布但未推送给关注者"
    assert first.confirming and first.remote_id == "2247503051"
    assert body_of(wx["submit"].calls.last) == {"media_id": "DRAFT_MID"}
    assert json.loads(tokens.values[("wx", "masssend:2026-07-01")][0])["exhausted"] is True
    # the next warning today goes straight to freepublish
    second = await adapter.publish(outgoing("weather_warning", fields=WARNING_FIELDS, key="b"))
    assert second.note == QUOTA_NOTE
    assert wx["sendall"].call_count == 1 and wx["submit"].call_count == 2
    # the note survives confirmation
    wx.post("/cgi-bin/freepublish/get").respond(
        json={
            "publish_id": "2247503051",
            "publish_status": 0,
            "article_id": "A",
            "article_detail": {"count": 1, "item": [{"idx": 1, "article_url": "u"}]},
        }
    )
    assert (await adapter.confirm(ref_of(second))).note == QUOTA_NOTE


async def test_after_one_mass_send_today_the_next_warning_is_published_without_push(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    adapter = make_adapter(http)
    await adapter.publish(outgoing("weather_warning", fields=WARNING_FIELDS, key="a"))
    second = await adapter.publish(outgoing("weather_warning", fields=WARNING_FIELDS, key="b"))
    assert wx["sendall"].call_count == 1
    assert second.note == QUOTA_NOTE


async def test_a_retried_warning_asks_wechat_even_when_the_quota_looks_used(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """The first try's sendall may have gone out with its reply lost: only WeChat knows."""
    wx["sendall"].side_effect = [
        httpx.ReadTimeout("reply lost"),
        httpx.Response(200, json={"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": 5}),
    ]
    adapter = make_adapter(http)
    warning = outgoing("weather_warning", fields=WARNING_FIELDS, key="w1")
    with pytest.raises(OutcomeUnknown):
        await adapter.publish(warning)
    # a person retries it from needs_review; another warning used today's quota meanwhile
    await adapter.ctx.tokens.put(
        "wx", "masssend:2026-07-01", json.dumps({"sent": 1, "keys": ["key-x", "w1"]}), None
    )
    result = await adapter.publish(warning)
    assert (result.confirming, result.remote_id) == (False, "5")
    assert [body_of(c)["clientmsgid"] for c in wx["sendall"].calls] == ["w1", "w1"]
    assert not wx["submit"].called


@pytest.mark.parametrize(
    ("kind", "options"),
    [("penalty_disclosure", {}), ("weather_warning", {"mass_send": False})],
)
async def test_only_warnings_are_mass_sent_and_only_when_enabled(
    wx: respx.MockRouter, http: httpx.AsyncClient, kind: str, options: dict[str, Any]
) -> None:
    result = await make_adapter(http, **options).publish(outgoing(kind, fields=WARNING_FIELDS))
    assert not wx["sendall"].called
    assert result.note is None and wx["submit"].called


async def test_a_failed_mass_send_is_named(wx: respx.MockRouter, http: httpx.AsyncClient) -> None:
    wx.post("/cgi-bin/message/mass/get").respond(json={"msg_id": 1, "msg_status": "SEND_FAIL"})
    ref = PostRef(7, "1", None, "k", None, {"mode": "masssend", "msg_id": 1})
    with pytest.raises(PermanentError, match="群发失败"):
        await make_adapter(http).confirm(ref)


async def test_a_warning_is_mass_sent_with_the_drafts_own_id_when_wechat_takes_it(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    news = wx.post("/cgi-bin/media/uploadnews", name="uploadnews")
    result = await make_adapter(http).publish(outgoing("weather_warning", fields=WARNING_FIELDS))
    assert body_of(wx["sendall"].calls.last)["mpnews"] == {"media_id": "DRAFT_MID"}
    assert result.confirming and result.remote_id == "34182"
    assert not news.called


DRAFT_NEWS_ITEM = {
    "title": "暴雨橙色预警",
    "author": "滨江应急管理局",
    "digest": "摘要",
    "content": "<p>正文</p>",
    "content_source_url": f"{PORTAL}/portal/notices/7?k=key-0001",
    "thumb_media_id": "THUMB_MID",
    "show_cover_pic": 0,
    "need_open_comment": 0,
    "only_fans_can_comment": 0,
    "url": "http://mp.weixin.qq.com/s?preview=1",
}


async def test_a_draft_id_refused_with_40007_is_mass_sent_as_uploadnews_under_the_same_key(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    ok = {"errcode": 0, "errmsg": "send job submission success", "msg_id": 34182, "msg_data_id": 9}
    wx["sendall"].side_effect = [
        httpx.Response(200, json={"errcode": 40007, "errmsg": "invalid media_id"}),
        httpx.Response(200, json=ok),
    ]
    draft_get = wx.post("/cgi-bin/draft/get").respond(json={"news_item": [DRAFT_NEWS_ITEM]})
    news = wx.post("/cgi-bin/media/uploadnews").respond(
        json={"type": "news", "media_id": "NEWS_MID", "created_at": 1}
    )
    delete = wx.post("/cgi-bin/draft/delete").respond(json={"errcode": 0, "errmsg": "ok"})
    result = await make_adapter(http).publish(outgoing("weather_warning", fields=WARNING_FIELDS))
    assert (result.confirming, result.remote_id, result.note) == (True, "34182", None)
    assert body_of(draft_get.calls.last) == {"media_id": "DRAFT_MID"}
    (article,) = body_of(news.calls.last)["articles"]
    assert article == {
        **{k: v for k, v in DRAFT_NEWS_ITEM.items() if k != "url"},
        "show_cover_pic": 1,
    }
    first, second = (body_of(c) for c in wx["sendall"].calls)
    assert first["mpnews"] == {"media_id": "DRAFT_MID"}
    assert second == {**first, "mpnews": {"media_id": "NEWS_MID"}}  # same clientmsgid
    assert body_of(delete.calls.last) == {"media_id": "DRAFT_MID"}
    assert not wx["submit"].called


async def test_a_40007_for_a_draft_that_is_gone_is_raised_and_nothing_else_is_sent(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wx["sendall"].respond(json={"errcode": 40007, "errmsg": "invalid media_id"})
    wx.post("/cgi-bin/draft/get").respond(json={"errcode": 40007, "errmsg": "invalid media_id"})
    news = wx.post("/cgi-bin/media/uploadnews")
    with pytest.raises(PermanentError, match="40007"):
        await make_adapter(http).publish(outgoing("weather_warning", fields=WARNING_FIELDS))
    assert wx["sendall"].call_count == 1 and not news.called and not wx["submit"].called


async def test_the_sandbox_refuses_a_cover_file_name_that_is_not_ascii() -> None:
    with serve(WechatAdapter.sandbox()) as base:
        async with httpx.AsyncClient(timeout=5) as client:
            adapter = make_adapter(client, clock=SystemClock(), api_base=base)
            png = draw_cover((1, 2, 3), 10, 10)
            token = {"access_token": await adapter.token.get(), "type": "image"}
            url = f"{base}/cgi-bin/material/add_material"
            for name, errcode in (("cover-橙色.png", 40005), ("cover-orange.png", 0)):
                files = {"media": (name, png, "image/png")}
                reply = await client.post(url, params=token, files=files)
                assert reply.json().get("errcode", 0) == errcode
            # and the adapter's own covers get through
            started = await adapter.publish(outgoing("weather_warning", fields=WARNING_FIELDS))
            assert started.detail["mode"] == "masssend"


async def test_the_sandbox_mass_sends_through_uploadnews_when_it_refuses_draft_ids() -> None:
    with serve(WechatAdapter.sandbox()) as base:
        async with httpx.AsyncClient(timeout=5) as client:
            await client.put(
                f"{base}/faults", json={"publish_seconds": 0.1, "mass_send_drafts": False}
            )
            adapter = make_adapter(client, clock=SystemClock(), api_base=base)
            warning = outgoing("weather_warning", fields=WARNING_FIELDS, title="暴雨橙色预警")
            started = await adapter.publish(warning)
            assert started.detail["mode"] == "masssend"
            await confirm_until_posted(adapter, started)
            received = (await client.get(f"{base}/posts")).json()
            sends = [p for p in received["posts"] if p["path"] == "/cgi-bin/message/mass/sendall"]
            assert [p["errcode"] for p in sends] == [40007, 0]
            assert sends[1]["body"]["mpnews"]["media_id"].startswith("NEWS_")
            (article,) = received["articles"]
            assert article["title"] == "暴雨橙色预警" and article["notified"] is True
            drafts = await client.post(
                f"{base}/cgi-bin/draft/batchget",
                params={"access_token": await adapter.token.get()},
                json={"offset": 0, "count": 20},
            )
            assert drafts.json()["total_count"] == 0  # deleted, as a mass send would have
            # the same warning again: WeChat knows its clientmsgid, nothing is pushed twice
            again = await adapter.publish(warning)
            assert not again.confirming and again.remote_id == started.remote_id


# -- metrics ------------------------------------------------------------------------------


async def test_metrics_join_datacube_rows_by_msg_data_id_t_plus_one(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    datacube = wx.post("/datacube/getarticletotaldetail").respond(
        json={
            "list": [
                {
                    "ref_date": "2026-06-29",
                    "msgid": "5001_1",
                    "publish_type": 1,
                    "detail_list": [
                        {
                            "stat_date": "2026-06-29",
                            "read_user": 40,
                            "share_user": 2,
                            "like_user": 1,
                        },
                        {
                            "stat_date": "2026-06-30",
                            "read_user": 95,
                            "share_user": 7,
                            "like_user": 3,
                        },
                    ],
                },
                {
                    "ref_date": "2026-06-29",
                    "msgid": "9999_1",
                    "detail_list": [{"stat_date": "2026-06-30", "read_user": 1}],
                },
            ],
            "is_delay": False,
        }
    )
    posted = datetime(2026, 6, 29, 2, 0, tzinfo=UTC)
    refs = [
        PostRef(1, "p1", "u1", "k1", posted, {"msg_data_id": "5001", "published_on": "2026-06-29"}),
        PostRef(2, "p2", "u2", "k2", NOW, {"msg_data_id": "5002", "published_on": "2026-07-01"}),
        PostRef(3, "p3", "u3", "k3", posted, {}),  # nothing to join on
    ]
    samples = await make_adapter(http).fetch_metrics(refs)
    assert body_of(datacube.calls.last) == {"begin_date": "2026-06-29", "end_date": "2026-06-29"}
    assert datacube.call_count == 1  # today's post waits for tomorrow
    as_of = datetime(2026, 7, 1, 0, 0, tzinfo=CHINA)
    source = "wechat datacube/getarticletotaldetail"
    assert samples == [
        MetricSample(1, "reads", 95, as_of, source),
        MetricSample(1, "shares", 7, as_of, source),
        MetricSample(1, "likes", 3, as_of, source),
    ]


# -- limits at submit, through intake -----------------------------------------------------


@pytest.fixture
async def intake(tmp_path: Path) -> AsyncIterator[Intake]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/publisher.db",
        base_url=PORTAL,
        templates_dir=REPO_ROOT / "templates",
        accounts={
            "wx": {
                "type": "wechat",
                "appid": APPID,
                "secret": "s",
                "display_name": "滨江应急",
                "author": "滨江市应急管理局",
            }
        },
    )
    async with open_intake(settings, Clock(), FakeTokens()) as intake:
        yield intake


WARNING = {
    "kind": "weather_warning",
    "title": "滨江市气象台发布暴雨橙色预警信号",
    "body": "预计未来3小时内，滨江区、临江县将出现50毫米以上降雨。",
    "fields": {
        **ORANGE_FIELDS,
        "area": ["滨江区", "临江县"],
        "issued_at": "2026-07-01T14:00:00+08:00",
        "advice": ["停止露天作业", "危险地带人员撤离"],
    },
}


async def test_a_warning_renders_for_wechat_within_every_limit(intake: Intake) -> None:
    preview = intake.preview(parse_notice(WARNING), intake.channels.get("wx"))
    assert preview.violations == []
    parts = preview.rendered.parts
    assert parts["title"] == "滨江市气象台发布暴雨橙色预警信号"
    assert parts["digest"] == "滨江市气象台发布暴雨橙色预警信号，影响滨江区、临江县。请注意防范。"
    body = parts["body"]
    assert "暴雨橙色预警信号</p>" in body and "color:#e8700a" in body
    assert "滨江市气象台　2026年7月1日14时发布" in body
    assert '<p style="margin:0 0 8px;">2. 危险地带人员撤离</p>' in body
    assert "<script" not in body and "class=" not in body


async def test_a_penalty_table_is_an_inline_styled_table_and_escaped(intake: Intake) -> None:
    notice = parse_notice(
        {
            "kind": "penalty_disclosure",
            "title": "2026年第三季度行政处罚结果公开",
            "body": "现将结果公开如下。",
            "table": {
                "columns": ["决定书文号", "当事人", "罚款（元）"],
                "rows": [["滨应急罚〔2026〕1号", "<script>x</script>化工公司", 30000]],
            },
        }
    )
    body = intake.preview(notice, intake.channels.get("wx")).rendered.body
    assert "border-collapse:collapse" in body
    assert (
        '<th style="border:1px solid #bbb;padding:4px 6px;min-width:5em;'
        'background-color:#f2f2f2;">当事人</th>' in body
    )
    assert "&lt;script&gt;x&lt;/script&gt;化工公司" in body
    assert 'text-align:right;">30000</td>' in body
    assert "<script" not in body


async def test_a_title_over_32_characters_is_refused_at_submit_naming_wechat(
    intake: Intake,
) -> None:
    notice = parse_notice({**WARNING, "title": "滨江市气象台" + "发布暴雨橙色预警信号" * 3})
    with pytest.raises(LimitViolationError) as caught:
        await intake.submit(notice, source="test", actor="duty")
    (violation,) = caught.value.violations
    assert (violation.account, violation.part, violation.limit) == ("wx", "title", 32)
    assert "wx: title: 36 字，超过上限 32 字" in str(caught.value)


async def test_a_table_too_long_for_an_article_is_refused_at_submit(intake: Intake) -> None:
    rows = [[f"滨应急罚〔2026〕{n}号", f"滨江化工{n}号有限公司", 30000] for n in range(300)]
    notice = parse_notice(
        {
            "kind": "penalty_disclosure",
            "title": "处罚结果公开",
            "body": "如下。",
            "table": {"columns": ["文号", "当事人", "罚款"], "rows": rows},
        }
    )
    with pytest.raises(LimitViolationError) as caught:
        await intake.submit(notice, source="test", actor="editor")
    assert [(v.part, v.limit) for v in caught.value.violations] == [("body", 19_999)]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"encoding_aes_key": "short"}, "43 个字符"),
        ({"encoding_aes_key": "!" * 43, "callback_token": "t"}, "43 个字符"),
        ({"encoding_aes_key": AES_KEY}, "也要设置 callback_token"),
        ({"author": "滨江市应急管理局安全生产监督管理处办公室"}, "author"),
        ({"covers": {"weather": "/etc/hostname"}}, "未知的通知类型"),
        ({"covers": {"general": "/no/such/cover.png"}}, "covers.general"),
    ],
)
def test_bad_account_settings_are_named(options: dict[str, Any], problem: str) -> None:
    raw = {"type": "wechat", "appid": APPID, "secret": "s", **options}
    with pytest.raises(ConfigError, match=problem):
        build_options("wx", raw, PORTAL)


def test_a_sandbox_account_cannot_point_at_the_real_api() -> None:
    raw = {"type": "wechat", "appid": APPID, "secret": "s", "sandbox": True}
    with pytest.raises(ConfigError, match="_sandbox/wechat"):
        build_options("wx", raw, PORTAL)
    _, options = build_options("wx", {**raw, "api_base": "{base_url}/_sandbox/wechat"}, PORTAL)
    assert isinstance(options, WechatOptions)
    assert options.api_base == f"{PORTAL}/_sandbox/wechat"
    assert options.model_dump(mode="json")["secret"] == "**********"  # templates see no secret


# -- the callback -------------------------------------------------------------------------


def signed(timestamp: str = str(int(NOW.timestamp())), nonce: str = "n0nce") -> dict[str, str]:
    signature = hashlib.sha1("".join(sorted([CALLBACK_TOKEN, timestamp, nonce])).encode())
    return {"signature": signature.hexdigest(), "timestamp": timestamp, "nonce": nonce}


PUBLISH_FINISHED = """<xml><ToUserName><![CDATA[gh_4d00ed8d6399]]></ToUserName>
<FromUserName><![CDATA[oV5CrjpxgaGXNHIQigzNlgLTnwic]]></FromUserName>
<CreateTime>1481013459</CreateTime><MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[PUBLISHJOBFINISH]]></Event>
<PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status>
<article_id><![CDATA[b5O2OUs25HBxRceL7hfReg]]></article_id>
<article_detail><count>1</count><item><idx>1</idx>
<article_url><![CDATA[https://mp.weixin.qq.com/s/abc]]></article_url></item></article_detail>
</PublishEventInfo></xml>"""


@pytest.fixture
async def callback() -> AsyncIterator[tuple[httpx.AsyncClient, Confirmations, FakeTokens]]:
    confirmations, tokens = Confirmations(), FakeTokens()
    async with httpx.AsyncClient() as unused:
        adapter = make_adapter(
            unused,
            tokens,
            confirm_now=confirmations,
            callback_token=CALLBACK_TOKEN,
            encoding_aes_key=AES_KEY,
        )
        app = FastAPI()
        app.include_router(adapter.routes())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, confirmations, tokens


async def test_callback_url_check_echoes_only_when_signed(
    callback: tuple[httpx.AsyncClient, Confirmations, FakeTokens],
) -> None:
    client, _, _ = callback
    good = await client.get("/callbacks/wechat/wx", params={**signed(), "echostr": "e42"})
    assert (good.status_code, good.text) == (200, "e42")
    bad = await client.get(
        "/callbacks/wechat/wx", params={**signed(), "signature": "0" * 40, "echostr": "e42"}
    )
    assert (bad.status_code, bad.text) == (403, "forbidden")


async def test_an_encrypted_publish_finished_push_confirms_the_delivery_now(
    callback: tuple[httpx.AsyncClient, Confirmations, FakeTokens],
) -> None:
    client, confirmations, _ = callback
    crypto = WeChatCrypto(CALLBACK_TOKEN, AES_KEY, APPID)
    query = signed()
    envelope = crypto.encrypt_message(PUBLISH_FINISHED, query["nonce"], query["timestamp"])
    msg_signature = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", envelope)[1]  # type: ignore[index]
    encrypted_only = re.sub(r"<MsgSignature>.*?</Nonce>", "", envelope, flags=re.S)
    reply = await client.post(
        "/callbacks/wechat/wx",
        content=encrypted_only.encode(),
        params={
            **query,
            "encrypt_type": "aes",
            "msg_signature": msg_signature,
            "openid": "oV5Crjpx",
        },
    )
    assert (reply.status_code, reply.text) == (200, "success")
    assert confirmations.asked == ["2247503051"]
    # the same body with a forged message signature is refused without detail
    forged = await client.post(
        "/callbacks/wechat/wx",
        content=encrypted_only.encode(),
        params={**query, "encrypt_type": "aes", "msg_signature": "f" * 40},
    )
    assert (forged.status_code, forged.text) == (403, "forbidden")
    assert confirmations.asked == ["2247503051"]


@pytest.fixture
async def plain_callback() -> AsyncIterator[tuple[httpx.AsyncClient, Confirmations, FakeTokens]]:
    """An account in plain mode: a callback token, no EncodingAESKey."""
    confirmations, tokens = Confirmations(), FakeTokens()
    async with httpx.AsyncClient() as unused:
        adapter = make_adapter(
            unused, tokens, confirm_now=confirmations, callback_token=CALLBACK_TOKEN
        )
        app = FastAPI()
        app.include_router(adapter.routes())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, confirmations, tokens


async def test_a_plain_mass_send_finished_push_keeps_the_article_url(
    plain_callback: tuple[httpx.AsyncClient, Confirmations, FakeTokens],
) -> None:
    client, confirmations, tokens = plain_callback
    xml = """<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o]]>
</FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>34182</MsgID>
<Status><![CDATA[send success]]></Status><TotalCount>100</TotalCount>
<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx>
<ArticleUrl><![CDATA[https://mp.weixin.qq.com/s/mass]]></ArticleUrl></item></ResultList>
</ArticleUrlResult></xml>"""
    reply = await client.post("/callbacks/wechat/wx", content=xml.encode(), params=signed())
    assert reply.text == "success"
    assert confirmations.asked == ["34182"]
    assert tokens.values[("wx", "massurl:34182")][0] == "https://mp.weixin.qq.com/s/mass"
    unsigned = await client.post("/callbacks/wechat/wx", content=xml.encode())
    assert unsigned.status_code == 403


def mass_finished(
    msg_id: str = "2247490003", url: str = "https://mp.weixin.qq.com/s/mass"
) -> bytes:
    """A MASSSENDJOBFINISH push as WeChat words it [S17]."""
    return f"""<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o]]>
</FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>
<Status><![CDATA[send success]]></Status><TotalCount>100</TotalCount>
<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx>
<ArticleUrl><![CDATA[{url}]]></ArticleUrl></item></ResultList>
</ArticleUrlResult></xml>""".encode()


@pytest.mark.parametrize(
    "timestamp",
    [
        "1",  # the probe's: validly signed, 56 years old
        str(int(NOW.timestamp()) - 301),
        str(int(NOW.timestamp()) + 301),
        "99999999999999999999",
        "-5",
        "abc",
    ],
)
async def test_a_signed_url_with_a_stale_timestamp_is_refused(
    plain_callback: tuple[httpx.AsyncClient, Confirmations, FakeTokens], timestamp: str
) -> None:
    client, confirmations, tokens = plain_callback
    query = signed(timestamp=timestamp)
    push = await client.post("/callbacks/wechat/wx", content=mass_finished(), params=query)
    check = await client.get("/callbacks/wechat/wx", params={**query, "echostr": "e1"})
    assert (push.status_code, push.text) == (403, "forbidden")
    assert (check.status_code, check.text) == (403, "forbidden")
    assert confirmations.asked == []
    assert ("wx", "massurl:2247490003") not in tokens.values


@pytest.mark.parametrize("skew", [-299, 0, 299])
async def test_a_timestamp_within_five_minutes_of_the_clock_is_accepted(
    plain_callback: tuple[httpx.AsyncClient, Confirmations, FakeTokens], skew: int
) -> None:
    client, confirmations, _ = plain_callback
    query = signed(timestamp=str(int(NOW.timestamp()) + skew))
    reply = await client.post("/callbacks/wechat/wx", content=mass_finished(), params=query)
    assert (reply.status_code, reply.text) == (200, "success")
    assert confirmations.asked == ["2247490003"]


async def test_one_signed_url_carries_one_push_and_forty_forgeries_are_refused(
    plain_callback: tuple[httpx.AsyncClient, Confirmations, FakeTokens],
) -> None:
    client, confirmations, tokens = plain_callback
    query = signed(nonce="734815")
    first = await client.post("/callbacks/wechat/wx", content=mass_finished("1000"), params=query)
    assert first.text == "success"
    replies = [
        await client.post(
            "/callbacks/wechat/wx",
            content=mass_finished(str(2247490001 + n), f"https://evil.example/phish?{n}"),
            params=query,
        )
        for n in range(40)
    ]
    assert {r.status_code for r in replies} == {403}
    assert confirmations.asked == ["1000"]
    assert not [name for (_, name) in tokens.values if name.startswith("massurl:224749")]
    again = await client.get("/callbacks/wechat/wx", params={**query, "echostr": "e"})
    assert again.status_code == 403
    # a fresh nonce under the same clock is a new push
    other = await client.post(
        "/callbacks/wechat/wx", content=mass_finished("1001"), params=signed(nonce="734816")
    )
    assert other.text == "success" and confirmations.asked == ["1000", "1001"]


class SlowTokens(FakeTokens):
    """A credential store that takes its time, as a database does."""

    async def get(self, account: str, name: str) -> tuple[str, datetime | None] | None:
        await asyncio.sleep(0.01)
        return await super().get(account, name)

    async def put(self, account: str, name: str, value: str, expires_at: datetime | None) -> None:
        await asyncio.sleep(0.01)
        await super().put(account, name, value, expires_at)


async def test_simultaneous_copies_of_one_signed_push_get_through_once(
    http: httpx.AsyncClient,
) -> None:
    confirmations = Confirmations()
    adapter = make_adapter(
        http, SlowTokens(), confirm_now=confirmations, callback_token=CALLBACK_TOKEN
    )
    app = FastAPI()
    app.include_router(adapter.routes())
    transport = httpx.ASGITransport(app=app)
    query = signed(nonce="race")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        replies = await asyncio.gather(
            *(
                client.post("/callbacks/wechat/wx", content=mass_finished(str(n)), params=query)
                for n in range(8)
            )
        )
    assert sorted(r.status_code for r in replies) == [200] + [403] * 7
    assert len(confirmations.asked) == 1


class FlakyTokens(FakeTokens):
    """A credential store whose writes fail while ``down`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def put(self, account: str, name: str, value: str, expires_at: datetime | None) -> None:
        if self.down:
            raise RuntimeError("database is locked")
        await super().put(account, name, value, expires_at)


async def test_a_push_whose_nonce_cannot_be_recorded_is_answered_503_and_taken_on_resend(
    http: httpx.AsyncClient,
) -> None:
    tokens, confirmations = FlakyTokens(), Confirmations()
    adapter = make_adapter(http, tokens, confirm_now=confirmations, callback_token=CALLBACK_TOKEN)
    app = FastAPI()
    app.include_router(adapter.routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        query = signed(nonce="resent")
        busy = await client.post("/callbacks/wechat/wx", content=mass_finished(), params=query)
        assert busy.status_code == 503 and confirmations.asked == []
        tokens.down = False  # WeChat re-sends the same push
        again = await client.post("/callbacks/wechat/wx", content=mass_finished(), params=query)
        assert again.text == "success" and confirmations.asked == ["2247490003"]


async def test_a_nonce_is_refused_by_another_process_sharing_the_database(
    http: httpx.AsyncClient,
) -> None:
    """Two ``serve`` processes: separate memory, one credential store."""
    tokens, clock = FakeTokens(), Clock()
    asked: list[Confirmations] = []
    clients = []
    for _ in range(2):
        asked.append(Confirmations())
        adapter = make_adapter(
            http, tokens, clock, confirm_now=asked[-1], callback_token=CALLBACK_TOKEN
        )
        app = FastAPI()
        app.include_router(adapter.routes())
        clients.append(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        )
    query = signed(nonce="555")
    async with clients[0] as one, clients[1] as two:
        assert (
            await one.post("/callbacks/wechat/wx", content=mass_finished(), params=query)
        ).text == "success"
        replay = await two.post("/callbacks/wechat/wx", content=mass_finished(), params=query)
        assert replay.status_code == 403
        assert [a.asked for a in asked] == [["2247490003"], []]
        # the nonce is forgotten only after the window; by then its timestamp is stale
        stored = json.loads(tokens.values[("wx", "callback-nonces")][0])
        assert set(stored) == {"555"}
        clock.current += timedelta(minutes=11)
        later = signed(timestamp=str(int(clock.current.timestamp())), nonce="556")
        assert (
            await two.post("/callbacks/wechat/wx", content=mass_finished(), params=later)
        ).text == "success"
        assert set(json.loads(tokens.values[("wx", "callback-nonces")][0])) == {"556"}


async def test_plaintext_is_refused_when_an_encoding_aes_key_is_set(
    callback: tuple[httpx.AsyncClient, Confirmations, FakeTokens],
) -> None:
    client, confirmations, tokens = callback
    forged = mass_finished(url="https://evil.example/phish?2247490003")
    for params in (signed(), {**signed(nonce="n2"), "encrypt_type": "raw"}):
        reply = await client.post("/callbacks/wechat/wx", content=forged, params=params)
        assert (reply.status_code, reply.text) == (403, "forbidden")
    assert confirmations.asked == [] and ("wx", "massurl:2247490003") not in tokens.values
    # the genuine encrypted push under the same URL still gets through: the refusals used
    # up no nonce
    crypto = WeChatCrypto(CALLBACK_TOKEN, AES_KEY, APPID)
    query = signed()
    envelope = crypto.encrypt_message(mass_finished().decode(), query["nonce"], query["timestamp"])
    msg_signature = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", envelope)[1]  # type: ignore[index]
    reply = await client.post(
        "/callbacks/wechat/wx",
        content=envelope.encode(),
        params={**query, "encrypt_type": "aes", "msg_signature": msg_signature},
    )
    assert reply.text == "success" and confirmations.asked == ["2247490003"]
    replay = await client.post(
        "/callbacks/wechat/wx",
        content=envelope.encode(),
        params={**query, "encrypt_type": "aes", "msg_signature": msg_signature},
    )
    assert replay.status_code == 403 and confirmations.asked == ["2247490003"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (
            "https://mp.weixin.qq.com/s/abc?mid=1&idx=1",
            "https://mp.weixin.qq.com/s/abc?mid=1&idx=1",
        ),
        ("http://mp.weixin.qq.com/s?__biz=MzA&mid=2", "https://mp.weixin.qq.com/s?__biz=MzA&mid=2"),
        ("https://evil.example/phish?2247490003", None),
        ("http://evil.example/mp.weixin.qq.com/s/abc", None),
        ("https://mp.weixin.qq.com.evil.example/s/abc", None),
        ("https://mp.weixin.qq.com@evil.example/s/abc", None),
        ("https://mp.weixin.qq.com:8443/s/abc", None),
        ("https://mp.weixin.qq.com\\@evil.example/s", None),
        ("javascript:alert(1)//mp.weixin.qq.com", None),
        ("ftp://mp.weixin.qq.com/s/abc", None),
        ("//mp.weixin.qq.com/s/abc", None),
    ],
)
async def test_only_an_article_url_on_wechats_own_domain_is_kept_from_a_push(
    plain_callback: tuple[httpx.AsyncClient, Confirmations, FakeTokens],
    http: httpx.AsyncClient,
    wx: respx.MockRouter,
    sent: str,
    kept: str | None,
) -> None:
    client, confirmations, tokens = plain_callback
    reply = await client.post(
        "/callbacks/wechat/wx", content=mass_finished("34182", sent), params=signed()
    )
    assert reply.text == "success"
    assert confirmations.asked == ["34182"]  # confirmed all the same, through mass/get
    wx.post("/cgi-bin/message/mass/get").respond(
        json={"msg_id": 34182, "msg_status": "SEND_SUCCESS"}
    )
    ref = PostRef(7, "34182", None, "k", None, {"mode": "masssend", "msg_id": 34182})
    assert (await make_adapter(http, tokens).confirm(ref)).url == kept


async def test_a_foreign_url_stored_before_this_fix_is_never_shown(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    tokens = FakeTokens()
    await tokens.put("wx", "massurl:2247490003", "https://evil.example/phish?2247490003", None)
    wx.post("/cgi-bin/message/mass/get").respond(
        json={"msg_id": 2247490003, "msg_status": "SEND_SUCCESS"}
    )
    ref = PostRef(7, "2247490003", None, "k", None, {"mode": "masssend", "msg_id": 2247490003})
    done = await make_adapter(http, tokens).confirm(ref)
    assert (done.confirming, done.url) == (False, None)


def test_no_callback_route_without_a_callback_token(http: httpx.AsyncClient) -> None:
    assert make_adapter(http).routes() is None


# -- the sandbox over real HTTP on 127.0.0.1 ---------------------------------------------


@contextlib.contextmanager
def serve(router: APIRouter) -> Iterator[str]:
    """The sandbox on a real socket, at the path ``publisher serve`` mounts it."""
    with serve_router(router, "/_sandbox/wechat") as base:
        yield f"{base}/_sandbox/wechat"


def test_the_adapter_class_offers_its_sandbox() -> None:
    router = WechatAdapter.sandbox()
    paths = {getattr(r, "path", "") for r in router.routes}
    assert {
        "/cgi-bin/stable_token",
        "/cgi-bin/material/add_material",
        "/cgi-bin/media/uploadimg",
        "/cgi-bin/draft/add",
        "/cgi-bin/freepublish/submit",
        "/cgi-bin/freepublish/get",
        "/cgi-bin/message/mass/sendall",
        "/datacube/getarticletotaldetail",
        "/posts",
        "/faults",
    } <= paths


async def confirm_until_posted(adapter: WechatAdapter, started: PublishResult) -> PublishResult:
    result = started
    for _ in range(100):
        if not result.confirming:
            return result
        await _sleep(0.05)
        result = await adapter.confirm(ref_of(result))
    raise AssertionError("never confirmed")


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_the_adapter_against_its_sandbox_over_real_http() -> None:
    with serve(WechatAdapter.sandbox()) as base:
        async with httpx.AsyncClient(timeout=5) as client:
            control = await client.put(
                f"{base}/faults", json={"publish_seconds": 0.2, "reads_per_minute": 60_000}
            )
            assert control.status_code == 200
            adapter = make_adapter(client, clock=SystemClock(), api_base=base, stats_lag_days=0)
            await adapter.check()

            # a routine notice: draft, publish, poll until WeChat says it is out
            general = await adapter.publish(outgoing(key="g"))
            assert general.confirming
            posted = await confirm_until_posted(adapter, general)
            assert posted.url and posted.url.startswith(f"{base}/s/")
            page = await client.get(posted.url)
            assert "我局开展安全生产月活动" in page.text

            # a warning is pushed to followers; the second one today is not
            warning = outgoing(
                "weather_warning", fields=WARNING_FIELDS, key="w1", title="暴雨橙色预警"
            )
            pushed = await confirm_until_posted(adapter, await adapter.publish(warning))
            assert pushed.detail["mode"] == "masssend"
            again = await adapter.publish(warning)  # the same key: WeChat says 45065
            assert not again.confirming and again.remote_id == pushed.remote_id
            second = await adapter.publish(
                outgoing("weather_warning", fields=WARNING_FIELDS, key="w2")
            )
            assert second.note == QUOTA_NOTE and second.detail["mode"] == "freepublish"
            await confirm_until_posted(adapter, second)

            # every token goes stale: the worker's refresh-and-retry gets through
            await client.put(
                f"{base}/faults",
                json={"expire_token": True, "publish_seconds": 0, "reads_per_minute": 60_000},
            )
            retried = await publish_like_the_worker(adapter, outgoing(key="g2"))
            assert retried.confirming

            received = (await client.get(f"{base}/posts")).json()
            paths = [p["path"] for p in received["posts"]]
            assert paths.count("/cgi-bin/message/mass/sendall") == 2  # w2 skipped it
            assert paths.count("/cgi-bin/material/add_material") == 2  # general, orange warning
            assert [
                p["errcode"] for p in received["posts"] if p["path"] == "/cgi-bin/draft/add"
            ].count(42001) == 1
            assert all("app-secret" not in json.dumps(p) for p in received["posts"])

            # reach grows with time, and reads join back to our deliveries
            refs = [ref_of(posted, 1), ref_of(pushed, 2)]
            first = await adapter.fetch_metrics(refs)
            await _sleep(0.3)
            later = await adapter.fetch_metrics(refs)
            reads = {s.delivery_id: s.value for s in first if s.metric == "reads"}
            assert set(reads) == {1, 2} and reads[1] > 0
            assert {s.delivery_id: s.value for s in later if s.metric == "reads"}[1] > reads[1]

            # a submit carried out whose reply never comes back: unknown, never re-sent
            await client.put(
                f"{base}/faults",
                json={"lost_reply": 1, "hang_seconds": 1, "only": "freepublish/submit"},
            )
            hasty = make_adapter(
                client, clock=SystemClock(), api_base=base, timeout=0.3, mass_send=False
            )
            with pytest.raises(OutcomeUnknown):
                await hasty.publish(outgoing(key="g4"))
            received = (await client.get(f"{base}/posts")).json()
            assert received["posts"][-1]["reply_lost"] is True

            # an injected content error is WeChat's own words
            await client.put(
                f"{base}/faults", json={"error_rate": 1, "errcode": 45166, "only": "draft/add"}
            )
            with pytest.raises(PermanentError, match="invalid content"):
                await adapter.publish(outgoing(key="g3"))

            cleared = (await client.delete(f"{base}/posts")).json()
            assert cleared["cleared"] > 0
            assert (await client.get(f"{base}/posts")).json()["count"] == 0


# -- lookup: an unknown outcome settled exactly, never published twice --------------------

OURS = f"{PORTAL}/portal/notices/7?k=key-0001"
ARTICLE_URL = "https://mp.weixin.qq.com/s?__biz=MzA5NDc&mid=2247483700&idx=1&sn=5f3c#rd"
UPDATED = int(NOW.timestamp()) - 60


def listing(items: list[dict[str, Any]], total: int | None = None) -> dict[str, Any]:
    return {
        "total_count": len(items) if total is None else total,
        "item_count": len(items),
        "item": items,
    }


def published_item(
    link: str, article_id: str = "AID_7", url: str = ARTICLE_URL, deleted: bool = False
) -> dict[str, Any]:
    news = {"title": "标题", "content_source_url": link, "url": url, "is_deleted": deleted}
    return {"article_id": article_id, "content": {"news_item": [news]}, "update_time": UPDATED}


def draft_item(link: str, media_id: str = "DRAFT_OLD") -> dict[str, Any]:
    news = {"title": "标题", "content_source_url": link, "url": "https://mp.weixin.qq.com/p"}
    return {"media_id": media_id, "content": {"news_item": [news]}, "update_time": UPDATED}


DRAFT_THERE = {"news_item": [{"title": "标题", "content_source_url": OURS, "url": "u"}]}
DRAFT_GONE = {"errcode": 40007, "errmsg": "invalid media_id"}
OTHERS = [published_item(f"{PORTAL}/portal/notices/{n}?k=k{n}", f"A{n}") for n in range(20)]

# name -> (freepublish/batchget pages, marker (draft, seconds ago) or None, draft/batchget
#          reply, draft/get reply, what lookup gives: "posted" | "confirming" | None | error)
LOOKUP_CASES: dict[str, tuple[Any, ...]] = {
    "published with our key": (
        [listing([published_item(f"{PORTAL}/portal/notices/6?k=x", "A6"), published_item(OURS)])],
        None,
        None,
        None,
        "posted",
    ),
    "published, on the second page": (
        [listing(OTHERS, total=21), listing([published_item(OURS)], total=21)],
        None,
        None,
        None,
        "posted",
    ),
    "published, the marker still fresh": (
        [listing([published_item(OURS)])],
        ("DRAFT_OLD", 30),
        None,
        DRAFT_GONE,
        "posted",
    ),
    "published by hand, linking the notice page without a key": (
        [listing([published_item(f"{PORTAL}/portal/notices/7")])],
        None,
        None,
        None,
        "posted",
    ),
    "another delivery's key on the same page is not ours": (
        [listing([published_item(f"{PORTAL}/portal/notices/7?k=key-0002")])],
        None,
        listing([]),
        None,
        None,
    ),
    "found as a draft, never submitted": (
        [listing([])],
        None,
        listing([draft_item(f"{PORTAL}/portal/notices/6?k=x", "DRAFT_X"), draft_item(OURS)]),
        None,
        "confirming",
    ),
    "not found, never submitted": ([listing([])], None, listing([]), None, None),
    "submitted moments ago, WeChat took the draft": (
        [listing([])],
        ("DRAFT_OLD", 30),
        None,
        DRAFT_GONE,
        RateLimited,  # ask again later, and say when: not a failure
    ),
    "submitted an hour ago, WeChat took the draft, no article": (
        [listing(OTHERS, total=40), listing(OTHERS, total=40)],
        ("DRAFT_OLD", 3600),
        None,
        DRAFT_GONE,
        PermanentError,
    ),
    "submitted moments ago, the draft still in the box": (
        [listing([])],
        ("DRAFT_OLD", 30),
        None,
        DRAFT_THERE,
        RateLimited,
    ),
    "submitted an hour ago, the draft still in the box": (
        [listing([])],
        ("DRAFT_OLD", 3600),
        None,
        DRAFT_THERE,
        "confirming",
    ),
}


async def put_marker(tokens: FakeTokens, media_id: str, seconds_ago: float) -> None:
    at = NOW - timedelta(seconds=seconds_ago)
    value = json.dumps({"media_id": media_id, "at": at.isoformat(), "note": None})
    await tokens.put("wx", "submit:key-0001", value, None)


@pytest.mark.parametrize("name", list(LOOKUP_CASES))
async def test_lookup_settles_each_case_and_never_publishes_twice(
    wx: respx.MockRouter, http: httpx.AsyncClient, name: str
) -> None:
    pages, marker, drafts, draft, expected = LOOKUP_CASES[name]
    published = wx.post("/cgi-bin/freepublish/batchget").mock(
        side_effect=[httpx.Response(200, json=p) for p in pages]
    )
    draft_list = wx.post("/cgi-bin/draft/batchget").respond(json=drafts or listing([]))
    draft_get = wx.post("/cgi-bin/draft/get").respond(json=draft or DRAFT_GONE)
    tokens = FakeTokens()
    if marker is not None:
        await put_marker(tokens, *marker)
    adapter = make_adapter(http, tokens, reconcile_wait_seconds=600)

    if isinstance(expected, type):
        with pytest.raises(expected) as caught:
            await adapter.lookup(outgoing())
        assert type(caught.value) is expected
        assert not wx["submit"].called
    else:
        result = await adapter.lookup(outgoing())
        if expected is None:
            assert result is None
            assert not wx["submit"].called
        elif expected == "posted":
            assert result is not None and not result.confirming
            assert (result.remote_id, result.url) == ("AID_7", ARTICLE_URL)
            assert result.detail["msg_data_id"] == "2247483700"  # metrics join on it
            assert result.detail["published_on"] == "2026-07-01"
            assert not wx["submit"].called and not draft_list.called
        else:
            assert result is not None and result.confirming
            assert result.remote_id == "2247503051"
            assert body_of(wx["submit"].calls.last) == {"media_id": "DRAFT_OLD"}
            assert wx["submit"].call_count == 1
            stored = json.loads(tokens.values[("wx", "submit:key-0001")][0])
            assert stored["media_id"] == "DRAFT_OLD" and stored["at"] == NOW.isoformat()
    assert not wx["draft"].called  # lookup never makes a new draft
    assert all(body_of(c)["no_content"] == 1 and body_of(c)["count"] == 20 for c in published.calls)
    assert [body_of(c)["offset"] for c in published.calls] == [0, 20][: len(pages)]
    if marker is not None and published.call_count and expected != "posted":
        assert body_of(draft_get.calls.last) == {"media_id": "DRAFT_OLD"}
        assert not draft_list.called  # the marker names the draft: asked for exactly


async def test_a_long_wait_is_explained_to_the_person_who_checks(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wx.post("/cgi-bin/freepublish/batchget").respond(json=listing([]))
    wx.post("/cgi-bin/draft/get").respond(json=DRAFT_GONE)
    tokens = FakeTokens()
    await put_marker(tokens, "DRAFT_OLD", 3600)
    with pytest.raises(PermanentError) as caught:
        await make_adapter(http, tokens).lookup(outgoing())
    assert "DRAFT_OLD" in str(caught.value) and "发表记录" in str(caught.value)


LOOKUP_ERRORS = [
    # (endpoint, answer, class the worker sees)
    (
        "freepublish/batchget",
        httpx.Response(200, json={"errcode": -1, "errmsg": "busy"}),
        TransientError,
    ),
    ("freepublish/batchget", httpx.Response(502, text="bad gateway"), TransientError),
    ("freepublish/batchget", httpx.ReadTimeout("slow"), TransientError),
    ("freepublish/batchget", httpx.ConnectError("refused"), TransientError),
    ("freepublish/batchget", httpx.Response(200, text="<html>oops</html>"), TransientError),
    ("freepublish/batchget", httpx.Response(200, json={"unexpected": True}), TransientError),
    (
        "freepublish/batchget",
        httpx.Response(200, json={"errcode": 45011, "errmsg": "api minute-quota reach limit"}),
        RateLimited,
    ),
    (
        "freepublish/batchget",
        httpx.Response(200, json={"errcode": 48001, "errmsg": "api unauthorized"}),
        PermanentError,
    ),
    ("draft/batchget", httpx.Response(200, json={"errcode": -1, "errmsg": "busy"}), TransientError),
    ("draft/batchget", httpx.ReadTimeout("slow"), TransientError),
]


@pytest.mark.parametrize("case", LOOKUP_ERRORS, ids=lambda c: f"{c[0]}-{c[1]!r:.40}")
async def test_lookup_that_cannot_tell_says_so_and_sends_nothing(
    wx: respx.MockRouter, http: httpx.AsyncClient, case: tuple[Any, ...]
) -> None:
    endpoint, answer, error = case
    wx.post("/cgi-bin/freepublish/batchget").respond(json=listing([]))
    wx.post("/cgi-bin/draft/batchget").respond(json=listing([draft_item(OURS)]))
    route = wx.post(f"/cgi-bin/{endpoint}")
    route.side_effect = [answer]
    with pytest.raises(ChannelError) as caught:
        await make_adapter(http).lookup(outgoing())
    assert type(caught.value) is error
    assert not wx["submit"].called and not wx["draft"].called


async def test_a_marker_we_cannot_read_is_never_taken_for_nothing_sent(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wx.post("/cgi-bin/freepublish/batchget").respond(json=listing([]))
    tokens = FakeTokens()
    await tokens.put("wx", "submit:key-0001", "{not json", None)
    with pytest.raises(PermanentError, match="submit:key-0001"):
        await make_adapter(http, tokens).lookup(outgoing())


async def test_lookup_refreshes_a_rejected_token_itself(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    rotate_tokens(wx)
    published = wx.post("/cgi-bin/freepublish/batchget").mock(
        side_effect=expired_then(listing([published_item(OURS)]))
    )
    result = await make_adapter(http).lookup(outgoing())
    assert result is not None and result.remote_id == "AID_7"
    assert [token_of(c) for c in published.calls] == ["T1", "T2"]


async def test_list_items_without_their_articles_are_read_one_by_one(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """If no_content=1 drops the whole ``content`` object, getarticle / draft/get tell."""
    bare: list[dict[str, Any]] = [
        {"article_id": "A1", "update_time": UPDATED},
        {"article_id": "AID_7"},
    ]
    wx.post("/cgi-bin/freepublish/batchget").respond(json=listing(bare))
    getarticle = wx.post("/cgi-bin/freepublish/getarticle").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json={
                "news_item": [
                    {
                        "content_source_url": OURS
                        if json.loads(request.content)["article_id"] == "AID_7"
                        else f"{PORTAL}/portal/notices/3?k=z",
                        "url": ARTICLE_URL,
                        "is_deleted": True,
                    }
                ]
            },
        )
    )
    result = await make_adapter(http).lookup(outgoing())
    assert result is not None and (result.remote_id, result.url) == ("AID_7", ARTICLE_URL)
    assert result.note == "该文章已在微信发表，但此后已被删除"  # still posted: never again
    assert [body_of(c) for c in getarticle.calls] == [{"article_id": "A1"}, {"article_id": "AID_7"}]


async def test_a_warning_found_as_a_draft_is_mass_sent_under_its_key(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    wx.post("/cgi-bin/freepublish/batchget").respond(json=listing([]))
    wx.post("/cgi-bin/draft/batchget").respond(json=listing([draft_item(OURS)]))
    warning = outgoing("weather_warning", fields=WARNING_FIELDS)
    result = await make_adapter(http).lookup(warning)
    assert result is not None and result.confirming and result.remote_id == "34182"
    sent = body_of(wx["sendall"].calls.last)
    assert (sent["mpnews"], sent["clientmsgid"]) == ({"media_id": "DRAFT_OLD"}, "key-0001")
    assert not wx["submit"].called and not wx["draft"].called


async def test_the_marker_is_committed_before_submit_and_put_back_when_wechat_refuses(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    tokens = FakeTokens()
    seen: list[Any] = []

    def submit(request: httpx.Request) -> httpx.Response:
        seen.append(tokens.values.get(("wx", "submit:key-0001")))
        return httpx.Response(200, json={"errcode": 53501, "errmsg": "publish too frequent"})

    wx["submit"].side_effect = submit
    adapter = make_adapter(http, tokens)
    with pytest.raises(RateLimited):
        await adapter.publish(outgoing())
    assert json.loads(seen[0][0])["media_id"] == "DRAFT_MID"  # on record while it was sent
    assert tokens.values[("wx", "submit:key-0001")][0] == ""  # refused: nothing in flight
    # so the draft left behind counts as never submitted, and is used at once
    wx.post("/cgi-bin/freepublish/batchget").respond(json=listing([]))
    wx.post("/cgi-bin/draft/batchget").respond(json=listing([draft_item(OURS, "DRAFT_MID")]))
    wx["submit"].side_effect = None
    result = await adapter.lookup(outgoing())
    assert result is not None and result.confirming
    assert body_of(wx["submit"].calls.last) == {"media_id": "DRAFT_MID"}


async def test_a_lost_submit_reply_is_waited_for_then_found_and_never_sent_again(
    wx: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    """The whole story with respx: submit carried out, reply lost; WeChat is still publishing
    when the worker first asks; a little later the article is there."""
    wx["submit"].side_effect = [httpx.ReadTimeout("reply lost")]
    published = wx.post("/cgi-bin/freepublish/batchget").mock(
        side_effect=[
            httpx.Response(200, json=listing([])),
            httpx.Response(200, json=listing([published_item(OURS)])),
        ]
    )
    wx.post("/cgi-bin/draft/get").respond(json=DRAFT_GONE)  # WeChat took the draft
    clock = Clock()
    adapter = make_adapter(http, clock=clock)
    with pytest.raises(OutcomeUnknown):
        await adapter.publish(outgoing())
    clock.current += timedelta(seconds=25)
    with pytest.raises(TransientError, match="稍后再查"):
        await adapter.lookup(outgoing())
    clock.current += timedelta(seconds=5)
    found = await adapter.lookup(outgoing())
    assert found is not None and not found.confirming and found.url == ARTICLE_URL
    assert wx["submit"].call_count == 1 and wx["draft"].call_count == 1
    assert published.call_count == 2


def test_the_key_rides_in_the_source_link_within_1_kb() -> None:
    from channels.wechat.reconcile import carries_key, source_url

    assert source_url(PORTAL, 7, "0f" * 16) == f"{PORTAL}/portal/notices/7?k={'0f' * 16}"
    long_key = "客户端" * 40
    url = source_url(PORTAL, 7, long_key)
    assert len(url.encode()) <= 1024 and carries_key(url, long_key)
    assert carries_key(url.replace("?", "?from=timeline&"), long_key)  # other params kept
    assert not carries_key(url, "客户端")
    with pytest.raises(PermanentError, match="1 KB"):
        source_url("https://x.example/" + "a" * 1000, 7, "k")


# -- reconcile against the sandbox over real HTTP ----------------------------------------


async def test_a_lost_submit_reply_is_reconciled_against_the_sandbox() -> None:
    with serve(WechatAdapter.sandbox()) as base:
        async with httpx.AsyncClient(timeout=5) as client:
            await client.put(
                f"{base}/faults",
                json={
                    "lost_reply": 1,
                    "hang_seconds": 1,
                    "only": "freepublish/submit",
                    "publish_seconds": 1.5,
                },
            )
            adapter = make_adapter(
                client, clock=SystemClock(), api_base=base, timeout=0.3, mass_send=False
            )
            with pytest.raises(OutcomeUnknown):
                await adapter.publish(outgoing(key="lost-1"))
            # still publishing (1.5 s): the draft is taken, the article not out yet
            with pytest.raises(TransientError):
                await adapter.lookup(outgoing(key="lost-1"))
            found = None
            for _ in range(100):
                await _sleep(0.05)
                with contextlib.suppress(TransientError):
                    found = await adapter.lookup(outgoing(key="lost-1"))
                    break
            assert found is not None and not found.confirming
            assert found.url and found.url.startswith(f"{base}/s/{found.remote_id}")
            assert "我局开展安全生产月活动" in (await client.get(found.url)).text
            # an untouched delivery: nothing anywhere, so the worker may publish it afresh
            assert await adapter.lookup(outgoing(key="never-sent", notice_id=8)) is None

            received = (await client.get(f"{base}/posts")).json()
            paths = [p["path"] for p in received["posts"]]
            assert paths.count("/cgi-bin/freepublish/submit") == 1
            assert paths.count("/cgi-bin/draft/add") == 1
            (article,) = received["articles"]
            assert article["content_source_url"] == f"{PORTAL}/portal/notices/7?k=lost-1"
            assert found.detail["msg_data_id"] == article["msg_data_id"]

            # the documented batchget shapes and rules
            page = await client.post(
                f"{base}/cgi-bin/freepublish/batchget",
                params={"access_token": adapter.token.last_used or ""},
                json={"offset": 0, "count": 21, "no_content": 1},
            )
            assert page.json()["errcode"] == 47001


async def test_the_worker_reconciles_a_lost_submit_and_posts_once(tmp_path: Path) -> None:
    from publisher.runtime import Runtime

    with serve(WechatAdapter.sandbox()) as base:
        async with httpx.AsyncClient(timeout=5) as client:
            await client.put(
                f"{base}/faults",
                json={
                    "lost_reply": 1,
                    "hang_seconds": 2.5,
                    "only": "freepublish/submit",
                    "publish_seconds": 2.0,  # still publishing when the worker first asks
                },
            )
            settings = load_settings(
                database_url=f"sqlite:///{tmp_path}/publisher.db",
                base_url=PORTAL,
                retry_base_delay=0.05,
                retry_max_delay=0.2,
                breaker_cooldown=0.1,
                poll_interval=0.05,
                metrics_interval=0,
                accounts={
                    "wx": {
                        "type": "wechat",
                        "appid": APPID,
                        "secret": "s",
                        "api_base": base,
                        "timeout": 0.5,
                        "mass_send": False,
                        "reconcile_recheck_seconds": 0.2,
                    }
                },
            )
            runtime = await Runtime.open(settings, with_worker=True)
            assert runtime.worker is not None
            task = asyncio.create_task(runtime.worker.run())
            try:
                notice = parse_notice(
                    {
                        "kind": "general",
                        "title": "安全生产月活动通知",
                        "body": "请落实。",
                        "channels": ["wx"],
                    }
                )
                done = await runtime.intake.submit(notice, source="test", actor="duty")
                deadline = time.monotonic() + 15
                while True:
                    record = await runtime.store.get_notice(done.notice_id)
                    (delivery,) = record.deliveries
                    if delivery.status in ("posted", "failed", "needs_review"):
                        break
                    assert time.monotonic() < deadline, f"still {delivery.status}"
                    await asyncio.sleep(0.05)
            finally:
                runtime.worker.stop()
                await asyncio.wait_for(task, 10)
                await runtime.close()
            assert delivery.status == "posted", delivery.error
            actions = [e.action for e in record.events if e.delivery_id is not None]
            assert "unknown_outcome" in actions and actions[-1] == "reconciled"
            waited = [e.reason or "" for e in record.events if e.action == "unknown_outcome"]
            assert any("稍后再查" in reason for reason in waited)  # asked while publishing
            received = (await client.get(f"{base}/posts")).json()
            paths = [p["path"] for p in received["posts"]]
            assert paths.count("/cgi-bin/freepublish/submit") == 1
            (article,) = received["articles"]
            assert delivery.remote_id == article["article_id"]
            assert delivery.url == article["url"]
            assert article["content_source_url"].endswith(f"?k={delivery.idempotency_key}")


async def test_the_author_and_signature_are_the_organizations(tmp_path: Path) -> None:
    # they used to say 市应急管理局 while the portal signed 市安全生产监督管理局
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/publisher.db",
        base_url=PORTAL,
        templates_dir=REPO_ROOT / "templates",
        organization={"name": "滨江市安全生产监督管理局"},
        accounts={
            "wx": {"type": "wechat", "appid": APPID, "secret": "s"},
            "portal": {"type": "portal"},
        },
    )
    async with open_intake(settings, Clock(), FakeTokens()) as intake:
        adapter = intake.channels.get("wx").adapter
        assert isinstance(adapter, WechatAdapter)
        assert adapter.options.author == "滨江市安全生产监督管理局"
        notice = parse_notice(
            {"kind": "general", "title": "关于开展安全生产月活动的通知", "body": "现予通知。"}
        )
        article = intake.preview(notice, intake.channels.get("wx")).rendered.body
        portal = intake.preview(notice, intake.channels.get("portal")).rendered.body
        assert "滨江市安全生产监督管理局</p>" in article
        assert "滨江市安全生产监督管理局</p>" in portal
        assert "应急管理局" not in article + portal
