"""WeChat and issue 11: which warnings are pushed to followers (mass send), the day's and the
month's quota, follow-ups, and withdrawals (freepublish/delete, mass/delete, else a 【撤回】
article) — against the WeChat sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from followup_kit import follows_of, notice_view
from helpers import FakeTokens
from sandbox_server import serve_router

from channels.wechat import QUOTA_NOTE, WechatAdapter, WechatOptions
from channels.wechat.policy import MONTH_QUOTA_NOTE, decide
from publisher.clock import SystemClock
from publisher.contract import (
    AccountContext,
    Format,
    OutgoingPost,
    PostRef,
    PublishResult,
    Rendered,
)

APPID = "wx1234567890abcdef"
RED = {"signal": "暴雨", "color": "红色", "issuer": "滨江市气象台"}
ORANGE = {**RED, "color": "橙色"}


@contextlib.contextmanager
def serve() -> Iterator[str]:
    with serve_router(WechatAdapter.sandbox(), "/_sandbox/wechat") as base:
        yield f"{base}/_sandbox/wechat"


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    with serve() as base:
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.put(f"{base}/faults", json={"publish_seconds": 0.1})
            assert reply.status_code == 200
            yield base, client


def make_adapter(
    client: httpx.AsyncClient, base: str, tokens: FakeTokens | None = None, **options: Any
) -> WechatAdapter:
    raw = {"appid": APPID, "secret": "app-secret", "api_base": base, **options}
    ctx = AccountContext(
        account="wx",
        options=WechatOptions.model_validate(raw),
        http=client,
        clock=SystemClock(),
        tokens=tokens if tokens is not None else FakeTokens(),
        log=logging.getLogger("test.wechat.followups"),
        base_url="https://www.ajj.example.gov.cn",
    )
    return WechatAdapter(ctx)


def post(
    title: str,
    fields: dict[str, Any],
    key: str,
    *,
    kind: str = "weather_warning",
    follows: dict[str, Any] | None = None,
    recall: PostRef | None = None,
    notice_id: int = 7,
) -> OutgoingPost:
    notice = notice_view(notice_id, kind, title, fields=fields, follows=follows)
    rendered = Rendered(Format.HTML, {"title": title, "digest": title, "body": f"<p>{title}</p>"})
    return OutgoingPost(
        delivery_id=notice_id,
        account="wx",
        idempotency_key=key,
        notice=notice,
        rendered=rendered,
        attempt=1,
        recall=recall,
    )


def follows(relation: str, reason: str | None = None) -> dict[str, Any]:
    return follows_of(relation, 7, "暴雨红色预警", reason)


async def settle(adapter: WechatAdapter, started: PublishResult) -> PublishResult:
    result = started
    for _ in range(100):
        if not result.confirming:
            return result
        await asyncio.sleep(0.05)
        result = await adapter.confirm(ref(result))
    raise AssertionError("never confirmed")


def ref(result: PublishResult, delivery_id: int = 7) -> PostRef:
    return PostRef(delivery_id, result.remote_id, result.url, "k", None, result.detail)


async def publish_penalty(adapter: WechatAdapter) -> PublishResult:
    """A general notice (an article, not pushed), published and confirmed."""
    return await settle(adapter, await adapter.publish(post("处罚公示", {}, "p", kind="general")))


def penalty_withdrawal(original: PublishResult) -> OutgoingPost:
    """The withdrawal of :func:`publish_penalty`'s notice."""
    return post(
        "【撤回】处罚公示",
        {},
        "w",
        kind="general",
        follows=follows("withdraws", "处罚决定已撤销"),
        recall=ref(original),
        notice_id=9,
    )


async def sendalls(client: httpx.AsyncClient, base: str) -> int:
    listing = (await client.get(f"{base}/posts")).json()
    return [p["path"] for p in listing["posts"]].count("/cgi-bin/message/mass/sendall")


# -- the policy -------------------------------------------------------------------------


def test_by_default_only_red_warnings_and_no_follow_ups_are_pushed() -> None:
    options = WechatOptions.model_validate({"appid": APPID, "secret": "s"})
    assert options.mass_send_colors == ("红色",) and options.mass_send_followups is False
    assert decide(options, "weather_warning", RED).push
    orange = decide(options, "weather_warning", ORANGE)
    assert not orange.push
    assert orange.note == (
        "按本账号设置只群发推送红色预警（mass_send_colors），本条是橙色预警，"
        "本条已发布但未推送给关注者"
    )
    lift = decide(options, "weather_warning", RED, follows("lifts"))
    assert not lift.push and lift.note and "mass_send_followups" in lift.note
    assert decide(options, "general", {}) == decide(options, "general", {})  # not a pushed kind
    assert not decide(options, "general", {}).push and decide(options, "general", {}).note is None


def test_an_unknown_colour_in_the_options_is_refused() -> None:
    with pytest.raises(ValueError, match="未知的预警颜色 '紫色'"):
        WechatOptions.model_validate({"appid": APPID, "secret": "s", "mass_send_colors": ["紫色"]})


# -- the scenario of the issue: the day's one send must be left for the red -------------


async def test_with_the_default_policy_the_orange_is_not_pushed_and_the_red_after_it_is(
    sandbox: tuple[str, httpx.AsyncClient],
) -> None:
    base, client = sandbox
    adapter = make_adapter(client, base)

    orange = await adapter.publish(post("暴雨橙色预警", ORANGE, "orange"))
    assert orange.detail["mode"] == "freepublish"  # published, not pushed
    assert orange.note is not None and "本条是橙色预警" in orange.note
    settled = await settle(adapter, orange)
    assert settled.url and settled.note == orange.note  # the posted delivery says why

    red = await adapter.publish(post("暴雨红色预警", RED, "red"))
    assert red.detail["mode"] == "masssend" and red.note is None  # reached the followers
    assert (await settle(adapter, red)).detail["msg_status"] == "SEND_SUCCESS"
    assert await sendalls(client, base) == 1


async def test_an_account_that_opts_in_to_orange_spends_the_day_on_it(
    sandbox: tuple[str, httpx.AsyncClient],
) -> None:
    base, client = sandbox
    adapter = make_adapter(client, base, mass_send_colors=["橙色", "红色"])

    orange = await settle(adapter, await adapter.publish(post("暴雨橙色预警", ORANGE, "o")))
    assert orange.detail["mode"] == "masssend"
    red = await adapter.publish(post("暴雨红色预警", RED, "r"))
    assert red.detail["mode"] == "freepublish" and red.note == QUOTA_NOTE
    assert QUOTA_NOTE == "今日群发次数已用完，本条已发布但未推送给关注者"


async def test_a_service_account_s_month_quota_is_counted_before_sending(
    sandbox: tuple[str, httpx.AsyncClient],
) -> None:
    base, client = sandbox
    await client.put(
        f"{base}/faults",
        json={"publish_seconds": 0.1, "mass_sends_per_day": 100, "mass_sends_per_month": 4},
    )
    tokens = FakeTokens()
    adapter = make_adapter(client, base, tokens, mass_sends_per_day=100, mass_sends_per_month=2)

    for key in ("r1", "r2"):
        pushed = await adapter.publish(post("暴雨红色预警", RED, key))
        assert pushed.detail["mode"] == "masssend"
    third = await adapter.publish(post("暴雨红色预警", RED, "r3"))
    assert third.detail["mode"] == "freepublish"
    assert third.note == MONTH_QUOTA_NOTE == "本月群发次数已用完，本条已发布但未推送给关注者"
    assert await sendalls(client, base) == 2  # never asked WeChat for the third
    month = datetime.now(UTC) + timedelta(hours=8)
    book = tokens.values[("wx", f"masssend-month:{month:%Y-%m}")][0]
    assert json.loads(book)["sent"] == 2


async def test_a_lift_is_published_but_not_pushed_unless_the_account_says_so(
    sandbox: tuple[str, httpx.AsyncClient],
) -> None:
    base, client = sandbox
    lift = post("【解除】暴雨红色预警", RED, "lift", follows=follows("lifts"), notice_id=8)

    quiet = await make_adapter(client, base).publish(lift)
    assert quiet.detail["mode"] == "freepublish"
    assert quiet.note is not None and "mass_send_followups = false" in quiet.note

    loud = make_adapter(client, base, mass_send_followups=True)
    pushed = await loud.publish(
        post("【解除】暴雨红色预警", RED, "lift2", follows=follows("lifts"))
    )
    assert pushed.detail["mode"] == "masssend"


# -- withdrawals ------------------------------------------------------------------------


async def test_a_withdrawal_deletes_the_published_article(
    sandbox: tuple[str, httpx.AsyncClient],
) -> None:
    base, client = sandbox
    adapter = make_adapter(client, base)
    original = await publish_penalty(adapter)
    assert (
        original.detail["article_id"] and (await client.get(original.url or "")).status_code == 200
    )

    withdrawal = penalty_withdrawal(original)
    result = await adapter.publish(withdrawal)

    assert result.remote_id == original.remote_id and result.detail["recalled"] is True
    assert not result.confirming and result.note == "已撤回原文章"
    articles = (await client.get(f"{base}/posts")).json()["articles"]
    (gone,) = [a for a in articles if a["article_id"] == original.detail["article_id"]]
    assert gone["deleted"] is True
    assert (await client.get(original.url or "")).status_code == 404
    assert not any("撤回" in a["title"] for a in articles)  # no correction article


async def test_a_withdrawal_of_a_pushed_warning_deletes_the_mass_send(
    sandbox: tuple[str, httpx.AsyncClient],
) -> None:
    base, client = sandbox
    adapter = make_adapter(client, base)
    original = await settle(adapter, await adapter.publish(post("暴雨红色预警", RED, "red")))
    assert original.detail["mode"] == "masssend"

    result = await adapter.publish(
        post(
            "【撤回】暴雨红色预警",
            RED,
            "w",
            follows=follows("withdraws", "误发"),
            recall=ref(original),
        )
    )
    assert result.detail["recalled"] is True
    paths = [p["path"] for p in (await client.get(f"{base}/posts")).json()["posts"]]
    assert "/cgi-bin/message/mass/delete" in paths
    status = await client.post(
        f"{base}/cgi-bin/message/mass/get",
        params={"access_token": (await adapter.token.fetch(force=False))},
        json={"msg_id": original.remote_id},
    )
    assert status.json()["msg_status"] == "DELETE"


@pytest.mark.parametrize(
    ("options", "fault", "said"),
    [
        ({"recall": False}, {}, "本账号设置为不撤回原帖（recall = false）"),
        ({}, {"delete_unauthorized": True}, "平台拒绝撤回"),
    ],
)
async def test_a_withdrawal_that_cannot_delete_posts_a_correction_and_says_why(
    sandbox: tuple[str, httpx.AsyncClient],
    options: dict[str, Any],
    fault: dict[str, Any],
    said: str,
) -> None:
    base, client = sandbox
    adapter = make_adapter(client, base, **options)
    original = await publish_penalty(adapter)
    await client.put(f"{base}/faults", json={"publish_seconds": 0.1, **fault})

    withdrawal = penalty_withdrawal(original)
    started = await adapter.publish(withdrawal)
    assert started.note is not None and said in started.note and "已改发撤回说明" in started.note
    correction = await settle(adapter, started)
    assert correction.note == started.note  # the posted delivery keeps saying why
    assert correction.detail["recalled"] is False and correction.detail["correction"] is True
    assert correction.url and "【撤回】处罚公示" in (await client.get(correction.url)).text
    assert (await client.get(original.url or "")).status_code == 200  # the original stays


async def test_a_withdrawal_without_the_original_post_is_a_correction(
    sandbox: tuple[str, httpx.AsyncClient],
) -> None:
    base, client = sandbox
    adapter = make_adapter(client, base)
    withdrawal = post(
        "【撤回】处罚公示", {}, "w", kind="general", follows=follows("withdraws", "误发")
    )
    started = await adapter.publish(withdrawal)
    assert started.note == "未撤回原帖（本账号没有原通知的发布记录），已改发撤回说明"
