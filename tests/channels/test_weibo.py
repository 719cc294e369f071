"""The Weibo adapter: length measure, publish and its error codes (respx), metrics, check,
the summary fallback through intake, and the adapter against its sandbox over real HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from fastapi import APIRouter
from helpers import open_intake
from sandbox_server import serve_router

from channels.weibo import WeiboAdapter, WeiboOptions
from channels.weibo.length import body_limit, topics, weibo_length
from channels.weibo.sandbox import WeiboSandbox
from publisher.contract import (
    AccountContext,
    Format,
    Idempotency,
    NoticeView,
    OutgoingPost,
    Overflow,
    PostRef,
    Rendered,
)
from publisher.errors import (
    ChannelError,
    CredentialsInvalid,
    Duplicate,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from publisher.notice import parse_notice
from publisher.queue.intake import Intake
from publisher.queue.retry import Backoff, RetryPolicy
from publisher.queue.states import Status
from publisher.settings import REPO_ROOT, load_settings

API = "https://api.weibo.com"
SHARE = f"{API}/2/statuses/share.json"
COUNT = f"{API}/2/statuses/count.json"
PORTAL = "https://www.ajj.example.gov.cn"
NOW = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.current = NOW

    def now(self) -> datetime:
        return self.current


PUBLIC_RIP = "211.156.0.1"  # the example in the statuses/share doc [S40]


def make_adapter(http: httpx.AsyncClient, base_url: str = PORTAL, **options: Any) -> WeiboAdapter:
    raw = {"access_token": "2.00abcTOKEN", "portal_base": PORTAL, **options}
    ctx = AccountContext(
        account="weibo",
        options=WeiboOptions.model_validate(raw),
        http=http,
        clock=Clock(),
        tokens=None,  # type: ignore[arg-type]  # Weibo has nothing to refresh
        log=logging.getLogger("test.weibo"),
        base_url=base_url,
    )
    return WeiboAdapter(ctx)


def make_post(
    body: str = "【暴雨橙色预警】滨江市气象台发布暴雨橙色预警。", notice_id: int = 42
) -> OutgoingPost:
    notice = NoticeView(
        id=notice_id,
        kind="weather_warning",
        title="暴雨橙色预警",
        body=body,
        summary=None,
        table=None,
        fields={},
        urgent=True,
        publish_at=None,
        created_at=NOW,
    )
    return OutgoingPost(
        delivery_id=7,
        account="weibo",
        idempotency_key="k-7",
        notice=notice,
        rendered=Rendered(Format.TEXT, {"body": body}),
        attempt=1,
    )


def status_object(mid: int = 4990000000000123, uid: int | None = 1404376560) -> dict[str, Any]:
    data: dict[str, Any] = {
        "created_at": "Wed Jul 01 14:00:05 +0800 2026",
        "id": mid,
        "mid": str(mid),
        "idstr": str(mid),
        "text": "…",
        "reposts_count": 0,
        "comments_count": 0,
        "attitudes_count": 0,
    }
    if uid is not None:
        data["user"] = {"id": uid, "idstr": str(uid), "screen_name": "滨江应急"}
    return data


def weibo_error_body(code: int | str, text: str) -> dict[str, Any]:
    return {"request": "/2/statuses/share.json", "error_code": code, "error": text}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


# -- length ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "link_weight", "expected"),
    [
        ("暴雨橙色预警", 11.5, 6),  # 汉字 count 1
        ("Test", 11.5, 2),  # ASCII counts ½
        ("abc", 11.5, 2),  # 1.5 rounds up
        ("PM2.5超标", 11.5, 5),  # 2.5 + 2 = 4.5 -> 5
        ("请注意防范！", 11.5, 6),  # full-width punctuation counts 1
        ("详见 https://www.ajj.example.gov.cn/portal/notices/1", 11.5, 14),  # 2 + ½ + 11.5
        ("详见 http://a.cn/x", 10.0, 13),  # the link weight is the account's: 12.5 -> 13
        ("http://a.cn/x详见", 11.5, 14),  # Chinese right after a link ends the link
        ("甲 http://a.cn/1 乙 https://b.cn/2", 11.5, 27),  # each link counts: 2 + 1.5 + 23
        ("🌧暴雨", 11.5, 4),  # outside the BMP counts 2, as Sina's browser counter does
        ("", 11.5, 0),
    ],
)
def test_weibo_length(text: str, link_weight: float, expected: int) -> None:
    assert weibo_length(text, link_weight) == expected


def test_body_limit_leaves_room_for_the_space_and_the_link() -> None:
    assert body_limit() == 128
    assert body_limit(10.0) == 129
    link = f" {PORTAL}/portal/notices/123456"
    assert weibo_length("汉" * 128 + link) == 140
    assert weibo_length("汉" * 129 + link) == 141


def test_topics_are_found_outside_links_only() -> None:
    assert topics("关注#安全生产月#活动") == ["#安全生产月#"]
    assert topics("3＃楼和5＃楼") == []
    assert topics("详见 http://a.cn/p#a#b 无话题") == []


# -- capabilities ------------------------------------------------------------------------


async def test_capabilities_declare_what_weibo_allows(http: httpx.AsyncClient) -> None:
    caps = make_adapter(http).capabilities
    assert caps.formats == (Format.TEXT,)
    assert caps.parts == ("body",)
    (limit,) = caps.limits
    assert (limit.part, limit.max, limit.overflow) == ("body", 128, Overflow.TRUNCATE)
    assert limit.measure("PM2.5超标") == 5
    assert caps.rate_limit is not None
    assert (caps.rate_limit.count, caps.rate_limit.per_seconds) == (30, 3600.0)
    assert caps.max_concurrency == 1
    assert caps.idempotency is Idempotency.NONE
    assert caps.metrics == ("comments", "reposts", "likes")
    assert make_adapter(http, commercial_api=True).capabilities.metrics[-1] == "reads"
    assert make_adapter(http, link_weight=20).capabilities.limits[0].max == 119


# -- publish -----------------------------------------------------------------------------


async def test_publish_appends_the_portal_link_and_returns_the_post(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(SHARE).respond(json=status_object())
    result = await make_adapter(http).publish(make_post(notice_id=42))
    form = parse_qs(route.calls.last.request.content.decode())
    assert form["access_token"] == ["2.00abcTOKEN"]
    assert form["rip"] == ["127.0.0.1"]
    assert form["status"] == [
        f"【暴雨橙色预警】滨江市气象台发布暴雨橙色预警。 {PORTAL}/portal/notices/42"
    ]
    assert result.remote_id == "4990000000000123"
    assert result.url == "https://weibo.com/1404376560/4990000000000123"
    assert not result.confirming


async def test_publish_without_user_in_the_reply_links_the_mobile_page(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(SHARE).respond(json=status_object(uid=None))
    result = await make_adapter(http).publish(make_post())
    assert result.url == "https://m.weibo.cn/status/4990000000000123"


async def test_options_move_the_api_the_portal_and_the_ip(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("http://127.0.0.1:9/_sandbox/weibo/2/statuses/share.json").respond(
        json=status_object()
    )
    adapter = make_adapter(
        http,
        api_base="http://127.0.0.1:9/_sandbox/weibo/",
        portal_base=None,
        rip="211.156.0.1",
        base_url="http://127.0.0.1:8000",
    )
    await adapter.publish(make_post(notice_id=5))
    form = parse_qs(route.calls.last.request.content.decode())
    assert form["rip"] == ["211.156.0.1"]
    assert form["status"][0].endswith(" http://127.0.0.1:8000/portal/notices/5")


async def test_a_sandbox_account_never_reaches_the_real_weibo(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("http://127.0.0.1:8000/_sandbox/weibo/2/statuses/share.json")
    route.respond(json=status_object())
    adapter = make_adapter(http, sandbox=True, base_url="http://127.0.0.1:8000")
    result = await adapter.publish(make_post())
    assert route.called
    assert result.url == "http://127.0.0.1:8000/_sandbox/weibo/web/1404376560/4990000000000123"


async def test_a_topic_is_refused_before_anything_is_sent(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(SHARE).respond(json=status_object())
    with pytest.raises(PermanentError, match="#安全生产月#"):
        await make_adapter(http).publish(make_post("关注#安全生产月#活动"))
    assert not route.called


@dataclass(frozen=True)
class Case:
    code: int
    http_status: int
    text: str  # Weibo's own words
    error: type[ChannelError]
    retry_after: float | None = None


TOO_LONG = "Text too long, please input text less than 140 characters!"
SLOW = "update success, while server slow now, please wait 1-2 minutes"
ERROR_CASES = [
    Case(20017, 400, "repeat content!", Duplicate),
    Case(20019, 400, "repeat content!", Duplicate),
    Case(20111, 400, "repeated weibo text!", Duplicate),
    Case(10022, 403, "IP requests out of rate limit!", RateLimited, 600.0),
    Case(10023, 403, "User requests out of rate limit!", RateLimited, 3600.0),
    Case(10024, 403, "User requests for (statuses/share) out of rate limit!", RateLimited, 600.0),
    Case(20016, 400, "out of limit!", RateLimited, 3600.0),
    Case(21327, 401, "expired_token", CredentialsInvalid),
    Case(21301, 401, "auth faild!", CredentialsInvalid),
    Case(21315, 401, "Token expired", CredentialsInvalid),
    Case(21316, 401, "Token revoked", CredentialsInvalid),
    Case(21317, 401, "Token rejected", CredentialsInvalid),
    Case(10014, 403, "Insufficient app permissions!", PermanentError),
    Case(20012, 400, TOO_LONG, PermanentError),
    Case(20018, 400, "contain illegal website!", PermanentError),
    Case(20020, 400, "contain advertising!", PermanentError),
    Case(20021, 400, "content is illegal!", PermanentError),
    Case(10001, 500, "system error!", TransientError),
    Case(10002, 503, "service unavailable!", TransientError),
    Case(10003, 400, "remote service error", TransientError),
    Case(20032, 200, SLOW, OutcomeUnknown),
    Case(12345, 400, "some brand new refusal", PermanentError),  # unknown code
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: str(c.code))
@pytest.mark.parametrize("as_string", [True, False], ids=["code-str", "code-int"])
async def test_every_classified_error_code(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter, case: Case, as_string: bool
) -> None:
    code = str(case.code) if as_string else case.code
    respx_mock.post(SHARE).respond(case.http_status, json=weibo_error_body(code, case.text))
    with pytest.raises(ChannelError) as caught:
        await make_adapter(http).publish(make_post())
    assert type(caught.value) is case.error
    assert caught.value.code == case.code
    assert case.text in str(caught.value)  # the platform's own reason reaches the user
    if case.retry_after is not None:
        assert isinstance(caught.value, RateLimited)
        assert caught.value.retry_after == case.retry_after
    if case.error is CredentialsInvalid:
        assert "请重新授权应用" in str(caught.value)
    if case.error is Duplicate:
        assert isinstance(caught.value, Duplicate)
        assert caught.value.remote_id is None


RETRY = RetryPolicy(Backoff(base=2.0, cap=600.0))


@pytest.mark.parametrize(
    ("code", "status", "waits"),
    [
        (20019, Status.POSTED, None),  # already on Weibo: counts as posted, never re-sent
        (21327, Status.FAILED, None),  # token expired mid-publish: stop and ask for re-auth
        (10023, Status.RETRY_WAIT, 3600.0),  # hourly quota: wait the hour, attempt refunded
        (20032, Status.NEEDS_REVIEW, None),  # posted but slow: a person looks, no blind re-post
        (10002, Status.RETRY_WAIT, None),
        (20021, Status.FAILED, None),
    ],
)
async def test_what_the_delivery_becomes(
    http: httpx.AsyncClient,
    respx_mock: respx.MockRouter,
    code: int,
    status: Status,
    waits: float | None,
) -> None:
    respx_mock.post(SHARE).respond(400, json=weibo_error_body(code, "…"))
    adapter = make_adapter(http)
    with pytest.raises(ChannelError) as caught:
        await adapter.publish(make_post())
    outcome = RETRY.after_error(
        caught.value,
        attempts=1,
        max_attempts=8,
        idempotency=adapter.capabilities.idempotency,
        now=NOW,
    )
    assert outcome.to_status == status
    if waits is not None:
        assert outcome.not_before == NOW + timedelta(seconds=waits)


async def test_token_expiring_between_two_posts(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(SHARE).mock(
        side_effect=[
            httpx.Response(200, json=status_object()),
            httpx.Response(403, json=weibo_error_body("21327", "expired_token")),
        ]
    )
    adapter = make_adapter(http)
    assert (await adapter.publish(make_post(notice_id=1))).remote_id
    with pytest.raises(CredentialsInvalid, match="21327"):
        await adapter.publish(make_post(notice_id=2))


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(502, text="<html>Bad Gateway</html>"), TransientError),
        (httpx.Response(429, text="slow down"), RateLimited),
        (httpx.Response(403, text="forbidden"), CredentialsInvalid),
        (httpx.Response(404, text="not found"), PermanentError),
        (httpx.Response(200, text="<html>ok</html>"), OutcomeUnknown),  # no status id to show
        (httpx.Response(200, json={"text": "no id"}), OutcomeUnknown),
    ],
)
async def test_replies_without_a_weibo_error_code(
    http: httpx.AsyncClient,
    respx_mock: respx.MockRouter,
    response: httpx.Response,
    error: type[ChannelError],
) -> None:
    respx_mock.post(SHARE).mock(return_value=response)
    with pytest.raises(ChannelError) as caught:
        await make_adapter(http).publish(make_post())
    assert type(caught.value) is error


async def test_a_lost_reply_is_an_unknown_outcome(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(SHARE).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(OutcomeUnknown):
        await make_adapter(http).publish(make_post())


# -- metrics -----------------------------------------------------------------------------


def refs(count: int) -> list[PostRef]:
    return [
        PostRef(
            delivery_id=n,
            remote_id=str(4990000000000000 + n),
            url=None,
            idempotency_key=f"k{n}",
            posted_at=NOW,
        )
        for n in range(1, count + 1)
    ]


def count_rows(request: httpx.Request, reads: bool = False) -> httpx.Response:
    ids = request.url.params["ids"].split(",")
    rows = []
    for i in ids:
        n = int(i) - 4990000000000000
        if n % 50 == 0:
            continue  # deleted posts are silently left out
        row = {"id": int(i), "comments": n, "reposts": 2 * n, "attitudes": 3 * n}
        if reads:
            row["reads"] = 10 * n
        rows.append(row)
    return httpx.Response(200, json=rows)


async def test_metrics_are_read_in_batches_of_100(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(COUNT).mock(side_effect=count_rows)
    no_id = PostRef(delivery_id=999, remote_id=None, url=None, idempotency_key="x", posted_at=NOW)
    samples = await make_adapter(http).fetch_metrics([*refs(250), no_id])
    sizes = [len(c.request.url.params["ids"].split(",")) for c in route.calls]
    assert sizes == [100, 100, 50]
    assert all(c.request.url.params["access_token"] == "2.00abcTOKEN" for c in route.calls)
    got = {(s.delivery_id, s.metric): s.value for s in samples}
    assert got[(7, "comments")] == 7
    assert got[(7, "reposts")] == 14
    assert got[(7, "likes")] == 21  # Weibo calls them attitudes
    assert (50, "likes") not in got  # deleted on Weibo: no sample, not a zero
    assert not any(s.delivery_id == 999 for s in samples)
    assert len(samples) == (250 - 5) * 3
    assert {s.source for s in samples} == {"weibo:statuses/count"}
    assert all(s.observed_at == NOW for s in samples)


async def test_reads_come_from_the_commercial_api_when_configured(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get("https://c.api.weibo.com/2/media_statuses/count_sp/biz.json").mock(
        side_effect=lambda request: count_rows(request, reads=True)
    )
    samples = await make_adapter(http, commercial_api=True).fetch_metrics(refs(3))
    assert route.call_count == 1
    got = {(s.delivery_id, s.metric): s.value for s in samples}
    assert got[(2, "reads")] == 20
    assert got[(2, "likes")] == 6


async def test_metrics_with_an_expired_token_say_so(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(COUNT).respond(403, json=weibo_error_body("21327", "expired_token"))
    with pytest.raises(CredentialsInvalid):
        await make_adapter(http).fetch_metrics(refs(2))


# -- check -------------------------------------------------------------------------------


TOKEN_INFO = f"{API}/oauth2/get_token_info"


async def test_check_accepts_a_live_token(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    route = respx_mock.post(TOKEN_INFO).respond(
        json={
            "uid": 1404376560,
            "appkey": "123456",
            "scope": "",
            "create_at": 1,
            "expire_in": 86400 * 30,
        }
    )
    await make_adapter(http, app_key="123456", rip=PUBLIC_RIP).check()
    assert parse_qs(route.calls.last.request.content.decode())["access_token"] == ["2.00abcTOKEN"]
    assert "expires" not in caplog.text


async def test_check_warns_a_week_before_the_token_expires(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    respx_mock.post(TOKEN_INFO).respond(json={"uid": 1, "appkey": "1", "expire_in": "86400"})
    with caplog.at_level(logging.WARNING, logger="test.weibo"):
        await make_adapter(http, rip=PUBLIC_RIP).check()
    assert "expires at 2026-07-02T06:00+00:00" in caplog.text


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (
            httpx.Response(
                403,
                json={
                    "request": "/oauth2/get_token_info",
                    "error_code": 21327,
                    "error": "expired_token",
                },
            ),
            "expired_token",
        ),
        (
            httpx.Response(200, json={"uid": 1, "appkey": "999", "expire_in": 86400 * 30}),
            "属于应用 '999'",
        ),
        (httpx.Response(200, json={"uid": 1, "appkey": "123456", "expire_in": 0}), "已过期"),
    ],
)
async def test_check_refuses_a_dead_or_foreign_token(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter, response: httpx.Response, match: str
) -> None:
    respx_mock.post(TOKEN_INFO).mock(return_value=response)
    with pytest.raises(CredentialsInvalid, match=match):
        await make_adapter(http, app_key="123456", rip=PUBLIC_RIP).check()


@pytest.mark.parametrize(
    ("rip", "said"),
    [
        (None, "未设置 rip"),
        ("127.0.0.1", "rip = 127.0.0.1 是回环、内网或保留地址"),
        ("10.1.2.3", "rip = 10.1.2.3"),
        ("172.16.0.9", "rip = 172.16.0.9"),
        ("192.168.1.20", "rip = 192.168.1.20"),
        ("100.64.0.1", "rip = 100.64.0.1"),  # carrier-grade NAT: not the operator's own
        ("169.254.1.1", "rip = 169.254.1.1"),
        ("0.0.0.0", "rip = 0.0.0.0"),
        ("::1", "rip = ::1"),
        ("fd00::1", "rip = fd00::1"),
    ],
)
async def test_check_says_a_real_account_must_set_a_public_rip(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter, rip: str | None, said: str
) -> None:
    token_info = respx_mock.post(TOKEN_INFO).respond(
        json={"uid": 1, "appkey": "1", "expire_in": 86400 * 30}
    )
    options = {} if rip is None else {"rip": rip}
    with pytest.raises(PermanentError, match="真实公网 IP") as caught:
        await make_adapter(http, **options).check()
    assert str(caught.value).startswith(said)
    assert not token_info.called


async def test_doctor_names_a_real_weibo_account_without_rip(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    from types import SimpleNamespace

    from publisher.cli.ops import _check_accounts

    respx_mock.post(TOKEN_INFO).respond(json={"uid": 1, "appkey": "1", "expire_in": 86400 * 30})
    accounts = [
        SimpleNamespace(name=name, type_name="weibo", adapter=make_adapter(http, **options))
        for name, options in (
            ("weibo", {}),
            ("weibo_lan", {"rip": "192.168.1.20"}),
            ("weibo_ok", {"rip": PUBLIC_RIP}),
        )
    ]
    problems: list[str] = []
    await _check_accounts(accounts, problems, SimpleNamespace(accounts={}))
    assert problems == [
        "渠道 weibo (weibo): 未设置 rip：真实微博账号须把 rip 设为运营者的真实公网 IP"
        "（statuses/share 要求）",
        "渠道 weibo_lan (weibo): rip = 192.168.1.20 是回环、内网或保留地址：真实微博账号须把 rip "
        "设为运营者的真实公网 IP（statuses/share 要求）",
    ]
    assert "✓ 渠道 weibo_ok (weibo): 正常" in capsys.readouterr().out


async def test_a_sandbox_account_needs_no_rip_and_sends_loopback(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    api = "http://127.0.0.1:9/_sandbox/weibo"
    respx_mock.post(f"{api}/oauth2/get_token_info").respond(
        json={"uid": 1, "appkey": "1", "expire_in": 86400 * 30}
    )
    share = respx_mock.post(f"{api}/2/statuses/share.json").respond(json=status_object())
    adapter = make_adapter(http, sandbox=True, api_base=api)
    await adapter.check()
    await adapter.publish(make_post())
    assert parse_qs(share.calls.last.request.content.decode())["rip"] == ["127.0.0.1"]


# -- templates and the summary fallback, through intake ----------------------------------


WARNING = {
    "kind": "weather_warning",
    "title": "滨江市气象台发布暴雨橙色预警信号",
    "body": "预计未来3小时内，滨江区、临江县将出现50毫米以上降雨。",
    "fields": {
        "signal": "暴雨",
        "color": "橙色",
        "issuer": "滨江市气象台",
        "issued_at": "2026-07-01T14:00:00+08:00",
        "area": ["滨江区", "临江县"],
        "advice": ["停止露天作业和户外活动", "危险地带人员撤离"],
    },
}
LONG_BODY = "预计未来3小时内，滨江区、临江县、高新区、经开区将出现50毫米以上降雨，" * 6


@pytest.fixture
async def intake(tmp_path: Path) -> AsyncIterator[Intake]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/publisher.db",
        base_url="https://www.ajj.example.gov.cn",
        templates_dir=REPO_ROOT / "templates",
        accounts={"weibo": {"type": "weibo", "access_token": "t", "display_name": "滨江应急"}},
    )
    async with open_intake(settings, Clock(), None) as intake:
        yield intake


async def rendered_body(intake: Intake, notice_id: int) -> str:
    record = await intake.store.get_notice(notice_id)
    (delivery,) = record.deliveries
    return str(delivery.rendered["parts"]["body"])


async def test_a_warning_that_fits_goes_out_in_full(intake: Intake) -> None:
    submitted = await intake.submit(parse_notice(WARNING), source="test", actor="duty")
    body = await rendered_body(intake, submitted.notice_id)
    assert body == (
        "【暴雨橙色预警】滨江市气象台7月1日14时发布：预计未来3小时内，滨江区、临江县将出现"
        "50毫米以上降雨。防御提示：停止露天作业和户外活动。"
    )
    assert weibo_length(body) <= 128


@pytest.mark.parametrize(
    ("issued_at", "written"),
    [
        ("2026-07-01T14:30:00+08:00", "7月1日14时30分"),
        ("2026-07-01T09:00:00+08:00", "7月1日9时"),
        (datetime(2026, 7, 1, 14, 30, tzinfo=timezone(timedelta(hours=8))), "7月1日14时30分"),
        # not Beijing time: as written (a time without an offset, or free text, is refused)
        ("2026-07-01T06:30:00+00:00", "2026-07-01T06:30:00+00:00"),
    ],
)
async def test_the_issue_time_is_written_the_chinese_way(
    intake: Intake, issued_at: Any, written: str
) -> None:
    notice = parse_notice({**WARNING, "fields": {**WARNING["fields"], "issued_at": issued_at}})
    body = intake.preview(notice, intake.channels.get("weibo")).rendered.body
    assert body.startswith(f"【暴雨橙色预警】滨江市气象台{written}发布：")


async def test_a_long_warning_falls_back_to_its_summary(intake: Intake) -> None:
    notice = parse_notice(
        {**WARNING, "body": LONG_BODY, "summary": "滨江区、临江县未来3小时有50毫米以上降雨。"}
    )
    submitted = await intake.submit(notice, source="test", actor="duty")
    body = await rendered_body(intake, submitted.notice_id)
    assert body == (
        "【暴雨橙色预警】滨江市气象台7月1日14时发布：滨江区、临江县未来3小时有50毫米以上降雨。"
    )


YICHUN = {
    "kind": "weather_warning",
    "title": "伊春市气象台发布暴雨橙色预警信号",
    "body": (
        "伊春市气象台2026年12月4日5时发布暴雨橙色预警信号：受强降雨云团影响，过去6小时伊春市区、"
        "铁力市部分地区降雨量已达100毫米以上，预计未来3小时内上述地区仍将出现50毫米以上的强降雨，"
        "并伴有雷电和8级以上短时大风，山区发生山洪、泥石流、滑坡等地质灾害的风险较高，城区低洼"
        "地带易发生积涝。根据《伊春市气象灾害预警信号发布办法》（伊政办发〔2026〕30号），请各单位"
        "按照职责做好防御工作。"
    ),
    "fields": {
        "signal": "暴雨",
        "color": "橙色",
        "issuer": "伊春市气象台",
        "issued_at": "2026-12-04T05:00:00+08:00",
        "area": ["伊春市区", "铁力市"],
        "advice": ["政府及相关部门按照职责做好防暴雨应急工作"],
    },
}


async def test_a_long_warning_without_summary_is_cut_at_a_clause_end(intake: Intake) -> None:
    # used to be refused: "weibo: body: 291 字，超过上限 128 字"
    submitted = await intake.submit(parse_notice(YICHUN), source="t", actor="d")
    body = await rendered_body(intake, submitted.notice_id)
    assert body == (
        "【暴雨橙色预警】伊春市气象台2026年12月4日5时发布暴雨橙色预警信号：受强降雨云团影响，"
        "过去6小时伊春市区、铁力市部分地区降雨量已达100毫米以上，预计未来3小时内上述地区仍将"
        "出现50毫米以上的强降雨，并伴有雷电和8级以上短时大风……"
    )
    status = intake.channels.get("weibo").adapter.status_text(make_post(body, 7))
    assert status.endswith("…… https://www.ajj.example.gov.cn/portal/notices/7")
    assert weibo_length(status) <= 140


@pytest.mark.parametrize("repeat", range(1, 12))
async def test_every_cut_keeps_numbers_and_document_numbers_whole(
    intake: Intake, repeat: int
) -> None:
    clause = "本次过程累计降雨量达100毫米，依据伊政办发〔2026〕30号文件，"
    notice = parse_notice({**YICHUN, "body": "请注意，" + clause * repeat + "请做好防御。"})
    body = intake.preview(notice, intake.channels.get("weibo")).rendered.body
    assert weibo_length(body) <= 128
    head = body.removesuffix("……").removesuffix("。")  # cut, or whole up to the advice
    ends = ("请注意", "100毫米", "30号文件", "请做好防御", "铁力市", "应急工作")
    assert head.endswith(ends), head


async def test_the_warning_lead_says_the_issuer_once(intake: Intake) -> None:
    # used to read "伊春市气象台12月4日5时发布：伊春市气象台2026年12月4日5时发布…"
    body = intake.preview(parse_notice(YICHUN), intake.channels.get("weibo")).rendered.body
    assert body.count("伊春市气象台") == 1
    assert body.startswith("【暴雨橙色预警】伊春市气象台2026年12月4日5时发布暴雨橙色预警信号：")
    later = {**YICHUN, "body": "12月4日5时，伊春市气象台发布暴雨橙色预警信号。"}
    body = intake.preview(parse_notice(later), intake.channels.get("weibo")).rendered.body
    assert body.startswith("【暴雨橙色预警】12月4日5时，伊春市气象台发布")


async def test_a_penalty_table_with_a_summary_posts_the_summary(intake: Intake) -> None:
    rows = [[n, f"伊春市第{n}建筑工程有限公司", f"罚款{n}万元"] for n in range(1, 31)]
    summary = "本局公开2026年第三季度安全生产行政处罚决定30件。"
    notice = parse_notice(
        {
            "kind": "penalty_disclosure",
            "title": "2026年第三季度安全生产行政处罚结果公开",
            "body": "现将本局2026年第三季度作出的行政处罚决定予以公开。",
            "summary": summary,
            "fields": {"period": "2026年第三季度"},
            "table": {"columns": ["序号", "当事人名称", "处罚内容"], "rows": rows},
        }
    )
    preview = intake.preview(notice, intake.channels.get("weibo"))
    assert preview.rendered.body == f"【行政处罚公示】{summary}"
    without = parse_notice({**notice.model_dump(mode="json"), "summary": None})
    generated = intake.preview(without, intake.channels.get("weibo")).rendered.body
    assert generated == "【行政处罚公示】本局公示2026年第三季度行政处罚决定共30件，详见链接。"


async def test_a_summary_too_long_is_cut_too(intake: Intake) -> None:
    notice = parse_notice({**YICHUN, "summary": "伊春市区、铁力市未来3小时有50毫米以上降雨，" * 8})
    body = intake.preview(notice, intake.channels.get("weibo")).rendered.body
    assert body.endswith("50毫米以上降雨……") and weibo_length(body) <= 128


async def test_an_approval_list_is_one_line_never_a_table(intake: Intake) -> None:
    rows = [[str(n), f"滨江化工{n}号有限公司", "危险化学品经营许可"] for n in range(1, 38)]
    notice = parse_notice(
        {
            "kind": "approval_list",
            "title": "2026年10月行政许可事项公示",
            "body": "详见附表。",
            "fields": {"period": "2026年10月"},
            "table": {"columns": ["序号", "单位名称", "许可事项"], "rows": rows},
        }
    )
    preview = intake.preview(notice, intake.channels.get("weibo"))
    assert preview.violations == []
    expected = "【行政许可公示】本局公示2026年10月行政许可事项共37项，详见链接。"
    assert preview.rendered.body == expected


async def test_templates_never_write_a_topic(intake: Intake) -> None:
    notice = parse_notice(
        {"kind": "general", "title": "开展#安全生产月#活动", "body": "3#厂房完成整改。"}
    )
    body = intake.preview(notice, intake.channels.get("weibo")).rendered.body
    assert topics(body) == []
    assert body == "【开展＃安全生产月＃活动】3＃厂房完成整改。"


# -- the sandbox over real HTTP on 127.0.0.1 ---------------------------------------------


class SandboxClock:
    def __init__(self) -> None:
        self.current = 1_780_000_000.0

    def __call__(self) -> float:
        return self.current


def test_the_adapter_class_offers_its_sandbox() -> None:
    router = WeiboAdapter.sandbox()
    assert isinstance(router, APIRouter)
    paths = {getattr(r, "path", "") for r in router.routes}
    assert {
        "/2/statuses/share.json",
        "/2/statuses/count.json",
        "/oauth2/get_token_info",
        "/posts",
        "/faults",
    } <= paths


async def test_against_the_sandbox_over_real_http() -> None:
    clock = SandboxClock()
    sandbox = WeiboSandbox(clock=clock)
    with serve_router(sandbox.router, "/_sandbox/weibo") as base:
        async with httpx.AsyncClient(timeout=5) as http:
            adapter = make_adapter(
                http, base_url=base, sandbox=True, portal_base=None, access_token="sandbox-token"
            )
            await adapter.check()

            # a post, seen by the sandbox exactly as sent, with the safe-domain link
            result = await adapter.publish(make_post("【暴雨橙色预警】请注意防范。", notice_id=3))
            listing = (await http.get(f"{base}/_sandbox/weibo/posts")).json()
            assert listing["count"] == 1
            assert listing["posts"][0]["text"] == (
                f"【暴雨橙色预警】请注意防范。 {base}/portal/notices/3"
            )
            assert listing["posts"][0]["idstr"] == result.remote_id
            assert result.url is not None
            assert (await http.get(result.url)).json()["idstr"] == result.remote_id

            # the same status again: Weibo says "repeat content", which counts as posted
            with pytest.raises(Duplicate):
                await adapter.publish(make_post("【暴雨橙色预警】请注意防范。", notice_id=3))

            # the sandbox measures the way the adapter declares: 128 字 fit, 129 do not
            await adapter.publish(make_post("汉" * 128, notice_id=123456))
            with pytest.raises(PermanentError, match="20012"):
                await adapter.publish(make_post("汉" * 129, notice_id=123457))

            # counts grow with time
            ref = PostRef(
                delivery_id=1,
                remote_id=result.remote_id,
                url=result.url,
                idempotency_key="k",
                posted_at=NOW,
            )
            assert {s.value for s in await adapter.fetch_metrics([ref])} == {0}
            clock.current += 600
            later = {s.metric: s.value for s in await adapter.fetch_metrics([ref])}
            assert later == {"comments": 6, "reposts": 10, "likes": 30}

            # injected errors and a lost reply
            await http.put(
                f"{base}/_sandbox/weibo/faults", json={"error_rate": 1, "error_code": 10023}
            )
            with pytest.raises(RateLimited):
                await adapter.publish(make_post("限流测试", notice_id=8))
            await http.put(
                f"{base}/_sandbox/weibo/faults", json={"lost_reply": True, "lost_reply_seconds": 2}
            )
            slow = make_adapter(
                http,
                base_url=base,
                sandbox=True,
                portal_base=None,
                access_token="sandbox-token",
                timeout=0.3,
            )
            with pytest.raises(OutcomeUnknown):
                await slow.publish(make_post("回复丢失测试", notice_id=9))
            listing = (await http.get(f"{base}/_sandbox/weibo/posts")).json()
            assert listing["posts"][-1]["text"].startswith("回复丢失测试 ")  # it did arrive

            # the token expires in the middle of the day's posting
            await http.put(f"{base}/_sandbox/weibo/faults", json={"expire_token": "sandbox-token"})
            with pytest.raises(CredentialsInvalid, match="21327"):
                await adapter.publish(make_post("令牌过期测试", notice_id=10))
            with pytest.raises(CredentialsInvalid):
                await adapter.check()
            other = make_adapter(http, base_url=base, sandbox=True, access_token="another")
            await other.check()  # only that token expired
