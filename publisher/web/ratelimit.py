"""A per-client rate limit on the public routes, and who "the client" is.

Public routes (the portal's pages, feeds and downloads under ``/portal``, short links under
``/r/``) answer anyone; a few clients looping on the heaviest page must not take the process
from the delivery worker. Each client address has a token bucket: ``rate`` requests a second,
``burst`` at once. Over it: ``429`` with ``Retry-After`` and a one-line Chinese page. ``/api``
(authenticated), ``/healthz`` and everything else are not limited here.

The client is :func:`real_address`: the connection's peer, unless the operator said a proxy
stands in front (``trust_forwarded_for``); then the right-most ``X-Forwarded-For`` address
that is not a proxy on this host (loopback), since every proxy appends the address it saw
and only the left part can be forged by the client. (When uvicorn already took the client
from the header, the peer is that address and the header gives the same answer.)
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from publisher.web.limits import refuse

MAX_CLIENTS = 50_000  # buckets kept; the least recently seen are forgotten first
LOOPBACK = ("127.", "::1", "::ffff:127.")
TOO_MANY = (
    '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>请求过于频繁</title>'
    "</head><body><p>请求过于频繁，请 {seconds} 秒后再试。</p></body></html>\n"
)


def real_address(peer: str | None, headers: Mapping[str, str], trust_forwarded_for: bool) -> str:
    """The client's address: the peer, or behind a trusted proxy the forwarded one."""
    if trust_forwarded_for:
        hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not hop.startswith(LOOPBACK):
                return hop
        if hops:
            return hops[0]
    return peer or ""


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """Per-key token buckets: ``rate`` tokens a second up to ``burst``; a request takes one."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when allowed (a token is spent); otherwise the seconds until one is available."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            if len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


class PublicRateLimit:
    """ASGI middleware: a token bucket per client on the public routes (/portal, /r/)."""

    def __init__(
        self, app: ASGIApp, *, rate: float, burst: int, trust_forwarded_for: bool = False
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None
        self.trust_forwarded_for = trust_forwarded_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is None or scope["type"] != "http" or not _public(scope["path"]):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = real_address(
            client[0] if client else None, Headers(scope=scope), self.trust_forwarded_for
        )
        wait = self.buckets.take(address)
        if not wait:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        headers = [(b"retry-after", str(seconds).encode()), (b"cache-control", b"no-store")]
        await refuse(send, 429, TOO_MANY.format(seconds=seconds), headers)


def _public(path: str) -> bool:
    return path == "/portal" or path.startswith(("/portal/", "/r/"))
