"""A stand-in for an external CMS, mounted at ``/_sandbox/portal``, with switchable faults.

No portal CMS publishes a REST interface (reference 5), so this imitates the generic
``http_push`` shape the adapter speaks (``cms.py``)::

    POST /api/articles            JSON article, ``Authorization``, ``Idempotency-Key``
                                  -> 200 {"code": 0, "data": {"id", "url"}}
                                  -> 409 {"code": 409, "message", "data": {...}} same key again
    GET  /api/articles/by-key/{key}  -> 200 {"data": {...}} or 404 (the adapter's lookup)
    GET  /api/articles/{id}       -> {"data": {..., "hits"}}: hits grow with the article's age
    GET  /articles/{id}.html      the article as the CMS would show it

and for the people and tests driving it, the kit's routes (``publisher.sandbox.kit``)::

    GET    /posts     everything received: {"count", "posts": [...], "rejected": [...]}
    DELETE /posts     forget it all
    PUT    /faults    {"error_rate", "error_code", "latency_ms", "expire_token", "lost_reply",
                       "lost_reply_seconds"}; GET /faults shows them

An article needs a non-empty ``Authorization`` (401 otherwise, or when ``expire_token`` is
set) and a ``title``-like field (400 "标题不能为空"). Injected errors answer ``error_code``
as the HTTP status with ``{"code", "message"}``. ``lost_reply`` keeps the article and answers
only after ``lost_reply_seconds``, so the client gives up without knowing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from markupsafe import escape
from pydantic import Field

from publisher.sandbox.kit import Faults, Sandbox

HITS_PER_MINUTE = 6.0
TITLE_FIELDS = ("title", "DocTitle", "doc_title", "name")


class CmsFaults(Faults):
    error_code: int = Field(default=503, ge=400, le=599)
    expire_token: bool = False
    lost_reply: bool = False
    lost_reply_seconds: float = Field(default=30, ge=0, le=600)

    def lost_reply_odds(self) -> tuple[float, float]:
        return (1.0 if self.lost_reply else 0.0), self.lost_reply_seconds


class CmsSandbox(Sandbox[CmsFaults]):
    def __init__(
        self, clock: Callable[[], float] = time.time, rng: random.Random | None = None
    ) -> None:
        super().__init__(CmsFaults(), rng)
        self.clock = clock
        self.rejected: list[dict[str, Any]] = []
        self.by_key: dict[str, dict[str, Any]] = {}
        self.by_id: dict[int, dict[str, Any]] = {}
        r = self.router
        r.add_api_route("/api/articles", self.create, methods=["POST", "PUT"])
        r.add_api_route("/api/articles/by-key/{key}", self.lookup, methods=["GET"])
        r.add_api_route("/api/articles/{article_id}", self.show, methods=["GET"])
        r.add_api_route("/articles/{article_id}.html", self.page, methods=["GET"])

    def _view(self, post: dict[str, Any]) -> dict[str, Any]:
        age = max(0.0, self.clock() - float(post["received_at"]))
        return {
            "id": post["id"],
            "url": post["url"],
            "title": post["title"],
            "hits": int(age / 60 * HITS_PER_MINUTE),
        }

    def _refuse(self, status: int, message: str, body: Any = None) -> JSONResponse:
        refused = {"status": status, "message": message, "body": body}
        self.rejected.append(refused)
        self.note("rejected", refused)
        return JSONResponse({"code": status, "message": message}, status_code=status)

    async def create(self, request: Request) -> JSONResponse:
        f = self.faults
        await self.network_delay()
        try:
            body = await request.json()
        except ValueError:
            return self._refuse(400, "请求体不是 JSON")
        if not request.headers.get("authorization") or f.expire_token:
            return self._refuse(401, "认证失败：令牌无效或已过期", body)
        if self.fault_strikes():
            return self._refuse(f.error_code, "沙箱注入的故障 (sandbox fault)", body)
        title = next(
            (body.get(k) for k in TITLE_FIELDS if isinstance(body, dict) and body.get(k)), None
        )
        if not title:
            return self._refuse(400, "标题不能为空", body)
        key = request.headers.get("idempotency-key")
        if key and key in self.by_key:
            view = self._view(self.by_key[key])
            return JSONResponse(
                {"code": 409, "message": "该文章已存在", "data": view}, status_code=409
            )
        number = self.next_serial()
        base = str(request.base_url).rstrip("/") + request.scope.get("root_path", "")
        post = {
            "id": number,
            "url": f"{base}/articles/{number}.html",
            "title": str(title),
            "key": key,
            "body": body,
            "received_at": self.clock(),
        }
        self.keep(post)
        self._index(post)
        await self.hold_reply()
        return JSONResponse({"code": 0, "data": self._view(post)})

    async def lookup(self, key: str) -> JSONResponse:
        post = self.by_key.get(key)
        if post is None:
            return JSONResponse({"code": 404, "message": "没有这篇文章"}, status_code=404)
        return JSONResponse({"code": 0, "data": self._view(post)})

    def _index(self, post: dict[str, Any]) -> None:
        self.by_id[int(post["id"])] = post
        if post.get("key"):
            self.by_key[post["key"]] = post

    def _find(self, article_id: str) -> dict[str, Any] | None:
        if not article_id.isdigit() or len(article_id) > 18:
            return None
        return self.by_id.get(int(article_id))

    async def show(self, article_id: str) -> JSONResponse:
        post = self._find(article_id)
        if post is None:
            return JSONResponse({"code": 404, "message": "没有这篇文章"}, status_code=404)
        return JSONResponse({"code": 0, "data": self._view(post)})

    async def page(self, article_id: str) -> HTMLResponse:
        post = self._find(article_id)
        if post is None:
            return HTMLResponse("<h1>404</h1>", status_code=404)
        return HTMLResponse(
            f"<!DOCTYPE html><title>{escape(post['title'])}</title>"
            f"<h1>{escape(post['title'])}</h1><p>（沙箱 CMS）</p>"
        )

    def listing(self) -> dict[str, Any]:
        return {**super().listing(), "rejected": self.rejected}

    def forget(self) -> None:
        super().forget()
        self.rejected.clear()
        self.by_key.clear()
        self.by_id.clear()

    def restore(self, kind: str, value: Any) -> None:
        if kind == "rejected":
            self.rejected.append(value)
            return
        super().restore(kind, value)
        if kind == "post":
            self._index(value)
