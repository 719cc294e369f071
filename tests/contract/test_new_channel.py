"""Adding a channel touches only its own package and one entry-point line.

A toy channel is written here as a third party would ship it: a package in a temporary
directory with a ``*.dist-info/entry_points.txt`` naming its adapter under
``publisher.channels``, put on ``sys.path``. Nothing in ``publisher/`` is told about it, yet
its account is configured, a notice is previewed and submitted to it, the worker delivers it
to the toy's sandbox (built on the sandbox kit) and the toy links to the notice's public page.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from publisher.kinds import Kind
from publisher.notice import parse_notice
from publisher.registry import adapter_types
from publisher.runtime import Runtime
from publisher.sandbox import sandbox_app
from publisher.settings import load_settings

TOY = '''
"""Toy: POST the notice as JSON to ``url``; the reply's ``id`` is the remote id."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from publisher.contract import (
    AccountOptions, Capabilities, ChannelAdapter, Format, Limit, OutgoingPost, PublishResult,
)
from publisher.errors import TransientError
from publisher.sandbox.kit import Faults, Sandbox


class ToyOptions(AccountOptions):
    type: str = "toy"
    url: str


class ToyAdapter(ChannelAdapter[ToyOptions]):
    type_name = "toy"
    Options = ToyOptions

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(formats=(Format.TEXT,), limits=(Limit("title", 20),))

    async def publish(self, post: OutgoingPost) -> PublishResult:
        payload = {**post.rendered.parts, "link": self.ctx.notice_url(post.notice.id)}
        reply = await self.ctx.http.post(self.options.url, json=payload)
        if reply.status_code != 200:
            raise TransientError(f"toy answered HTTP {reply.status_code}")
        return PublishResult(remote_id=reply.json()["id"])

    @classmethod
    def sandbox(cls) -> Any:
        return ToySandbox().router


class ToySandbox(Sandbox[Faults]):
    def __init__(self) -> None:
        super().__init__(Faults())
        self.router.add_api_route("/send", self.send, methods=["POST"])

    async def send(self, request: Request) -> dict[str, str]:
        await self.network_delay()
        self.posts.append({"id": f"toy-{len(self.posts) + 1}", "payload": await request.json()})
        return {"id": self.posts[-1]["id"]}
'''

ENTRY_POINTS = """
[publisher.channels]
toy = toychan:ToyAdapter
"""


@pytest.fixture
def toy_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The toy package installed the way pip would leave it: code plus dist-info metadata."""
    site = tmp_path / "site"
    (site / "toychan").mkdir(parents=True)
    (site / "toychan" / "__init__.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    info = site / "toychan-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toychan\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    adapter_types.cache_clear()
    try:
        yield
    finally:
        adapter_types.cache_clear()
        sys.modules.pop("toychan", None)


async def test_the_toy_is_found_through_its_entry_point_and_its_sandbox_mounted(
    toy_channel: None,
) -> None:
    assert adapter_types()["toy"].__module__ == "toychan"
    transport = httpx.ASGITransport(app=sandbox_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as sandbox:
        assert "toy" in (await sandbox.get("/")).json()["channels"]
        sent = await sandbox.post("/toy/send", json={"title": "试"})
        assert sent.json() == {"id": "toy-1"}
        assert (await sandbox.get("/toy/posts")).json()["count"] == 1  # the kit's routes
        assert (await sandbox.put("/toy/faults", json={"latency_ms": 5})).status_code == 200
        assert (await sandbox.put("/toy/faults", json={"typo": 1})).status_code == 422
        assert (await sandbox.delete("/toy/posts")).json() == {"cleared": 1}


async def test_a_notice_is_previewed_and_delivered_to_the_toy(
    toy_channel: None, tmp_path: Path
) -> None:
    app = FastAPI()
    app.mount("/_sandbox", sandbox_app())

    def client(_max_connections: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))

    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/publisher.db",
        base_url="http://publisher.test",
        poll_interval=0.05,
        metrics_interval=0,
        accounts={"toy": {"type": "toy", "url": "{base_url}/_sandbox/toy/send"}},
    )
    runtime = await Runtime.open(settings, with_worker=True, client_factory=client)
    assert runtime.worker is not None
    task = asyncio.create_task(runtime.worker.run())
    try:
        toy = runtime.channels.get("toy")
        long_title = parse_notice({"kind": Kind.GENERAL, "title": "长" * 21, "body": "正文"})
        assert [v.part for v in runtime.intake.preview(long_title, toy).violations] == ["title"]

        notice = parse_notice({"kind": Kind.GENERAL, "title": "安全生产月活动", "body": "请落实。"})
        preview = runtime.intake.preview(notice, toy)
        assert preview.violations == [] and preview.rendered.title == "安全生产月活动"

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

    assert (delivery.account, delivery.status, delivery.remote_id) == ("toy", "posted", "toy-1")
    async with client(1) as http:
        received: dict[str, Any] = (await http.get("http://x/_sandbox/toy/posts")).json()
    assert received["count"] == 1
    payload = received["posts"][0]["payload"]
    assert payload["title"] == "安全生产月活动" and "请落实。" in payload["body"]
    assert payload["link"] == f"http://publisher.test/portal/notices/{done.notice_id}"
