"""The sandbox's control routes take the API token whenever one is set or serve listens beyond
loopback; the channel endpoints and reading the posts stay open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from publisher.settings import load_settings
from publisher.web.app import create_app

pytestmark = pytest.mark.usefixtures("clean_env")

TOKEN = "sandbox-guard-token-0123456789"
CONTROL = [
    ("PUT", "/_sandbox/weibo/faults", {"error_rate": 1}),
    ("POST", "/_sandbox/webhook/faults", {"error_rate": 1}),
    ("GET", "/_sandbox/weibo/faults", None),
    ("PUT", "/_sandbox/dingtalk/secrets", {"tok": None}),
    ("DELETE", "/_sandbox/weibo/posts", None),
    ("DELETE", "/_sandbox/wechat/posts/", None),
]


@asynccontextmanager
async def client(tmp: Path, **settings: object) -> AsyncIterator[httpx.AsyncClient]:
    """The app as ``serve`` builds it (no lifespan: the sandbox needs no runtime)."""
    app = create_app(load_settings(database_url=f"sqlite:///{tmp}/p.db", **settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def call(c: httpx.AsyncClient, method: str, path: str, body: object, **hdrs: str) -> int:
    return (await c.request(method, path, json=body, headers=hdrs)).status_code


async def test_beyond_loopback_the_control_routes_want_the_token(clean_env: Path) -> None:
    async with client(clean_env, host="0.0.0.0", api_token=TOKEN) as c:
        for method, path, body in CONTROL:
            bare = await c.request(method, path, json=body)
            assert bare.status_code == 401, (method, path, bare.text)
            assert "API 令牌" in bare.json()["error"] and TOKEN not in bare.text
            assert bare.headers["www-authenticate"] == "Bearer"
            wrong = await call(c, method, path, body, authorization="Bearer not-the-token-at-all")
            assert wrong == 401, (method, path)
            right = await call(c, method, path, body, authorization=f"Bearer {TOKEN}")
            assert right not in (401, 404), (method, path, right)
        # nothing was changed by the refused calls: the faults are what the right call set
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        faults = await c.get("/_sandbox/weibo/faults", headers=bearer)
        assert faults.json()["error_rate"] == 1


async def test_what_the_publisher_calls_and_the_posts_list_stay_open(clean_env: Path) -> None:
    async with client(clean_env, host="0.0.0.0", api_token=TOKEN) as c:
        assert (await c.get("/_sandbox/weibo/posts")).status_code == 200
        share = await c.post(
            "/_sandbox/weibo/2/statuses/share.json",
            data={"access_token": "t", "status": "x http://a/portal/1", "rip": "1.2.3.4"},
        )
        assert share.status_code == 200, share.text
        assert (await c.get("/_sandbox/weibo/posts")).json()["count"] == 1


async def test_a_refused_delete_forgets_nothing(clean_env: Path) -> None:
    async with client(clean_env, api_token=TOKEN) as c:
        await c.post("/_sandbox/webhook/receive", json={"n": 1})
        assert (await c.delete("/_sandbox/webhook/posts")).status_code == 401
        assert (await c.get("/_sandbox/webhook/posts")).json()["count"] == 1


async def test_with_an_api_token_on_loopback_the_token_is_wanted_too(clean_env: Path) -> None:
    async with client(clean_env, api_token=TOKEN) as c:
        assert await call(c, "PUT", "/_sandbox/weibo/faults", {"error_rate": 1}) == 401
        ok = await call(c, "PUT", "/_sandbox/weibo/faults", {}, authorization=f"Bearer {TOKEN}")
        assert ok == 200


async def test_on_loopback_without_a_token_the_sandbox_is_open_for_tests_and_demos(
    clean_env: Path,
) -> None:
    async with client(clean_env) as c:
        for method, path, body in CONTROL:
            assert await call(c, method, path, body) not in (401, 404), (method, path)


async def test_beyond_loopback_without_a_token_nobody_controls_it(clean_env: Path) -> None:
    async with client(clean_env, host="0.0.0.0") as c:
        refused = await c.put("/_sandbox/weibo/faults", json={"error_rate": 1})
        assert refused.status_code == 401 and "PUBLISHER_API_TOKEN" in refused.json()["error"]
