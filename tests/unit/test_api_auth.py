"""Once a user exists every ``/api`` call names its caller: 401 without a valid token, 429
after too many wrong ones, and what the caller does is recorded under their name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from publisher.auth.secrets import new_token, token_digest
from publisher.auth.throttle import Throttle
from publisher.settings import load_settings
from publisher.web.app import create_app

NOTICE: dict[str, Any] = {"kind": "general", "title": "关于开展安全检查的通知", "body": "正文"}
PORTAL_ONLY = {"portal": {"type": "portal", "display_name": "门户网站", "sandbox": True}}
SERVICE_TOKEN = "service-" + "s" * 32


async def make_app(tmp_path: Path, **settings: Any) -> AsyncIterator[FastAPI]:
    app = create_app(
        load_settings(
            database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
            accounts=PORTAL_ONLY,
            metrics_interval=0,
            **settings,
        ),
        run_worker_in_process=False,
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    async for made in make_app(tmp_path, api_token=SERVICE_TOKEN):
        yield made


def client(app: FastAPI, address: str = "10.1.2.3") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def add_user(app: FastAPI, name: str, *roles: str) -> str:
    store = app.state.runtime.store
    await store.add_user(name, roles or ("editor",), "应急科")
    token = new_token()
    await store.replace_token(name, token_digest(token))
    return token


async def test_without_users_or_service_token_the_api_stays_open_as_before(
    tmp_path: Path,
) -> None:
    async for app in make_app(tmp_path):
        async with client(app) as http:
            answer = await http.post("/api/notices", json=NOTICE)
        assert answer.status_code == 201, answer.text
        record = await app.state.runtime.store.get_notice(answer.json()["id"])
        assert record.created_by == "api"
        await add_user(app, "zhang")
        async with client(app) as http:
            assert (await http.post("/api/notices", json=NOTICE)).status_code == 401


async def test_a_personal_token_acts_as_its_user_and_is_audited_with_the_address(
    app: FastAPI,
) -> None:
    token = await add_user(app, "zhang", "editor")
    store = app.state.runtime.store
    async with client(app, "10.9.8.7") as http:
        bare = await http.post("/api/notices", json=NOTICE)
        wrong = await http.get("/api/deliveries", headers=bearer("pub_not-a-token"))
        done = await http.post("/api/notices", json=NOTICE, headers=bearer(token))
        delivery_id = done.json()["deliveries"][0]["id"]
        cancelled = await http.post(f"/api/deliveries/{delivery_id}/cancel", headers=bearer(token))
    assert (bare.status_code, wrong.status_code) == (401, 401)
    assert bare.headers["WWW-Authenticate"] == "Bearer"
    assert bare.json()["error"].startswith("缺少 API 令牌")
    assert wrong.json()["error"] == "API 令牌错误"
    assert done.status_code == 201 and cancelled.status_code == 200, cancelled.text
    notice_id = done.json()["id"]
    assert (await store.get_notice(notice_id)).created_by == "zhang"
    entries = await store.audit_entries(notice_id=notice_id)
    assert [(e.actor, e.action, e.source, e.client) for e in entries] == [
        ("zhang", "notice.submit", "api", "10.9.8.7"),
        ("zhang", "delivery.cancel", "api", "10.9.8.7"),
    ]
    assert entries[1].delivery_id == delivery_id
    events = (await store.get_notice(notice_id)).events
    assert any(e.action == "cancelled" and e.actor == "zhang" for e in events)


async def test_the_service_token_acts_as_an_admin_named_service(app: FastAPI) -> None:
    await add_user(app, "li", "reviewer")
    async with client(app) as http:
        done = await http.post("/api/notices", json=NOTICE, headers=bearer(SERVICE_TOKEN))
    assert done.status_code == 201, done.text
    (entry,) = await app.state.runtime.store.audit_entries(notice_id=done.json()["id"])
    assert (entry.actor, entry.action) == ("service", "notice.submit")


async def test_a_wrong_role_gets_403_and_a_disabled_user_401(app: FastAPI) -> None:
    token = await add_user(app, "wang", "comms_officer")
    async with client(app) as http:
        refused = await http.post("/api/notices", json=NOTICE, headers=bearer(token))
        reads = await http.get("/api/deliveries", headers=bearer(token))
        await app.state.runtime.store.disable_user("wang")
        gone = await http.get("/api/deliveries", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json()["error"].startswith("用户 wang 无权执行此操作：需要角色")
    assert reads.status_code == 200
    assert (gone.status_code, gone.json()["error"]) == (401, "用户 wang 已停用")
    assert await app.state.runtime.store.audit_entries() == []  # nothing was done


async def test_wrong_tokens_are_throttled_per_address(app: FastAPI) -> None:
    token = await add_user(app, "zhao")
    async with client(app, "10.0.0.66") as guesser, client(app, "10.0.0.7") as other:
        for _ in range(10):
            answer = await guesser.get("/api/deliveries", headers=bearer(new_token()))
            assert answer.status_code == 401
        held = await guesser.get("/api/deliveries", headers=bearer(token))
        elsewhere = await other.get("/api/deliveries", headers=bearer(token))
    assert held.status_code == 429
    assert 0 < int(held.headers["Retry-After"]) <= 300
    assert "令牌错误次数过多" in held.json()["error"]
    assert elsewhere.status_code == 200


async def test_public_routes_stay_public(app: FastAPI) -> None:
    await add_user(app, "zhang")
    async with client(app) as http:
        for path in ("/healthz", "/portal", "/docs", "/openapi.json"):
            assert (await http.get(path)).status_code == 200, path


def test_the_throttle_forgets_failures_older_than_its_window() -> None:
    now = [1000.0]
    throttle = Throttle(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("addr:a", "user:zhang") is None
        throttle.failed("addr:a", "user:zhang")
        now[0] += 10
    assert throttle.retry_after("addr:a") == pytest.approx(30)
    assert throttle.retry_after("addr:b", "user:zhang") == pytest.approx(30)  # by name too
    assert throttle.retry_after("addr:b") is None
    now[0] += 30
    assert throttle.retry_after("addr:a") is None
