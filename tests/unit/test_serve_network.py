"""``publisher serve`` tells uvicorn whose X-Forwarded-For to believe from our own settings:
nobody's by default (uvicorn's own default believes 127.0.0.1)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from publisher.cli.ops import uvicorn_network
from publisher.settings import load_settings
from tests.e2e.procs import free_port

pytestmark = pytest.mark.usefixtures("clean_env")
FORGED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


async def whoami(scope: Scope, receive: Receive, send: Send) -> None:
    """The client address and scheme the application is told."""
    request = Request(scope, receive)
    host = request.client.host if request.client else "?"
    await PlainTextResponse(f"{host} {request.url.scheme}")(scope, receive, send)


@contextmanager
def serving(**settings: Any) -> Iterator[str]:
    """``whoami`` served by uvicorn configured as ``publisher serve`` configures it."""
    options = load_settings(port=free_port(), **settings)
    config = uvicorn.Config(whoami, log_level="warning", lifespan="off", **uvicorn_network(options))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started
        yield f"http://127.0.0.1:{options.port}/"
    finally:
        server.should_exit = True
        thread.join(10)


def seen(url: str) -> str:
    with httpx.Client(trust_env=False, timeout=5) as client:
        return client.get(url, headers=FORGED).text


def test_a_forwarded_for_header_from_this_host_is_not_believed_by_default() -> None:
    with serving() as url:
        assert seen(url) == "127.0.0.1 http"


def test_the_named_proxies_are_believed() -> None:
    with serving(forwarded_allow_ips=["127.0.0.1"]) as url:
        assert seen(url) == "203.0.113.9 https"
    with serving(forwarded_allow_ips=["192.0.2.1"]) as url:  # not this proxy
        assert seen(url) == "127.0.0.1 http"


def test_a_portal_that_trusts_forwarded_for_believes_the_proxy_on_this_host() -> None:
    accounts = {"portal": {"type": "portal", "sandbox": True, "trust_forwarded_for": True}}
    with serving(accounts=accounts) as url:
        assert seen(url) == "203.0.113.9 https"
