"""A lean HTTP/1.1 sink for benchmarks: accepts JSON POSTs, answers 201 with an id.

Plain asyncio streams (keep-alive, Content-Length bodies only) so that the sink, not the
system under test, is never the bottleneck. Honours Idempotency-Key (a repeated key answers
with the first id), answers ``GET /lookup?key=K`` and records when each key first arrived
(``GET /stats``). ``--delay-ms`` makes every answer wait, like a slow channel.

    python bench/sink.py --port 8766 --delay-ms 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import parse_qs, urlsplit


class Sink:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.first_seen: dict[str, float] = {}
        self.ids: dict[str, str] = {}
        self.requests = 0

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
                status, payload = await self.route(method, target, headers, body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode() + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def route(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, object]:
        url = urlsplit(target)
        if method == "GET" and url.path == "/stats":
            return 200, {"requests": self.requests, "first_seen": self.first_seen}
        if method == "POST" and url.path == "/reset":
            self.first_seen.clear()
            self.ids.clear()
            self.requests = 0
            return 200, {}
        if method == "GET" and url.path == "/lookup":
            key = parse_qs(url.query).get("key", [""])[0]
            if key in self.ids:
                return 200, {"id": self.ids[key]}
            return 404, {"error": "not found"}
        if method == "POST":
            now = time.time()
            self.requests += 1
            key = headers.get("idempotency-key") or f"anon-{self.requests}"
            if self.delay:
                await asyncio.sleep(self.delay)
            if key not in self.ids:
                self.first_seen[key] = now
                self.ids[key] = f"s-{len(self.ids) + 1}"
            return 201, {"id": self.ids[key], "url": f"http://sink/{self.ids[key]}"}
        return 404, {"error": "no route"}


async def serve(port: int, delay_ms: float) -> None:
    sink = Sink(delay_ms / 1000)
    server = await asyncio.start_server(sink.handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.delay_ms))
