"""Channel accounts: adapter types found through entry points, built from settings.

A third party adds a channel by shipping a package that registers its adapter class under
the entry-point group ``publisher.channels``; nothing in the core changes.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

import certifi
import httpx
from pydantic import ValidationError

from publisher import problems
from publisher.contract import (
    AccountContext,
    AccountOptions,
    Capabilities,
    ChannelAdapter,
    Clock,
    Idempotency,
)
from publisher.errors import ConfigError, UnknownChannelError
from publisher.links import LinkCodes
from publisher.settings import Settings
from publisher.store.records import AccountLimits
from publisher.transport import AiohttpTransport, ChannelClient

ENTRY_POINT_GROUP = "publisher.channels"


@cache
def adapter_types() -> Mapping[str, type[ChannelAdapter[Any]]]:
    """Every installed channel adapter type, by name."""
    found: dict[str, type[ChannelAdapter[Any]]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, ChannelAdapter)):
            raise ConfigError(f"入口点 {ep.name!r} 不是 ChannelAdapter 的子类")
        found[ep.name] = cls
    return found


def _expand(value: Any, base_url: str) -> Any:
    if isinstance(value, str):
        return value.replace("{base_url}", base_url)
    if isinstance(value, dict):
        return {k: _expand(v, base_url) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, base_url) for v in value]
    return value


def build_options(
    name: str, raw: Mapping[str, Any], base_url: str
) -> tuple[type[ChannelAdapter[Any]], AccountOptions]:
    kind = raw.get("type")
    types = adapter_types()
    if not isinstance(kind, str) or kind not in types:
        known = "、".join(sorted(types)) or "未安装任何渠道"
        raise ConfigError(f"渠道账号 {name!r}: 未知的类型 {kind!r} (可用: {known})")
    cls = types[kind]
    try:
        options = cls.Options.model_validate(_expand(dict(raw), base_url))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = problems.location(first, "options")
        raise ConfigError(f"渠道账号 {name!r}: {field}: {problems.describe(first)}") from None
    return cls, options


@dataclass(frozen=True)
class Account:
    name: str
    adapter: ChannelAdapter[Any]

    @property
    def type_name(self) -> str:
        return self.adapter.type_name

    @functools.cached_property
    def capabilities(self) -> Capabilities:
        """Read once: an adapter's capabilities follow from its options, which never change
        (the intake and the worker ask for them several times per delivery)."""
        return self.adapter.capabilities

    @property
    def limits(self) -> AccountLimits:
        caps = self.capabilities
        return AccountLimits(
            max_concurrency=caps.max_concurrency,
            rate=caps.rate_limit,
            claim_as_sending=caps.idempotency is not Idempotency.NONE,
        )


ClientFactory = Callable[[int], httpx.AsyncClient]


@cache
def shared_tls() -> ssl.SSLContext:
    """One TLS context (certifi's CAs, as httpx uses by default) for every client.

    Building it costs about 36 ms here; each client building its own made every CLI command
    and every start pay that once per channel account.
    """
    return ssl.create_default_context(cafile=certifi.where())


def default_client_factory(timeout: float = 20.0) -> ClientFactory:
    """One HTTP client per account, its pool sized to the account's concurrency.

    Separate pools keep a slow channel from starving the others. The bytes go through
    aiohttp's pool (see publisher.transport): httpx's own costs grow with pool size
    (measured: 4 connections ~740 req/s, 64 connections ~160 req/s on this machine).
    """

    def build(max_connections: int) -> httpx.AsyncClient:
        return ChannelClient(
            transport=AiohttpTransport(max_connections=max_connections, tls=shared_tls()),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )

    return build


class Channels:
    """Every configured channel account, each with its adapter ready to use."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        tokens: Any,
        client_factory: ClientFactory | None = None,
        confirm_now: Callable[[str, str], Awaitable[bool]] | None = None,
        link_codes: LinkCodes | None = None,
    ) -> None:
        factory = client_factory or default_client_factory(settings.request_timeout)
        self._accounts: dict[str, Account] = {}
        self._clients: list[httpx.AsyncClient] = []
        base_url = settings.public_base_url
        for name, raw in settings.accounts.items():
            cls, options = build_options(name, raw, base_url)

            def context(
                http: httpx.AsyncClient,
                name: str = name,
                options: AccountOptions = options,
                tracked: bool = False,
            ) -> AccountContext:
                extra: dict[str, Any] = {}
                if confirm_now is not None:
                    extra["confirm_now"] = functools.partial(confirm_now, name)
                if tracked and link_codes is not None:
                    extra["link_codes"] = link_codes
                return AccountContext(
                    account=name,
                    options=options,
                    http=http,
                    clock=clock,
                    tokens=tokens,
                    log=logging.getLogger(f"publisher.channels.{name}"),
                    base_url=base_url,
                    **extra,
                )

            probe = cls(context(_probe_client()))  # capabilities may depend on options
            http = factory(max(1, probe.capabilities.max_concurrency))
            self._clients.append(http)
            tracked = probe.capabilities.links_to_copy  # links to the portal copy: count clicks
            self._accounts[name] = Account(name=name, adapter=cls(context(http, tracked=tracked)))
        for kind, targets in settings.routes.items():
            for target in targets:
                if target not in self._accounts:
                    raise ConfigError(f"routes.{kind}: 没有名为 {target!r} 的渠道账号")

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def __iter__(self) -> Iterator[Account]:
        return iter(self._accounts.values())

    def __contains__(self, name: object) -> bool:
        return name in self._accounts

    def get(self, name: str) -> Account:
        try:
            return self._accounts[name]
        except KeyError:
            known = "、".join(self._accounts) or "无"
            raise UnknownChannelError(f"未知的渠道账号 {name!r}，已配置: {known}") from None

    def limits(self) -> dict[str, AccountLimits]:
        return {a.name: a.limits for a in self}


@cache
def _probe_client() -> httpx.AsyncClient:
    """Never used to send: only handed to an adapter to read its capabilities."""
    return httpx.AsyncClient(verify=shared_tls())
