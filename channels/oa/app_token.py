"""An OA app's access token, shared by every worker through ``ctx.tokens``: read while
valid, fetched again 5 minutes before it expires, fetched once at a time per process, and
replaced after the platform said it is no longer good (only the rejected one is replaced:
another task may already have a newer one). DingTalk's and Feishu's app modes use it; the
WeCom app keeps its own (channels/oa/wecom_app.py), which this follows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from publisher.contract import AccountContext

REFRESH_MARGIN = timedelta(minutes=5)

#: fetch() -> (token, seconds it is valid)
Fetch = Callable[[], Awaitable[tuple[str, float]]]


class AppToken:
    def __init__(self, ctx: AccountContext, name: str, fetch: Fetch) -> None:
        self.ctx = ctx
        self.name = name  # the credential's name (never the secret itself)
        self._fetch = fetch
        self._lock = asyncio.Lock()
        self.rejected: str | None = None

    async def _cached(self) -> str | None:
        cached = await self.ctx.tokens.get(self.ctx.account, self.name)
        if cached is None:
            return None
        value, expires_at = cached
        if expires_at is not None and expires_at - self.ctx.clock.now() <= REFRESH_MARGIN:
            return None
        return value

    async def get(self) -> str:
        token = await self._cached()
        if token is not None:
            return token
        async with self._lock:
            token = await self._cached()
            return token if token is not None else await self._new()

    async def _new(self) -> str:
        token, seconds = await self._fetch()
        expires_at = self.ctx.clock.now() + timedelta(seconds=seconds)
        await self.ctx.tokens.put(self.ctx.account, self.name, token, expires_at)
        return token

    async def refresh(self) -> None:
        rejected = self.rejected
        async with self._lock:
            current = await self._cached()
            if current is not None and rejected is not None and current != rejected:
                return
            await self._new()

    async def check(self) -> None:
        async with self._lock:
            await self._new()
