"""Turning transport failures into the error tree, the same way for every adapter.

A request that never left (connect failed, pool exhausted) is safe to retry: TransientError.
A request that may have arrived (read timeout, connection dropped mid-reply) is not:
OutcomeUnknown, so the worker reconciles before anything is sent again.
"""

from __future__ import annotations

from typing import Any

import httpx

from publisher.errors import OutcomeUnknown, RateLimited, TransientError

# How a delivery's error starts when the request never left (``doctor`` looks for it).
NOT_CONNECTED = "无法连接"

NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


async def request(
    client: httpx.AsyncClient, method: str, url: str | httpx.URL, **kwargs: Any
) -> httpx.Response:
    try:
        return await client.request(method, url, **kwargs)
    except NOT_SENT as exc:
        raise TransientError(f"{NOT_CONNECTED}: {type(exc).__name__}: {exc}") from None
    except httpx.TransportError as exc:
        raise OutcomeUnknown(f"没有收到完整的回复: {type(exc).__name__}: {exc}") from None


def retry_after(response: httpx.Response, default: float = 60.0) -> float:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else default
    except ValueError:
        return default


def raise_for_server_trouble(response: httpx.Response) -> None:
    """429 and 5xx: the channel is busy or broken, try later."""
    if response.status_code == 429:
        raise RateLimited(
            f"{response.request.url.host} 返回 HTTP 429 (请求过于频繁)",
            retry_after=retry_after(response),
            code=429,
        )
    if response.status_code >= 500 or response.status_code in (408, 425):
        raise TransientError(
            f"{response.request.url.host} 返回 HTTP {response.status_code}: {response.text[:200]}",
            code=response.status_code,
        )


def dig(data: Any, path: str | None) -> Any:
    """Read ``a.b.0.c`` from nested JSON; None when any step is missing."""
    if not path:
        return None
    for step in path.split("."):
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data
