"""A lean HTTP/1.1 sink for benchmarks: accepts JSON POSTs, answers 201 with an id.

Plain asyncio streams (keep-alive, Content-Length bodies only) so that the sink, not the
system under test, is never the bottleneck. Honours Idempotency-Key (a repeated key answers
with the first id), answers ``GET /lookup?key=K`` and records, per key, when it first arrived
and when its first answer was written (``GET /stats``). Times are ``time.time()``.

Delay: ``--delay-ms`` makes every answer wait, like a slow channel; a path starting with
``/d<ms>/`` (e.g. ``POST /d50/hook``) waits that many milliseconds instead, so one sink
process serves fast and slow "channels" side by side. A POST without a key gets an
``anon-N`` key, so counts work for clients that send none (Apprise).

    python bench/sink.py --port 8766 --delay-ms 50

Other routes: ``GET /sample?path=P`` the first JSON body received on path P (the harness
replays it raw), ``GET /count?prefix=P`` answered keys on paths starting with P,
``POST /reset`` forget everything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

DELAY_PATH = re.compile(r"^/d(\d+(?:\.\d+)?)/")


class Sink:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.first_seen: dict[str, float] = {}
        self.answered: dict[str, float] = {}
        self.path_of: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.samples: dict[str, bytes] = {}
        self.requests = 0
        self.repeats = 0  # POSTs whose key had been seen before (a retry, or a double post)
        self.per_path: Counter[str] = Counter()

    def reset(self) -> None:
        self.first_seen.clear()
        self.answered.clear()
        self.path_of.clear()
        self.ids.clear()
        self.samples.clear()
        self.per_path.clear()
        self.requests = 0
        self.repeats = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                status, payload, key = await self.route(method, target, headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                if key is not None and key not in self.answered:
                    self.answered[key] = time.time()
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def route(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, object, str | None]:
        url = urlsplit(target)
        if method == "POST" and url.path not in ("/reset",):
            return await self.post(url.path, headers, body)
        if method == "GET" and url.path == "/stats":
            return 200, self.stats(), None
        if method == "GET" and url.path == "/count":
            prefix = parse_qs(url.query).get("prefix", ["/"])[0]
            n = sum(1 for p in self.path_of.values() if p.startswith(prefix))
            return 200, {"count": n}, None
        if method == "GET" and url.path == "/sample":
            path = parse_qs(url.query).get("path", [""])[0]
            if path in self.samples:
                return 200, self.samples[path], None
            return 404, {"error": "no body received on that path"}, None
        if method == "POST" and url.path == "/reset":
            self.reset()
            return 200, {}, None
        if method == "GET" and url.path == "/lookup":
            key = parse_qs(url.query).get("key", [""])[0]
            if key in self.ids:
                return 200, {"id": self.ids[key]}, None
            return 404, {"error": "not found"}, None
        return 404, {"error": "no route"}, None

    async def post(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, object, str | None]:
        now = time.time()
        self.requests += 1
        self.per_path[path] += 1
        key = headers.get("idempotency-key") or f"anon-{self.requests}"
        if path not in self.samples:
            self.samples[path] = body
        match = DELAY_PATH.match(path)
        delay = float(match.group(1)) / 1000 if match else self.delay
        if key in self.ids:
            self.repeats += 1
        else:
            self.first_seen[key] = now
            self.path_of[key] = path
            self.ids[key] = f"s-{len(self.ids) + 1}"
        if delay:
            await asyncio.sleep(delay)
        remote = self.ids[key]
        return 201, {"id": remote, "url": f"http://sink/{remote}"}, key

    def stats(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "repeats": self.repeats,
            "per_path": dict(self.per_path),
            "first_seen": self.first_seen,
            "answered": self.answered,
            "path_of": self.path_of,
        }


async def serve(port: int, delay_ms: float) -> None:
    sink = Sink(delay_ms / 1000)
    server = await asyncio.start_server(sink.handle, "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.delay_ms))
