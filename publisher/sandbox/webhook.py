"""A JSON webhook receiver with switchable faults, for the demo, e2e tests and benchmarks.

POST /receive          honours Idempotency-Key: a repeated key answers with the first post
POST /receive-plain    ignores keys: every request is a new post (keys are still recorded)
GET  /lookup?key=K     200 with the post received under key K, or 404
GET  /posts            everything received, as JSON; DELETE /posts forgets it
PUT  /faults           {"latency_ms", "error_rate", "error_status", "hang_seconds"}

``latency_ms`` is network time, spent half before the post is stored and half after, as on a
real round trip: a sender that dies mid-request may or may not have reached the receiver.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect


class Faults(BaseModel):
    latency_ms: float = Field(default=0, ge=0, le=60_000)
    error_rate: float = Field(default=0, ge=0, le=1)
    error_status: int = Field(default=503, ge=400, le=599)
    hang_seconds: float = Field(default=0, ge=0, le=600)  # record, then answer late (lost reply)
    hang_rate: float = Field(default=0, ge=0, le=1)


@dataclass
class WebhookSink:
    posts: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.router = APIRouter()
        r = self.router
        r.add_api_route("/receive", self.receive, methods=["POST"])
        r.add_api_route("/receive", self.head, methods=["HEAD", "GET"])
        r.add_api_route("/receive-plain", self.receive_plain, methods=["POST"])
        r.add_api_route("/lookup", self.lookup, methods=["GET"])
        r.add_api_route("/posts", self.list_posts, methods=["GET"])
        r.add_api_route("/posts", self.clear, methods=["DELETE"])
        r.add_api_route("/faults", self.set_faults, methods=["PUT", "POST"])
        r.add_api_route("/faults", self.get_faults, methods=["GET"])

    async def head(self) -> dict[str, str]:
        return {"status": "ok"}

    async def _accept(self, request: Request, honour_key: bool) -> Response:
        f = self.faults
        if f.latency_ms:
            await asyncio.sleep(f.latency_ms / 2000)
        if f.error_rate and self.rng.random() < f.error_rate:
            return JSONResponse({"error": "沙箱注入的故障"}, status_code=f.error_status)
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
            if f.hang_seconds and self.rng.random() < (f.hang_rate or 1.0):
                await asyncio.sleep(f.hang_seconds)
        if f.latency_ms:
            await asyncio.sleep(f.latency_ms / 2000)
        return reply

    def _store(self, request: Request, key: str | None, payload: Any) -> dict[str, Any]:
        number = len(self.posts) + 1
        post = {
            "id": f"wh-{number}",
            "url": f"{request.base_url}_sandbox/webhook/posts/{number}",
            "idempotency_key": key,
            "received_at": datetime.now(UTC).isoformat(),
            "payload": payload,
        }
        self.posts.append(post)
        if key and key not in self.by_key:
            self.by_key[key] = post
        return post

    async def receive(self, request: Request) -> Response:
        return await self._accept(request, honour_key=True)

    async def receive_plain(self, request: Request) -> Response:
        return await self._accept(request, honour_key=False)

    async def lookup(self, key: str) -> JSONResponse:
        post = self.by_key.get(key)
        if post is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(post)

    async def list_posts(self) -> dict[str, Any]:
        return {"count": len(self.posts), "posts": self.posts}

    async def clear(self) -> dict[str, int]:
        count = len(self.posts)
        self.posts.clear()
        self.by_key.clear()
        return {"cleared": count}

    async def set_faults(self, faults: Faults) -> Faults:
        self.faults = faults
        return faults

    async def get_faults(self) -> Faults:
        return self.faults
