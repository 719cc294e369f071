"""The aiohttp transport under httpx, against real sockets on 127.0.0.1.

What matters to a user is that a post is never sent twice: a failure must say "never left"
only when the connection was never made, and "may have arrived" in every other case.
Each server below misbehaves in one way a real channel does.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from publisher.errors import OutcomeUnknown, TransientError
from publisher.http_errors import request
from publisher.registry import default_client_factory

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """Serve ``handler`` on a free port; on leaving, every connection it still holds is closed."""
    running: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        running.add(task)
        try:
            await handler(reader, writer)
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            writer.close()
            running.discard(task)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in list(running):
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, list[tuple[str, str]], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    first, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = [(k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines)]
    length = int(dict(headers).get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return first.encode(), headers, body


def reply(status: str, body: bytes, *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def client(max_connections: int = 4, timeout: float = 5.0) -> httpx.AsyncClient:
    return default_client_factory(timeout)(max_connections)


async def test_a_post_arrives_with_exactly_the_headers_httpx_set() -> None:
    seen: list[tuple[bytes, list[tuple[str, str]], bytes]] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(reply("201 Created", b'{"id": "r-1"}', "Content-Type: application/json"))
        await writer.drain()
        writer.close()

    async with raw_server(echo) as url, client() as http:
        response = await http.post(f"{url}/hook?x=1", json={"标题": "暴雨预警"})
    assert response.status_code == 201
    assert response.reason_phrase == "Created"
    assert response.json() == {"id": "r-1"}
    line, headers, body = seen[0]
    assert line == b"POST /hook?x=1 HTTP/1.1"
    names = [name for name, _ in headers]
    assert names.count("host") == 1 and names.count("content-length") == 1
    values = dict(headers)
    assert values["content-type"] == "application/json"
    assert values["user-agent"].startswith("python-httpx/")  # not aiohttp's own
    assert json.loads(body) == {"标题": "暴雨预警"}


async def test_compressed_replies_and_multipart_uploads_round_trip() -> None:
    seen: list[bytes] = []

    async def upload(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, headers, body = await read_request(reader)
        seen.append(body)
        packed = gzip.compress(json.dumps({"type": dict(headers)["content-type"]}).encode())
        writer.write(reply("200 OK", packed, "Content-Encoding: gzip"))
        await writer.drain()
        writer.close()

    image = bytes(range(256)) * 40
    async with raw_server(upload) as url, client() as http:
        response = await http.post(url, files={"media": ("cover.png", image, "image/png")})
    assert response.json()["type"].startswith("multipart/form-data; boundary=")
    assert image in seen[0]


async def test_a_refused_connection_is_safe_to_send_again() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.post(f"http://127.0.0.1:{port}/", json={})
        with pytest.raises(TransientError):
            await request(http, "POST", f"http://127.0.0.1:{port}/", json={})


async def hang_up_after_reading(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.close()


async def cut_reply_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"id":')
    await writer.drain()
    writer.close()


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.sleep(5)
    writer.close()


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (hang_up_after_reading, httpx.RemoteProtocolError),
        (cut_reply_short, httpx.ReadError),
        (never_answer, httpx.ReadTimeout),
    ],
    ids=["hung-up", "cut-short", "no-answer"],
)
async def test_a_request_that_may_have_arrived_is_never_called_unsent(
    handler: Handler, expected: type[Exception]
) -> None:
    async with raw_server(handler) as url, client(timeout=0.3) as http:
        with pytest.raises(expected) as raised:
            await http.post(url, json={"k": 1})
        assert not isinstance(raised.value, httpx.ConnectError | httpx.ConnectTimeout)
        with pytest.raises(OutcomeUnknown):
            await request(http, "POST", url, json={"k": 1})


async def test_the_pool_never_opens_more_connections_than_the_account_may_use() -> None:
    open_now = 0
    most = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        try:
            while not reader.at_eof():
                try:
                    await read_request(reader)
                except asyncio.IncompleteReadError:
                    break
                await asyncio.sleep(0.02)
                writer.write(reply("200 OK", b"{}"))
                await writer.drain()
        finally:
            open_now -= 1
            writer.close()

    async with raw_server(slow) as url, client(max_connections=2) as http:
        replies = await asyncio.gather(*(http.post(url, json={"n": n}) for n in range(8)))
    assert [r.status_code for r in replies] == [200] * 8
    assert most == 2


async def test_a_reply_s_cookies_are_never_sent_with_the_next_post() -> None:
    seen: list[dict[str, str]] = []

    async def sets_cookies(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                _, headers, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            seen.append(dict(headers))
            writer.write(reply("200 OK", b"{}", "Set-Cookie: session=abc; Path=/"))
            await writer.drain()

    async with raw_server(sets_cookies) as url, client() as http:
        for _ in range(3):
            await http.post(url, json={})
    assert len(seen) == 3 and not any("cookie" in headers for headers in seen)
