"""A stand-in for the Weibo Open API, mounted at ``/_sandbox/weibo``, with switchable faults.

Same paths, fields and error bodies as the real API (reference 2.2-2.5)::

    POST /2/statuses/share.json       access_token, status, rip -> Status object
    POST /2/statuses/destroy.json     access_token, id -> the deleted Status object; 20101
                                      for an id it does not have (or another user's, or one
                                      deleted already); 10014 "Insufficient app permissions"
                                      when the fault ``destroy_refused`` is on, as Weibo
                                      answers apps without the advanced write permission [S44]
    GET  /2/statuses/count.json       access_token, ids
                                      -> [{"id", "comments", "reposts", "attitudes"}]
    GET  /2/media_statuses/count_sp/biz.json    the same plus "reads" (the commercial API)
    POST /oauth2/get_token_info       access_token
                                      -> {"uid", "appkey", "scope", "create_at", "expire_in"}
    GET  /web/{uid}/{mid}             the post, where weibo.com would show it

and for the people and tests driving it, the kit's routes (``publisher.sandbox.kit``)::

    GET    /posts     everything received: {"count", "posts": [...], "rejected": [...]}
    DELETE /posts     forget it all
    PUT    /faults    {"error_rate", "error_code", "latency_ms", "expire_token", "lost_reply",
                       "lost_reply_seconds", "destroy_refused"}; GET /faults shows them

A deleted post stays in ``GET /posts`` with ``"deleted": true`` and ``"deleted_at"``; counts
and ``/web/...`` no longer show it.

``share`` checks what Weibo checks: a token (any non-empty one, unless expired through
``expire_token``: ``true`` for every token, or one token's text), ``rip``, at most 140 字
measured as ``length.weibo_length`` does (20012), a link on the safe domain (any URL with
``/portal/`` or a tracked ``/r/`` in it, else 10017 "text not find domain!"), no ``#话题#``
(10017), and not the same text twice from one user (20019). Errors are
``{"request", "error_code", "error"}`` with HTTP 400, or 403 for token problems. Counts grow
with the time since each post.
``lost_reply`` records the post and then answers only after ``lost_reply_seconds``, so the
client gives up without knowing: the "did it arrive?" case.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import Field

from channels.weibo.errors import TOKEN_INVALID_CODES
from channels.weibo.length import DEFAULT_LINK_WEIGHT, URL, WEIBO_MAX, topics, weibo_length
from publisher.sandbox.kit import Faults, Sandbox

BEIJING = timezone(timedelta(hours=8))
FIRST_MID = 4_990_000_000_000_000
TOKEN_LIFETIME = 30 * 86400.0
APP_KEY = "sandbox-app"


class WeiboFaults(Faults):
    error_code: int = 10001  # what an injected error says (10001 system error)
    expire_token: bool | str = False  # true: every token; a string: that token only
    lost_reply: bool = False
    lost_reply_seconds: float = Field(default=30, ge=0, le=600)
    destroy_refused: bool = False  # statuses/destroy answers 10014 (no advanced permission)

    def lost_reply_odds(self) -> tuple[float, float]:
        return (1.0 if self.lost_reply else 0.0), self.lost_reply_seconds


class WeiboError(Exception):
    def __init__(self, code: int, text: str) -> None:
        self.code = code
        self.text = text
        super().__init__(text)


def _mask(token: str) -> str:
    return token[:4] + "…" if token else ""


class WeiboSandbox(Sandbox[WeiboFaults]):
    def __init__(
        self,
        safe_path: str = "/portal/",
        link_weight: float = DEFAULT_LINK_WEIGHT,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(WeiboFaults(), rng)
        self.safe_path = safe_path
        self.link_weight = link_weight
        self.clock = clock
        self.rejected: list[dict[str, Any]] = []
        self.first_seen: dict[str, float] = {}
        r = self.router
        r.add_api_route("/2/statuses/share.json", self.share, methods=["POST"])
        r.add_api_route("/2/statuses/destroy.json", self.destroy, methods=["POST"])
        r.add_api_route("/2/statuses/count.json", self.count, methods=["GET"])
        r.add_api_route("/2/media_statuses/count_sp/biz.json", self.count_biz, methods=["GET"])
        r.add_api_route("/oauth2/get_token_info", self.token_info, methods=["POST"])
        r.add_api_route("/web/{uid}/{mid}", self.web, methods=["GET"])

    # -- the common part of every API call ------------------------------------------------

    @staticmethod
    def _error(path: str, code: int, text: str) -> JSONResponse:
        status = 403 if code in TOKEN_INVALID_CODES else 400
        body = {"request": path, "error_code": str(code), "error": text}
        return JSONResponse(body, status_code=status)

    async def _enter(self, token: str) -> int:
        """Latency, token checks and injected errors; returns the token's user id."""
        f = self.faults
        await self.network_delay()
        if not token:
            raise WeiboError(21301, "auth faild!")
        if f.expire_token is True or (isinstance(f.expire_token, str) and f.expire_token == token):
            raise WeiboError(21327, "expired_token")
        first = self.first_seen.setdefault(token, self.clock())
        if self.clock() - first > TOKEN_LIFETIME:
            raise WeiboError(21327, "expired_token")
        if self.fault_strikes():
            raise WeiboError(f.error_code, "沙箱注入的故障 (sandbox fault)")
        return 1_000_000_000 + zlib.crc32(token.encode())

    # -- statuses/share -------------------------------------------------------------------

    async def share(self, request: Request) -> JSONResponse:
        path = "/2/statuses/share.json"
        form = await request.form()
        token = str(form.get("access_token") or "")
        status = str(form.get("status") or "")
        rip = str(form.get("rip") or "")
        received = {
            "access_token": _mask(token),
            "status": status,
            "rip": rip,
            "received_at": datetime.now(BEIJING).isoformat(),
        }
        try:
            uid = await self._enter(token)
            self._validate(uid, status, rip)
        except WeiboError as exc:
            refused = {**received, "error_code": exc.code, "error": exc.text}
            self.rejected.append(refused)
            self.note("rejected", refused)
            return self._error(path, exc.code, exc.text)
        post = self._post(uid, status, received)
        await self.hold_reply()
        return JSONResponse(self._status_object(post))

    def _validate(self, uid: int, status: str, rip: str) -> None:
        if not rip:
            raise WeiboError(10016, "miss required parameter (rip), see doc for more info.")
        if not status.strip():
            raise WeiboError(20008, "content is null!")
        if weibo_length(status, self.link_weight) > WEIBO_MAX:
            raise WeiboError(20012, "Text too long, please input text less than 140 characters!")
        if topics(status):
            raise WeiboError(10017, "parameter (status)'s value invalid: #话题# is not allowed")
        if not any(p in url for url in URL.findall(status) for p in (self.safe_path, "/r/")):
            raise WeiboError(10017, "text not find domain!")
        if any(p["uid"] == uid and p["text"] == status for p in self.posts):
            raise WeiboError(20019, "repeat content!")

    def _post(self, uid: int, status: str, received: dict[str, Any]) -> dict[str, Any]:
        mid = FIRST_MID + self.next_serial()  # never reused: not after DELETE, nor a restart
        posted = self.clock()
        post = {
            **received,
            "id": mid,
            "idstr": str(mid),
            "mid": str(mid),
            "uid": uid,
            "text": status,
            "posted_at": posted,
            "created_at": datetime.fromtimestamp(posted, BEIJING).strftime(
                "%a %b %d %H:%M:%S %z %Y"
            ),
        }
        self.keep(post)
        return post

    # -- statuses/destroy -----------------------------------------------------------------

    async def destroy(self, request: Request) -> JSONResponse:
        path = "/2/statuses/destroy.json"
        form = await request.form()
        try:
            uid = await self._enter(str(form.get("access_token") or ""))
            if self.faults.destroy_refused:
                raise WeiboError(10014, "Insufficient app permissions!")
            wanted = str(form.get("id") or "")
            if not wanted:
                raise WeiboError(10016, "miss required parameter (id), see doc for more info.")
            post = next(
                (
                    p
                    for p in self.posts
                    if p["idstr"] == wanted and p["uid"] == uid and not p.get("deleted")
                ),
                None,
            )
            if post is None:
                raise WeiboError(20101, "target weibo does not exist!")
        except WeiboError as exc:
            return self._error(path, exc.code, exc.text)
        post["deleted"] = True
        post["deleted_at"] = datetime.now(BEIJING).isoformat()
        self.note("deleted", {"idstr": post["idstr"], "deleted_at": post["deleted_at"]})
        await self.hold_reply()
        return JSONResponse(self._status_object(post))

    def _counts(self, post: dict[str, Any]) -> dict[str, int]:
        age = max(0.0, self.clock() - float(post["posted_at"]))
        return {
            "comments": int(age / 90),
            "reposts": int(age / 60),
            "attitudes": int(age / 20),
            "reads": int(age * 3),
        }

    def _status_object(self, post: dict[str, Any]) -> dict[str, Any]:
        counts = self._counts(post)
        return {
            "created_at": post["created_at"],
            "id": post["id"],
            "mid": post["mid"],
            "idstr": post["idstr"],
            "text": post["text"],
            "source": '<a href="https://open.weibo.com" rel="nofollow">沙箱应用</a>',
            "favorited": False,
            "truncated": False,
            "geo": None,
            "user": {
                "id": post["uid"],
                "idstr": str(post["uid"]),
                "screen_name": f"沙箱账号{post['uid'] % 10000}",
            },
            "reposts_count": counts["reposts"],
            "comments_count": counts["comments"],
            "attitudes_count": counts["attitudes"],
        }

    # -- counts ---------------------------------------------------------------------------

    async def _count_rows(self, request: Request, path: str, reads: bool) -> JSONResponse:
        params = request.query_params
        try:
            await self._enter(params.get("access_token", ""))
            raw = params.get("ids", "")
            if not raw:
                raise WeiboError(10016, "miss required parameter (ids), see doc for more info.")
            ids = [i.strip() for i in raw.split(",") if i.strip()]
            if len(ids) > 100:
                raise WeiboError(10017, "parameter (ids)'s value invalid: at most 100 ids")
        except WeiboError as exc:
            return self._error(path, exc.code, exc.text)
        by_id = {p["idstr"]: p for p in self.posts if not p.get("deleted")}
        rows = []
        for i in ids:
            post = by_id.get(i)
            if post is None:
                continue  # unknown or deleted ids are silently left out, as Weibo does
            counts = self._counts(post)
            if not reads:
                counts.pop("reads")
            rows.append({"id": post["id"], **counts})
        return JSONResponse(rows)

    async def count(self, request: Request) -> JSONResponse:
        return await self._count_rows(request, "/2/statuses/count.json", reads=False)

    async def count_biz(self, request: Request) -> JSONResponse:
        return await self._count_rows(request, "/2/media_statuses/count_sp/biz.json", reads=True)

    # -- oauth2 ---------------------------------------------------------------------------

    async def token_info(self, request: Request) -> JSONResponse:
        form = await request.form()
        token = str(form.get("access_token") or "")
        try:
            uid = await self._enter(token)
        except WeiboError as exc:
            return self._error("/oauth2/get_token_info", exc.code, exc.text)
        first = self.first_seen[token]
        left = int(TOKEN_LIFETIME - (self.clock() - first))
        return JSONResponse(
            {"uid": uid, "appkey": APP_KEY, "scope": "", "create_at": int(first), "expire_in": left}
        )

    # -- for people and tests -------------------------------------------------------------

    async def web(self, uid: str, mid: str) -> JSONResponse:
        for post in self.posts:
            if post["idstr"] == mid and str(post["uid"]) == uid and not post.get("deleted"):
                return JSONResponse(self._status_object(post))
        return self._error(f"/{uid}/{mid}", 20101, "target weibo does not exist!")

    def listing(self) -> dict[str, Any]:
        return {**super().listing(), "rejected": self.rejected}

    def forget(self) -> None:
        super().forget()
        self.rejected.clear()

    def restore(self, kind: str, value: Any) -> None:
        if kind == "rejected":
            self.rejected.append(value)
        elif kind == "deleted" and isinstance(value, dict):
            for post in self.posts:
                if post["idstr"] == value.get("idstr"):
                    post.update(deleted=True, deleted_at=value.get("deleted_at"))
        else:
            super().restore(kind, value)
