"""A ceiling on request bodies sent to the API, refused with 413 before they are read whole.

Starlette reads a request body into memory in full; without a ceiling one POST could take
all of it. The API's bodies are notices, so the ceiling is a notice file's (10 MB). A body
that declares a larger Content-Length is refused at once; one sent in chunks is counted as
it arrives and refused when it passes the ceiling.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int, prefix: str = "/api/") -> None:
        self.app = app
        self.limit = limit
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Answer now; to the app the client is gone, so it stops reading.
                    refused = True
                    await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)

    async def _refuse(self, send: Send) -> None:
        mb = self.limit // 1024 // 1024
        await refuse(send, 413, {"error": f"请求体超过 {mb} MB"}, [(b"connection", b"close")])


async def refuse(
    send: Send,
    status: int,
    body: dict[str, Any] | str,
    headers: list[tuple[bytes, bytes]] = [],  # noqa: B006 (never mutated)
) -> None:
    """Answer from ASGI middleware before the app runs: a JSON error (``body`` a dict) or a
    short HTML page (``body`` a str), with ``headers`` added."""
    if isinstance(body, str):
        data, kind = body.encode("utf-8"), b"text/html; charset=utf-8"
    else:
        data, kind = json.dumps(body, ensure_ascii=False).encode(), b"application/json"
    start = [(b"content-type", kind), (b"content-length", str(len(data)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": data})
