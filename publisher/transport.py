"""httpx's API on aiohttp's connection pool: the transport every channel account sends through.

Adapters keep speaking httpx (requests, responses, respx in tests); only the bytes on the
wire go through aiohttp, whose C-accelerated HTTP/1.1 parser and pool cost about a third
of httpcore's CPU per request (bench/: 0.57 ms against 1.93 ms a request on this project's
machine). On a 2-core server that is the difference between CPU-bound and not.

The one thing that must not be lost in the translation is *whether the request may have
arrived*. The worker re-sends only what certainly never left (``httpx.ConnectError``,
``httpx.ConnectTimeout``); everything else is an unknown outcome and is reconciled first.
So aiohttp's errors are mapped by what they prove:

- the connection was never made (refused, DNS, TLS handshake, connect timeout)
  -> ``ConnectError`` / ``ConnectTimeout``: safe to send again;
- anything after the connection was handed over (the server dropped it, a read timed
  out, the reply was cut short, any other error) -> a ``TransportError`` that is *not*
  one of those two: the worker treats the post as possibly delivered.

aiohttp itself re-sends a request on a dropped keep-alive connection only for idempotent
methods (RFC 9112 §9.3.1.1); publishing is always POST, which it never re-sends.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import aiohttp
import httpx

_NEVER_CONNECTED = (aiohttp.ClientConnectorError,)  # includes DNS, TLS and certificate errors


class _Forgetful(httpx.Cookies):
    """A cookie jar that never keeps a reply's cookies."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class ChannelClient(httpx.AsyncClient):
    """An httpx client that keeps no cookies between requests.

    Channel APIs authenticate with tokens and signatures, never cookies; a jar shared by
    every post of an account would only carry one reply's cookies into the next request.
    Reading each reply's cookies was also 10% of a worker's CPU per post (measured).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = kwargs.get("cookies")

    @property
    def cookies(self) -> httpx.Cookies:
        return self._forgetful

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._forgetful = _Forgetful(cookies)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One pool of at most ``max_connections`` keep-alive connections, opened lazily.

    The pool belongs to the event loop that first sends through it, as aiohttp's sessions
    do; a process builds its channel accounts inside the loop that uses them.
    """

    def __init__(self, *, max_connections: int, tls: ssl.SSLContext) -> None:
        self._max_connections = max_connections
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_for_this_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is not None and self._loop is not loop:
            raise RuntimeError("this HTTP client's pool belongs to another event loop")
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, limit_per_host=0, ssl=self._tls
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
                auto_decompress=False,  # httpx decodes, as it would its own transport's reply
                # httpx already set every header it wants; aiohttp must add none of its own
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                trust_env=False,
            )
            self._loop = loop
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for_this_loop()
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeouts.get("pool"),
                    sock_connect=timeouts.get("connect"),
                    sock_read=timeouts.get("read"),
                ),
            ) as reply:
                content = await reply.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except _NEVER_CONNECTED as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(
                "server disconnected without a complete reply", request=request
            ) from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.ReadError(f"reply cut short: {exc}", request=request) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
        return httpx.Response(
            reply.status,
            headers=reply.raw_headers,
            stream=httpx.ByteStream(content),
            extensions=_reply_extensions(reply),
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()


def _reply_extensions(reply: aiohttp.ClientResponse) -> dict[str, Any]:
    version = reply.version
    http_version = f"HTTP/{version.major}.{version.minor}" if version else "HTTP/1.1"
    return {
        "http_version": http_version.encode("ascii"),
        "reason_phrase": (reply.reason or "").encode("latin-1", "replace"),
    }
