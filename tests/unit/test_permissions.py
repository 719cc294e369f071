"""Every ``/api`` route, called with every role: exactly the roles its line in
``publisher/auth/permissions.py`` names get through; the others get 403."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from publisher.auth.permissions import ROUTES
from publisher.auth.roles import Role
from publisher.auth.secrets import new_token, token_digest
from publisher.settings import load_settings
from publisher.web.app import create_app

PORTAL_ONLY = {"portal": {"type": "portal", "display_name": "门户网站", "sandbox": True}}


def _walk(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every APIRoute with its full path; FastAPI may keep included routers unflattened."""
    found: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):
            found += _walk(route.original_router.routes, prefix + route.include_context.prefix)
    return found


def api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    return [(path, r) for path, r in _walk(app.routes) if path.startswith("/api/")]


@pytest.fixture
async def app_with_users(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, dict[Role, str]]]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
        accounts=PORTAL_ONLY,
        metrics_interval=0,
    )
    app = create_app(settings, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        store = app.state.runtime.store
        tokens: dict[Role, str] = {}
        for role in Role:
            await store.add_user(f"u_{role.value}", [role])
            tokens[role] = new_token()
            await store.replace_token(f"u_{role.value}", token_digest(tokens[role]))
        yield app, tokens


def test_every_api_route_has_a_line_in_the_table(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", accounts=PORTAL_ONLY)
    names = {r.name for _, r in api_routes(create_app(settings, run_worker_in_process=False))}
    assert names, "no /api routes found"
    assert names == set(ROUTES), f"missing: {names - set(ROUTES)}, stale: {set(ROUTES) - names}"


async def test_each_role_reaches_exactly_the_routes_allowed_to_it(
    app_with_users: tuple[FastAPI, dict[Role, str]],
) -> None:
    app, tokens = app_with_users
    outcome: dict[tuple[str, Role], bool] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for full_path, route in api_routes(app):
            path = re.sub(r"\{[^}]+\}", "1", full_path)
            for method in sorted(route.methods):
                for role, token in tokens.items():
                    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"}}
                    if method == "POST":
                        kwargs["json"] = {}
                    answer = await client.request(method, path, **kwargs)
                    assert answer.status_code != 401, (route.name, role, answer.text)
                    if answer.status_code == 403:
                        assert "无权执行此操作" in answer.json()["error"]
                    outcome[(route.name, role)] = answer.status_code != 403
    for _, route in api_routes(app):
        allowed = {role for role in Role if outcome[(route.name, role)]}
        assert allowed == set(ROUTES[route.name]), route.name
    # the defaults the bureau expects
    assert outcome[("submit_notice", Role.EDITOR)] and outcome[("submit_notice", Role.ADMIN)]
    assert not outcome[("submit_notice", Role.COMMS_OFFICER)]
    assert not outcome[("retry_delivery", Role.REVIEWER)]
    assert outcome[("show_notice", Role.COMMS_OFFICER)]
