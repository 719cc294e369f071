"""The WeChat sandbox's replies, faults and access tokens (``sandbox.py`` serves them).

Errors are HTTP 200 + ``{"errcode", "errmsg"}`` with WeChat's own messages (reference §1).
Tokens follow ``stable_token`` [S2]: they live 7200 s, the same token comes back until five
minutes are left, and ``force_refresh`` issues a new one while the old one lives five more.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from fastapi import Request
from pydantic import Field

from channels.wechat.errors import CHINA
from publisher.sandbox.kit import Faults

TOKEN_SECONDS = 7200
ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40005: "invalid file type",
    40007: "invalid media_id",
    40009: "invalid image size",
    40013: "invalid appid",
    40125: "invalid appsecret",
    40164: "invalid ip, not in whitelist",
    41001: "access_token missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    44002: "empty post data",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    45028: "has no masssend quota",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    45166: "invalid content",
    47001: "data format error",
    53502: "invalid publish_id",
    53503: "该草稿未通过发布检查",
    53600: "Article ID 无效",
    61500: "date format error",
    61501: "date range error",
}


class WechatFaults(Faults):
    errcode: int = -1  # what an injected error answers
    only: str | None = None  # faults hit only paths containing this, e.g. "draft/add"
    expire_token: bool = False  # action: every token issued so far answers 42001
    lost_reply: float = Field(default=0, ge=0, le=1)  # carry out, then hold the reply
    hang_seconds: float = Field(default=30, ge=0, le=600)
    publish_seconds: float = Field(default=2, ge=0, le=3600)  # freepublish/mass job duration
    publish_status: int = Field(default=0, ge=0, le=6)  # how freepublish jobs end
    reads_per_minute: float = Field(default=30, ge=0)
    mass_sends_per_day: int = Field(default=1, ge=0)
    mass_sends_per_month: int | None = Field(default=None, ge=0)  # 服务号: 4 a month
    delete_unauthorized: bool = False  # freepublish/delete answers 48001
    mass_send_drafts: bool = True  # false: sendall answers 40007 for a draft's media_id

    def lost_reply_odds(self) -> tuple[float, float]:
        return self.lost_reply, self.hang_seconds


def fail(code: int, **extra: Any) -> dict[str, Any]:
    rid = f"{random.getrandbits(40):010x}-sandbox"
    return {"errcode": code, "errmsg": f"{ERRMSG.get(code, 'sandbox fault')} rid: {rid}", **extra}


def day_of(moment: float) -> date:
    return datetime.fromtimestamp(moment, CHINA).date()


def day_start(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA).timestamp()


async def read_json(request: Request, record: dict[str, Any]) -> Any:
    """The JSON body (None if it is not JSON), noted in the call's record."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    record["body"] = body
    return body


class TokenDesk:
    """The access tokens issued so far, per appid."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.tokens: dict[str, dict[str, Any]] = {}  # token -> {appid, expires_at, expired}
        self.current: dict[str, str] = {}  # appid -> newest token

    def appid(self, token: str | None) -> str | None:
        known = self.tokens.get(token or "")
        return known["appid"] if known else None

    def problem(self, token: str | None) -> int | None:
        """The errcode a call with this token gets, or None if the token is good."""
        if not token:
            return 41001
        known = self.tokens.get(token)
        if known is None:
            return 40001
        if known["expired"] or known["expires_at"] <= time.time():
            return 42001
        return None

    def expire_all(self) -> None:
        for token in self.tokens.values():
            token["expired"] = True

    async def stable_token(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        body = await read_json(request, record)
        if not isinstance(body, dict):
            return fail(47001)
        if "secret" in body:
            record["body"] = {**body, "secret": "***"}
        if body.get("grant_type") != "client_credential":
            return fail(40002)
        appid, secret = str(body.get("appid") or ""), str(body.get("secret") or "")
        if not appid.startswith("wx"):
            return fail(40013)
        if not secret:
            return fail(41004)
        now = time.time()
        current = self.tokens.get(self.current.get(appid, ""))
        fresh = current is not None and not current["expired"] and current["expires_at"] - now > 300
        if body.get("force_refresh") or not fresh:
            if body.get("force_refresh") and current is not None:
                current["expires_at"] = min(current["expires_at"], now + 300)
            token = f"SANDBOX-{appid}-{self.rng.getrandbits(64):016x}"
            current = {"appid": appid, "expires_at": now + TOKEN_SECONDS, "expired": False}
            self.tokens[token] = current
            self.current[appid] = token
        assert current is not None
        return {"access_token": self.current[appid], "expires_in": int(current["expires_at"] - now)}


def article_problem(a: Any, materials: Mapping[str, Any]) -> dict[str, Any] | None:
    """The errcode draft/add (and uploadnews) answers for this article, if any."""
    if not isinstance(a, dict) or not a.get("title") or not a.get("content"):
        return fail(47001, errmsg="title and content are required")
    if len(a["title"]) > 32:
        return fail(45003)
    if len(a.get("digest") or "") > 128:
        return fail(45004)
    content = a["content"]
    if len(content) >= 20_000 or len(content.encode()) >= 1024 * 1024:
        return fail(45002)
    if "<script" in content.lower():
        return fail(45166)
    if a.get("thumb_media_id") not in materials:
        return fail(40007)
    return None


def news_item(article: dict[str, Any], url: str, no_content: bool) -> dict[str, Any]:
    fields = (
        "title",
        "author",
        "digest",
        "content",
        "content_source_url",
        "thumb_media_id",
        "need_open_comment",
        "only_fans_can_comment",
    )
    item = {k: article.get(k, 0 if "comment" in k else "") for k in fields}
    item["show_cover_pic"] = 1
    item["url"] = url
    if no_content:
        del item["content"]
    return item


def page(body: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One batchget page of ``rows`` (newest first), or the errcode for a bad request."""
    if not isinstance(body, dict):
        return fail(44002)
    offset, count = body.get("offset"), body.get("count")
    if not isinstance(offset, int) or offset < 0:
        return fail(47001, errmsg="data format error: offset")
    if not isinstance(count, int) or not 1 <= count <= 20:
        return fail(47001, errmsg="data format error: count must be 1..20")
    chosen = rows[offset : offset + count]
    return {"total_count": len(rows), "item_count": len(chosen), "item": chosen}
