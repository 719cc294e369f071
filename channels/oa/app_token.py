"""What the OA app adapters (WeCom app, DingTalk work notice, Feishu app) share: the app's
access token and the adapter base around it (:class:`AppAdapter`).

The token is shared by every worker through ``ctx.tokens``: read while valid, fetched again
5 minutes before it expires, fetched once at a time per process, and replaced after the
platform said it is no longer good (only the rejected one is replaced: another task may
already have a newer one)."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from pydantic import Field

from channels.oa.common import Code, OaAdapter, OaOptions, digest, raise_for_code, read_reply
from publisher.contract import AccountContext
from publisher.errors import AuthExpired
from publisher.http_errors import request

REFRESH_MARGIN = timedelta(minutes=5)
DEFAULT_SECONDS = 7200.0  # when the platform does not say how long its token lasts

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
            token = await self._cached()  # another task may have fetched it meanwhile
            return token if token is not None else await self._new()

    @asynccontextmanager
    async def use(self) -> AsyncIterator[str]:
        """The token for one call; if the platform says it is no longer good (AuthExpired),
        it is the one :meth:`refresh` replaces."""
        token = await self.get()
        try:
            yield token
        except AuthExpired:
            self.rejected = token
            raise

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
                return  # another task already replaced the rejected token
            await self._new()

    async def check(self) -> None:
        async with self._lock:
            await self._new()


class AppOptions(OaOptions):
    """Options every OA app account has (besides its credentials)."""

    # Those still unread this long after a warning get one reminder (0: off;
    # ``publisher.reach.readers``).
    nudge_after_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)


AppOptionsT = TypeVar("AppOptionsT", bound=AppOptions)


class AppAdapter(OaAdapter[AppOptionsT]):
    """An OA app: a key and a secret buy an access token (:class:`AppToken`, in ``self.token``)
    that every call carries; the platform says who read what.

    A subclass states, besides what :class:`OaAdapter` asks:

    ``token_kind``    the start of the token's name in ``ctx.tokens``
    ``token_label``   the token endpoint as error messages name it
    ``token_path``, ``token_method``  the token endpoint
    ``token_key``, ``expires_key``    where its reply keeps the token and its lifetime
    ``token_errors``  the token endpoint's error table
    ``_credentials()``  (key, secret), and ``_token_request()`` what the token call sends
    """

    token_kind: ClassVar[str]
    token_label: ClassVar[str]
    token_path: ClassVar[str]
    token_method: ClassVar[str] = "GET"
    token_key: ClassVar[str] = "access_token"
    expires_key: ClassVar[str] = "expires_in"
    token_errors: ClassVar[Mapping[int, Code]]

    def __init__(self, ctx: AccountContext) -> None:
        super().__init__(ctx)
        key, secret = self._credentials()
        self.token = AppToken(ctx, f"{self.token_kind}:{key}:{digest(secret)}", self._fetch_token)

    @abc.abstractmethod
    def _credentials(self) -> tuple[str, str]:
        """The app's key and secret (the secret never leaves this adapter but as a digest)."""

    @abc.abstractmethod
    def _token_request(self) -> dict[str, Any]:
        """``params=`` or ``json=`` for the token call (it holds the secret: never shown)."""

    async def _fetch_token(self) -> tuple[str, float]:
        response = await request(
            self.ctx.http,
            self.token_method,
            f"{self._api}{self.token_path}",
            timeout=self.options.timeout,
            **self._token_request(),
        )
        code, message, data = read_reply(
            response, self.token_label, self.code_keys, self.msg_keys
        )
        token = data.get(self.token_key)
        if code != 0 or not isinstance(token, str):
            raise_for_code(self.token_label, code, message, self.token_errors)
        expires = data.get(self.expires_key)
        return token, float(expires) if isinstance(expires, int | float) else DEFAULT_SECONDS

    async def refresh_credentials(self) -> None:
        await self.token.refresh()

    async def check(self) -> None:
        await self.token.check()

    @property
    def reads_known(self) -> bool:
        return True

    @property
    def nudge_after_minutes(self) -> int:
        return self.options.nudge_after_minutes if self.reads_known else 0
