"""The generic webhook adapter: what it sends, how each answer is classified (respx, table
driven), lookup, check, and the adapter against the sandbox sink over real HTTP."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from helpers import FakeTokens, context
from sandbox_server import serve_router

from channels.webhook import WebhookAdapter, WebhookOptions
from channels.webhook.sandbox import WebhookSink
from publisher.clock import SystemClock
from publisher.contract import Format, Idempotency, NoticeView, OutgoingPost, Rendered
from publisher.errors import (
    ChannelError,
    CredentialsInvalid,
    Duplicate,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)

URL = "https://oa.example.gov.cn/api/notices"
LOOKUP = "https://oa.example.gov.cn/api/notices/by-key/{key}"
SECRET = "Bearer s3cr3t-oa-token"


def adapter(http: httpx.AsyncClient | None = None, **options: Any) -> WebhookAdapter:
    opts = WebhookOptions(**{"url": URL, **options})
    return WebhookAdapter(context("oa", opts, SystemClock(), http=http, tokens=FakeTokens()))


def post(key: str = "key-0001") -> OutgoingPost:
    notice = NoticeView(
        id=12,
        kind="weather_warning",
        title="暴雨橙色预警",
        body="预计未来3小时有强降雨。",
        summary="暴雨橙色预警",
        table=None,
        fields={"color": "橙色"},
        urgent=True,
        publish_at=None,
        created_at=datetime(2026, 7, 1, 6, 0, tzinfo=UTC),
    )
    return OutgoingPost(
        delivery_id=34,
        account="oa",
        idempotency_key=key,
        notice=notice,
        rendered=Rendered(Format.MARKDOWN, {"title": "【预警】暴雨橙色预警", "body": "**正文**"}),
        attempt=1,
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


# -- what is sent ---------------------------------------------------------------------------


@respx.mock
async def test_publish_sends_the_rendered_notice_with_key_and_auth(
    http: httpx.AsyncClient,
) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(201, json={"id": "n-1"}))
    await adapter(http, auth_header=SECRET).publish(post("key-abc"))
    request = route.calls.last.request
    assert request.headers["Idempotency-Key"] == "key-abc"
    assert request.headers["Authorization"] == SECRET
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    assert body["title"] == "【预警】暴雨橙色预警" and body["body"] == "**正文**"
    assert body["format"] == "markdown" and body["kind"] == "weather_warning"
    assert (body["notice_id"], body["delivery_id"], body["idempotency_key"]) == (12, 34, "key-abc")
    assert body["urgent"] is True and body["fields"] == {"color": "橙色"}


@respx.mock
async def test_no_authorization_header_without_a_configured_secret(
    http: httpx.AsyncClient,
) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(201, json={"id": "n-1"}))
    await adapter(http).publish(post())
    assert "Authorization" not in route.calls.last.request.headers


def test_the_secret_never_prints() -> None:
    options = WebhookOptions(url=URL, auth_header=SECRET)
    for text in (repr(options), str(options), json.dumps(options.model_dump(mode="json"))):
        assert "s3cr3t" not in text
    assert options.auth_header is not None
    assert options.auth_header.get_secret_value() == SECRET


# -- how answers are read ---------------------------------------------------------------------

SUCCESS = [
    # (options, status, reply, expected remote id, expected url)
    (
        {},
        201,
        {"id": "n-1", "url": "https://oa.example.gov.cn/n/1"},
        "n-1",
        "https://oa.example.gov.cn/n/1",
    ),
    ({}, 200, {"id": 77}, "77", None),
    (
        {"id_path": "data.post.id", "url_path": "data.post.link"},
        201,
        {"data": {"post": {"id": 9, "link": "https://oa/p/9"}}},
        "9",
        "https://oa/p/9",
    ),
    ({"id_path": "items.0.id", "url_path": None}, 202, {"items": [{"id": "first"}]}, "first", None),
    ({}, 204, None, None, None),
]


@pytest.mark.parametrize(("options", "status", "reply", "remote_id", "url"), SUCCESS)
@respx.mock
async def test_success_reads_id_and_url_from_the_reply(
    http: httpx.AsyncClient,
    options: dict[str, Any],
    status: int,
    reply: Any,
    remote_id: str | None,
    url: str | None,
) -> None:
    response = httpx.Response(status, json=reply) if reply is not None else httpx.Response(status)
    respx.post(URL).mock(return_value=response)
    result = await adapter(http, **options).publish(post())
    assert (result.remote_id, result.url) == (remote_id, url)
    assert not result.confirming


FAILURES: list[tuple[httpx.Response, type[ChannelError], Any, str]] = [
    # (reply, error class, error code, words the user must see)
    (httpx.Response(409, json={"id": "n-1", "url": "https://oa/n/1"}), Duplicate, 409, ""),
    (httpx.Response(429, headers={"Retry-After": "17"}), RateLimited, 429, "429"),
    (httpx.Response(500, text="internal error"), TransientError, 500, "internal error"),
    (httpx.Response(502), TransientError, 502, "502"),
    (httpx.Response(503, json={"error": "维护中"}), TransientError, 503, "维护中"),
    (httpx.Response(408), TransientError, 408, "408"),
    (httpx.Response(401, json={"error": "令牌无效"}), CredentialsInvalid, 401, "令牌无效"),
    (httpx.Response(403, json={"message": "无权限"}), CredentialsInvalid, 403, "无权限"),
    (httpx.Response(400, json={"error": "标题不能为空"}), PermanentError, 400, "标题不能为空"),
    (httpx.Response(422, json={"detail": "body too long"}), PermanentError, 422, "body too long"),
    (httpx.Response(404, text="no such endpoint"), PermanentError, 404, "no such endpoint"),
]


@pytest.mark.parametrize(("response", "error", "code", "words"), FAILURES)
@respx.mock
async def test_failures_are_classified(
    http: httpx.AsyncClient,
    response: httpx.Response,
    error: type[ChannelError],
    code: Any,
    words: str,
) -> None:
    respx.post(URL).mock(return_value=response)
    with pytest.raises(error) as raised:
        await adapter(http).publish(post())
    assert type(raised.value) is error  # exactly: the class decides what the worker does
    assert raised.value.code == code
    assert words in str(raised.value)


@respx.mock
async def test_conflict_carries_the_existing_post(http: httpx.AsyncClient) -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(409, json={"id": "n-1", "url": "https://oa/n/1"})
    )
    with pytest.raises(Duplicate) as raised:
        await adapter(http).publish(post())
    assert (raised.value.remote_id, raised.value.url) == ("n-1", "https://oa/n/1")


@pytest.mark.parametrize(
    ("header", "wait"), [("17", 17.0), ("0", 0.0), (None, 60.0), ("soon", 60.0)]
)
@respx.mock
async def test_rate_limit_waits_what_the_receiver_asks(
    http: httpx.AsyncClient, header: str | None, wait: float
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    respx.post(URL).mock(return_value=httpx.Response(429, headers=headers))
    with pytest.raises(RateLimited) as raised:
        await adapter(http).publish(post())
    assert raised.value.retry_after == wait


TRANSPORT: list[tuple[Exception, type[ChannelError]]] = [
    (httpx.ConnectError("connection refused"), TransientError),
    (httpx.ConnectTimeout("connect timed out"), TransientError),
    (httpx.ReadTimeout("read timed out"), OutcomeUnknown),
    (httpx.RemoteProtocolError("server disconnected"), OutcomeUnknown),
]


@pytest.mark.parametrize(("failure", "error"), TRANSPORT)
@respx.mock
async def test_transport_failures(
    http: httpx.AsyncClient, failure: Exception, error: type[ChannelError]
) -> None:
    respx.post(URL).mock(side_effect=failure)
    with pytest.raises(error):
        await adapter(http).publish(post())


# -- capabilities -------------------------------------------------------------------------------


def test_capabilities_follow_the_options() -> None:
    caps = adapter(
        title_max=40,
        body_max=2000,
        rate_per_minute=30,
        max_concurrency=2,
        max_attempts=5,
        format=Format.HTML,
    ).capabilities
    assert caps.formats == (Format.HTML,)
    assert {(lim.part, lim.max) for lim in caps.limits} == {("title", 40), ("body", 2000)}
    assert caps.rate_limit is not None and caps.rate_limit.per_second == pytest.approx(0.5)
    assert (caps.max_concurrency, caps.max_attempts) == (2, 5)
    assert caps.idempotency is Idempotency.REMOTE_KEY


def test_lookup_idempotency_needs_a_lookup_url() -> None:
    assert adapter(idempotency="lookup").capabilities.idempotency is Idempotency.NONE
    with_url = adapter(idempotency="lookup", lookup_url=LOOKUP)
    assert with_url.capabilities.idempotency is Idempotency.LOOKUP


# -- lookup and check ---------------------------------------------------------------------------


@respx.mock
async def test_lookup_finds_the_post_under_its_key(http: httpx.AsyncClient) -> None:
    route = respx.get(LOOKUP.format(key="key-9")).mock(
        return_value=httpx.Response(200, json={"id": "n-9", "url": "https://oa/n/9"})
    )
    found = await adapter(http, idempotency="lookup", lookup_url=LOOKUP, auth_header=SECRET).lookup(
        post("key-9")
    )
    assert found is not None and (found.remote_id, found.url) == ("n-9", "https://oa/n/9")
    assert route.calls.last.request.headers["Authorization"] == SECRET


@respx.mock
async def test_lookup_404_means_certainly_not_there(http: httpx.AsyncClient) -> None:
    respx.get(LOOKUP.format(key="key-9")).mock(return_value=httpx.Response(404))
    assert await adapter(http, lookup_url=LOOKUP).lookup(post("key-9")) is None


@pytest.mark.parametrize("status", [500, 400, 401])
@respx.mock
async def test_lookup_that_cannot_tell_is_transient(http: httpx.AsyncClient, status: int) -> None:
    respx.get(LOOKUP.format(key="key-9")).mock(return_value=httpx.Response(status))
    with pytest.raises(TransientError):
        await adapter(http, lookup_url=LOOKUP).lookup(post("key-9"))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (200, None),
        (405, None),
        (401, CredentialsInvalid),
        (403, CredentialsInvalid),
        (503, TransientError),
    ],
)
@respx.mock
async def test_check(http: httpx.AsyncClient, status: int, error: type[Exception] | None) -> None:
    respx.head(URL).mock(return_value=httpx.Response(status))
    if error is None:
        await adapter(http).check()
    else:
        with pytest.raises(error, match=str(status)):
            await adapter(http).check()


# -- against the sandbox sink over real HTTP on 127.0.0.1 ----------------------------------------


@contextlib.contextmanager
def serve(sink: WebhookSink) -> Iterator[str]:
    """The sandbox on a real socket, at the path ``publisher serve`` mounts it."""
    with serve_router(sink.router, "/_sandbox/webhook") as base:
        yield f"{base}/_sandbox/webhook"


async def test_against_the_sandbox_sink_over_loopback(http: httpx.AsyncClient) -> None:
    sink = WebhookSink()
    with serve(sink) as base:
        hook = adapter(
            http,
            url=f"{base}/receive",
            lookup_url=f"{base}/lookup?key={{key}}",
            idempotency="lookup",
            auth_header=SECRET,
        )
        first = await hook.publish(post("key-live"))
        again = await hook.publish(post("key-live"))  # the sink honours the key
        assert first.remote_id == again.remote_id == "wh-1"
        assert first.url and first.url.startswith("http://127.0.0.1:")
        found = await hook.lookup(post("key-live"))
        assert found is not None and found.remote_id == "wh-1"
        assert await hook.lookup(post("key-never-sent")) is None
        sink.faults = sink.faults.model_copy(update={"error_rate": 1.0, "error_status": 503})
        with pytest.raises(TransientError, match="503"):
            await hook.publish(post("key-other"))
    assert len(sink.posts) == 1
    assert sink.posts[0]["payload"]["title"] == "【预警】暴雨橙色预警"
    assert sink.posts[0]["idempotency_key"] == "key-live"
