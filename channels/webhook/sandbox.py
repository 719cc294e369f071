"""A JSON webhook receiver with switchable faults, for the demo, e2e tests and benchmarks.

Mounted at ``/_sandbox/webhook``::

    POST /receive          honours Idempotency-Key: a repeated key answers with the first post
    POST /receive-plain    ignores keys: every request is a new post (keys are still recorded)
    GET  /lookup?key=K     200 with the post received under key K, or 404

and the kit's ``GET/DELETE /posts`` and ``PUT /faults`` (``publisher.sandbox.kit``) with
``{"latency_ms", "error_rate", "error_status", "hang_seconds", "hang_rate"}``.

``latency_ms`` is network time, spent half before the post is stored and half after, as on a
real round trip: a sender that dies mid-request may or may not have reached the receiver.
``hang_seconds`` records the post, then answers that late (a lost reply), for a share
``hang_rate`` of posts (all of them when 0).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from starlette.requests import ClientDisconnect

from publisher.sandbox.kit import Faults, Sandbox


class WebhookFaults(Faults):
    error_status: int = Field(default=503, ge=400, le=599)
    hang_seconds: float = Field(default=0, ge=0, le=600)  # record, then answer late (lost reply)
    hang_rate: float = Field(default=0, ge=0, le=1)

    def lost_reply_odds(self) -> tuple[float, float]:
        if not self.hang_seconds:
            return 0.0, 0.0
        return self.hang_rate or 1.0, self.hang_seconds


class WebhookSink(Sandbox[WebhookFaults]):
    def __init__(self, rng: random.Random | None = None) -> None:
        super().__init__(WebhookFaults(), rng)
        self.by_key: dict[str, dict[str, Any]] = {}
        r = self.router
        r.add_api_route("/receive", self.receive, methods=["POST"])
        r.add_api_route("/receive", self.head, methods=["HEAD", "GET"])
        r.add_api_route("/receive-plain", self.receive_plain, methods=["POST"])
        r.add_api_route("/lookup", self.lookup, methods=["GET"])

    async def head(self) -> dict[str, str]:
        return {"status": "ok"}

    async def _accept(self, request: Request, honour_key: bool) -> Response:
        await self.network_delay(0.5)
        if self.fault_strikes():
            return JSONResponse({"error": "沙箱注入的故障"}, status_code=self.faults.error_status)
        try:
            payload = await request.json()
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        except ClientDisconnect:  # the sender died before its request arrived: nothing stored
            return Response(status_code=499)
        key = request.headers.get("idempotency-key")
        if honour_key and key and key in self.by_key:
            reply = JSONResponse(self.by_key[key], headers={"Idempotent-Replayed": "true"})
        else:
            reply = JSONResponse(self._store(request, key, payload), status_code=201)
            await self.hold_reply()
        await self.network_delay(0.5)
        return reply

    def _store(self, request: Request, key: str | None, payload: Any) -> dict[str, Any]:
        number = self.next_serial()
        post = {
            "id": f"wh-{number}",
            "url": f"{request.base_url}_sandbox/webhook/posts/{number}",
            "idempotency_key": key,
            "received_at": datetime.now(UTC).isoformat(),
            "payload": payload,
        }
        self.keep(post)
        self._index(post)
        return post

    def _index(self, post: dict[str, Any]) -> None:
        key = post.get("idempotency_key")
        if key and key not in self.by_key:
            self.by_key[key] = post

    async def receive(self, request: Request) -> Response:
        return await self._accept(request, honour_key=True)

    async def receive_plain(self, request: Request) -> Response:
        return await self._accept(request, honour_key=False)

    async def lookup(self, key: str) -> JSONResponse:
        post = self.by_key.get(key)
        if post is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(post)

    def forget(self) -> None:
        super().forget()
        self.by_key.clear()

    def restore(self, kind: str, value: Any) -> None:
        super().restore(kind, value)
        if kind == "post":
            self._index(value)
