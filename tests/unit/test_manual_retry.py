"""Retrying a ``needs_review`` delivery never posts it twice without a person saying so.

Real webhook adapters post to the sandbox receiver over loopback (``receive-plain``: every
post it gets is a new one, so a second send shows as a second post). A delivery whose post
arrived but whose reply was lost is retried: where the channel answers lookups it is found
and marked posted, not sent again; where it cannot be asked, the retry is refused until
``--force`` / ``"force": true``, and then it is sent again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sandbox_server import serve_router

from channels.webhook.sandbox import WebhookSink
from publisher.cli import main
from publisher.notice import parse_notice
from publisher.queue.admission import AdmissionPolicy
from publisher.runtime import Runtime
from publisher.settings import Settings, load_settings
from publisher.states import Status
from publisher.store.records import ClaimRequest, Outcome
from publisher.web.app import create_app

POLICY = AdmissionPolicy(5, 30.0)


@dataclass
class Receiver:
    sink: WebhookSink
    url: str

    def posts_of(self, key: str) -> int:
        return sum(1 for p in self.sink.posts if p["idempotency_key"] == key)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    sink = WebhookSink()
    with serve_router(sink.router, "/_sandbox/webhook") as base:
        yield Receiver(sink, f"{base}/_sandbox/webhook")


@pytest.fixture
def settings(clean_env: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Settings:
    base = receiver.url
    config = f"""
database_url = "sqlite:///{clean_env / "publisher.db"}"
metrics_interval = 0
poll_interval = 0.05

[accounts.asks]
type = "webhook"
url = "{base}/receive-plain"
idempotency = "lookup"
lookup_url = "{base}/lookup?key={{key}}"

[accounts.blind]
type = "webhook"
url = "{base}/receive-plain"
idempotency = "none"
"""
    path = clean_env / "publisher.toml"
    path.write_text(config, encoding="utf-8")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(path))  # the CLI reads the same settings
    return load_settings()


async def lost_reply(settings: Settings, account: str) -> tuple[int, int, str]:
    """A notice to ``account`` whose post arrived but whose reply was lost, and which went
    to review (as after a lost reply on a channel that could not be asked then).
    Returns (notice id, delivery id, the delivery's idempotency key)."""
    rt = await Runtime.open(settings)
    try:
        title = f"回执丢失-{account}"
        notice = parse_notice(
            {"kind": "general", "title": title, "body": "请各单位落实。", "channels": [account]}
        )
        done = await rt.intake.submit(notice, source="test", actor="tester")
        request = ClaimRequest("w-test", rt.channels.limits(), 30.0, POLICY)
        (item,), _ = await rt.store.claim(request, 10)
        if not item.marked:
            assert await rt.store.mark_sending(item.delivery, "w-test")
        await rt.channels.get(account).adapter.publish(item.outgoing())  # it arrived...
        unknown = Outcome(
            to_status=Status.NEEDS_REVIEW,
            action="needs_review",
            reason="没有收到完整的回复",
            error="read timeout",
        )
        assert await rt.store.finish(item.delivery, "w-test", unknown, POLICY)  # ...unknown
        return done.notice_id, item.delivery.id, item.delivery.idempotency_key
    finally:
        await rt.close()


async def settled(api: httpx.AsyncClient, notice_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        data: dict[str, Any] = (await api.get(f"/api/notices/{notice_id}")).json()
        (d,) = data["deliveries"]
        if d["status"] in ("posted", "failed", "needs_review") or time.monotonic() > deadline:
            return data
        await asyncio.sleep(0.05)


async def test_a_post_the_channel_has_is_found_and_marked_posted_not_sent_again(
    settings: Settings, receiver: Receiver
) -> None:
    notice_id, delivery_id, key = await lost_reply(settings, "asks")
    assert receiver.posts_of(key) == 1
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            retried = await api.post(f"/api/deliveries/{delivery_id}/retry")
            assert retried.status_code == 200, retried.text
            assert retried.json()["status"] == "sending"  # to be looked up, not sent
            data = await settled(api, notice_id)
    (d,) = data["deliveries"]
    assert d["status"] == "posted", data
    assert receiver.posts_of(key) == 1  # found by lookup: no second post
    assert d["remote_id"] == "wh-1"
    actions = [e["action"] for e in data["events"] if e["delivery_id"] == delivery_id]
    assert actions[-3:] == ["retry", "reconcile", "reconciled"]


async def test_the_api_refuses_a_blind_retry_until_forced(
    settings: Settings, receiver: Receiver
) -> None:
    notice_id, delivery_id, key = await lost_reply(settings, "blind")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            url = f"/api/deliveries/{delivery_id}/retry"
            refused = await api.post(url)
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            assert "渠道 blind 上可能已经有这条发布" in error and '"force": true' in error
            assert "\n" not in error
            bad = await api.post(url, json={"force": "yes"})
            assert bad.status_code == 422, bad.text
            await asyncio.sleep(0.3)  # the worker had its chance: nothing was sent
            assert receiver.posts_of(key) == 1
            assert (await settled(api, notice_id))["deliveries"][0]["status"] == "needs_review"

            forced = await api.post(url, json={"force": True})
            assert forced.status_code == 200, forced.text
            data = await settled(api, notice_id)
    assert data["deliveries"][0]["status"] == "posted", data
    assert receiver.posts_of(key) == 2  # a person checked and asked for it: sent again


def test_the_cli_refuses_a_blind_retry_until_forced(settings: Settings, receiver: Receiver) -> None:
    notice_id, delivery_id, key = asyncio.run(lost_reply(settings, "blind"))
    runner = CliRunner()

    refused = runner.invoke(main, ["deliveries", "retry", str(delivery_id)])
    assert refused.exit_code == 2, refused.output
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "可能已经有这条发布" in lines[0] and "--force" in lines[0]

    forced = runner.invoke(main, ["deliveries", "retry", str(delivery_id), "--force"])
    assert forced.exit_code == 0, forced.output
    assert f"投递 #{delivery_id} 已重新排队" in forced.stdout

    async def serve_a_moment() -> dict[str, Any]:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
                return await settled(api, notice_id)

    data = asyncio.run(serve_a_moment())
    assert data["deliveries"][0]["status"] == "posted", json.dumps(data, ensure_ascii=False)
    assert receiver.posts_of(key) == 2


def test_retry_after_cancel_keeps_the_schedule_from_the_cli(
    settings: Settings, receiver: Receiver
) -> None:
    notice = {
        "kind": "general",
        "title": "二〇三〇年元旦放假通知",
        "body": "元旦放假一天。",
        "channels": ["blind"],
        "publish_at": "2030-01-01T09:00:00+08:00",
    }
    Path("later.json").write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    submitted = runner.invoke(main, ["notice", "submit", "later.json", "--json"])
    assert submitted.exit_code == 0, submitted.output
    (d,) = json.loads(submitted.stdout)["deliveries"]
    assert runner.invoke(main, ["deliveries", "cancel", str(d["id"])]).exit_code == 0

    retried = runner.invoke(main, ["deliveries", "retry", str(d["id"])])
    assert retried.exit_code == 0, retried.output
    assert f"投递 #{d['id']} 已重新排队: 按定时于 2030-01-01 09:00:00 发布" in retried.stdout

    async def serve_a_moment() -> dict[str, Any]:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
                await asyncio.sleep(0.5)  # the worker polls every 0.05 s
                data: dict[str, Any] = (await api.get(f"/api/notices/{d['notice_id']}")).json()
                return data

    data = asyncio.run(serve_a_moment())
    (after,) = data["deliveries"]
    assert after["status"] == "pending", data
    assert after["not_before"].startswith("2030-01-01T01:00:00")
    assert receiver.sink.posts == []  # nothing went out ahead of its time
