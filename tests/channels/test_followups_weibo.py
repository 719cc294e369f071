"""Weibo and issue 11: a withdrawal deletes the original status (statuses/destroy) when Weibo
lets it, else posts the 【撤回】 correction and says why — with respx, and against the Weibo
sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from followup_kit import NOW, PORTAL, follows_of, notice_view
from sandbox_server import serve_router

from channels.weibo import WeiboAdapter, WeiboOptions
from channels.weibo.sandbox import WeiboSandbox
from publisher.contract import (
    AccountContext,
    Format,
    OutgoingPost,
    PostRef,
    Rendered,
)
from publisher.errors import TransientError

API = "https://api.weibo.com"
CORRECTION = (
    "【撤回】关于某公司行政处罚决定的公示 市安全生产监督管理局撤回7月1日14时发布的"
    "《关于某公司行政处罚决定的公示》，原信息作废，请勿再转发。撤回原因：处罚决定已被依法撤销。"
)


class Clock:
    def now(self) -> datetime:
        return NOW


def make_adapter(http: httpx.AsyncClient, base_url: str = PORTAL, **options: Any) -> WeiboAdapter:
    raw = {"access_token": "2.00abcTOKEN", "portal_base": PORTAL, "rip": "211.156.0.1", **options}
    ctx = AccountContext(
        account="weibo",
        options=WeiboOptions.model_validate(raw),
        http=http,
        clock=Clock(),
        tokens=None,  # type: ignore[arg-type]  # Weibo has nothing to refresh
        log=logging.getLogger("test.weibo.followups"),
        base_url=base_url,
    )
    return WeiboAdapter(ctx)


def original_ref(remote_id: str | None = "4990000000000123") -> PostRef:
    return PostRef(1, remote_id, f"https://weibo.com/1/{remote_id}", "k-1", NOW, {})


def withdrawal(recall: PostRef | None, body: str = CORRECTION, notice_id: int = 43) -> OutgoingPost:
    title = "关于某公司行政处罚决定的公示"
    follows = follows_of("withdraws", 42, title, "处罚决定已被依法撤销")
    notice = notice_view(notice_id, "penalty_disclosure", "撤回", body="撤回", follows=follows)
    return OutgoingPost(
        delivery_id=8,
        account="weibo",
        idempotency_key="k-8",
        notice=notice,
        rendered=Rendered(Format.TEXT, {"body": body}),
        attempt=1,
        recall=recall,
    )


def status(mid: str) -> dict[str, Any]:
    return {"id": int(mid), "idstr": mid, "mid": mid, "user": {"id": 1, "idstr": "1"}}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def weibo() -> respx.MockRouter:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        router.post("/2/statuses/destroy.json", name="destroy")
        router.post("/2/statuses/share.json", name="share").respond(json=status("4990000000000999"))
        yield router


def form(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.content.decode()).items()}


async def test_a_withdrawal_destroys_the_original_status(
    weibo: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    weibo["destroy"].respond(json=status("4990000000000123"))

    result = await make_adapter(http).publish(withdrawal(original_ref()))

    assert form(weibo["destroy"].calls.last) == {
        "access_token": "2.00abcTOKEN",
        "id": "4990000000000123",
    }
    assert result.remote_id == "4990000000000123"
    assert result.detail == {"recalled": True} and result.note == "已撤回原微博"
    assert not weibo["share"].called


async def test_insufficient_permission_turns_into_a_correction_status(
    weibo: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    weibo["destroy"].respond(
        400,
        json={
            "request": "/2/statuses/destroy.json",
            "error_code": "10014",
            "error": "Insufficient app permissions!",
        },
    )

    result = await make_adapter(http).publish(withdrawal(original_ref()))

    assert form(weibo["share"].calls.last)["status"] == f"{CORRECTION} {PORTAL}/portal/notices/43"
    assert result.remote_id == "4990000000000999"
    assert result.detail["recalled"] is False and result.detail["correction"] is True
    assert result.note is not None
    assert result.note.startswith(
        "未撤回原帖（平台拒绝撤回：微博拒绝: Insufficient app permissions!"
    )
    assert "10014" in result.note and result.note.endswith("已改发撤回说明")


async def test_a_status_already_gone_counts_as_withdrawn(
    weibo: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    weibo["destroy"].respond(
        400, json={"request": "/x", "error_code": 20101, "error": "target weibo does not exist!"}
    )
    result = await make_adapter(http).publish(withdrawal(original_ref()))
    assert result.detail == {"recalled": True, "already_gone": True}
    assert not weibo["share"].called


@pytest.mark.parametrize(
    ("options", "recall", "why"),
    [
        ({"recall": False}, original_ref(), "本账号设置为不撤回原帖（recall = false）"),
        ({}, None, "本账号没有原通知的发布记录"),
        ({}, original_ref(None), "原帖没有平台返回的消息 ID，无法撤回"),
    ],
)
async def test_without_a_recall_the_withdrawal_is_a_correction(
    weibo: respx.MockRouter,
    http: httpx.AsyncClient,
    options: dict[str, Any],
    recall: PostRef | None,
    why: str,
) -> None:
    result = await make_adapter(http, **options).publish(withdrawal(recall))
    assert not weibo["destroy"].called and weibo["share"].called
    assert result.note == f"未撤回原帖（{why}），已改发撤回说明"


async def test_a_transient_failure_of_destroy_is_retried_not_corrected(
    weibo: respx.MockRouter, http: httpx.AsyncClient
) -> None:
    weibo["destroy"].respond(503)
    with pytest.raises(TransientError):
        await make_adapter(http).publish(withdrawal(original_ref()))
    assert not weibo["share"].called


# -- the sandbox over real HTTP ---------------------------------------------------------


async def test_against_the_sandbox_the_original_is_deleted_or_corrected() -> None:
    sandbox = WeiboSandbox()
    with serve_router(sandbox.router, "/_sandbox/weibo") as base:
        async with httpx.AsyncClient(timeout=5) as http:
            adapter = make_adapter(
                http, base_url=base, sandbox=True, portal_base=None, access_token="sbx-token"
            )
            original = await adapter.publish(
                OutgoingPost(
                    1,
                    "weibo",
                    "k1",
                    withdrawal(None).notice,
                    Rendered(Format.TEXT, {"body": "处罚公示"}),
                    1,
                )
            )
            ref = PostRef(1, original.remote_id, original.url, "k1", NOW, original.detail)

            result = await adapter.publish(withdrawal(ref))
            assert result.detail == {"recalled": True}
            listing = (await http.get(f"{base}/_sandbox/weibo/posts")).json()
            (post,) = listing["posts"]
            assert post["idstr"] == original.remote_id and post["deleted"] is True
            assert (await http.get(original.url or "")).json()["error_code"] == "20101"

            # Weibo refuses destroy to an app without the permission: a correction instead
            second = await adapter.publish(
                OutgoingPost(
                    2,
                    "weibo",
                    "k2",
                    withdrawal(None).notice,
                    Rendered(Format.TEXT, {"body": "公示二"}),
                    1,
                )
            )
            await http.put(f"{base}/_sandbox/weibo/faults", json={"destroy_refused": True})
            ref2 = PostRef(2, second.remote_id, second.url, "k2", NOW, second.detail)
            corrected = await adapter.publish(withdrawal(ref2, notice_id=44))
            assert corrected.note is not None and "10014" in corrected.note
            texts = [
                p["text"] for p in (await http.get(f"{base}/_sandbox/weibo/posts")).json()["posts"]
            ]
            assert texts[-1] == f"{CORRECTION} {base}/portal/notices/44"
            assert not next(
                p
                for p in (await http.get(f"{base}/_sandbox/weibo/posts")).json()["posts"]
                if p["idstr"] == second.remote_id
            ).get("deleted")
