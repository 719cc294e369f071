"""An in-process console with users of every role, logged in through the login form."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from publisher.auth.roles import Role
from publisher.auth.secrets import hash_password

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    app: Any
    http: httpx.AsyncClient

    @property
    def store(self) -> Any:
        return self.app.state.runtime.store

    async def add_user(self, name: str, *roles: Role | str, password: str = PASSWORD) -> None:
        await self.store.add_user(name, [str(r) for r in roles], "办公室", hash_password(password))

    async def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        form = await self.http.get("/login")
        token = CSRF.search(form.text)
        assert token, form.text
        return await self.http.post(
            "/login", data={"username": name, "password": password, "csrf": token.group(1)}
        )

    async def csrf(self, path: str = "/") -> str:
        page = await self.http.get(path)
        token = CSRF.search(page.text)
        assert token, (path, page.status_code, page.text[:500])
        return token.group(1)

    def logout_locally(self) -> None:
        self.http.cookies.clear()


@contextlib.asynccontextmanager
async def console(
    database: Path,
    accounts: Mapping[str, Any] | None = None,
    clock: Any = None,
    **settings_extra: Any,
) -> AsyncIterator[Console]:
    """``clock``: a hand-set clock for the whole runtime; ``settings_extra``: more settings."""
    from publisher.runtime import Runtime
    from publisher.settings import load_settings
    from publisher.web.app import create_app

    extra: dict[str, Any] = {} if accounts is None else {"accounts": dict(accounts)}
    settings = load_settings(
        database_url=f"sqlite:///{database / 'publisher.db'}",
        metrics_interval=0,
        **extra,
        **settings_extra,
    )
    runtime = None
    if clock is not None:
        runtime = await Runtime.open(settings, clock=clock, with_worker=False)
    app = create_app(settings, runtime=runtime, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", follow_redirects=False
        ) as http:
            yield Console(app, http)
