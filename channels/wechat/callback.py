"""The account's callback URL (服务器配置): ``GET/POST /callbacks/wechat/<account>``.

WeChat signs every request with ``signature = sha1(sorted(token, timestamp, nonce))`` in the
query; the URL check is a GET whose ``echostr`` we echo back. In safe mode (安全模式,
``encrypt_type=aes``) the POST body is ``<xml><Encrypt>…</Encrypt></xml>``, signed again as
``msg_signature`` and AES-encrypted with the EncodingAESKey. wechatpy does this part well:
``check_signature``, ``WeChatCrypto.decrypt_message`` and ``parse_message`` [S20].

Events we act on:
- ``PUBLISHJOBFINISH`` (``PublishEventInfo/publish_id``) [S17][S18]: ask the core to confirm
  the waiting delivery now (``ctx.confirm_now``) instead of at its next poll. wechatpy parses
  it as ``UnknownMessage``; the fields are read from its ``_data``.
- ``MASSSENDJOBFINISH`` (``MsgID``, ``ArticleUrlResult``) [S17]: remember the article URL
  (``mass/get`` does not return one) as ``massurl:<msg_id>``, then confirm now.

Everything else is acknowledged with ``success`` (WeChat re-sends unanswered pushes). A bad
signature or an undecryptable body answers 403 with no detail. The confirm triggered here
still asks WeChat itself (``freepublish/get``), so a replayed push can only make a poll early.

Forged pushes. In plain mode the query signature covers only ``token, timestamp, nonce``, not
the body: whoever holds one signed URL can post any XML under it. So, on every request:

- ``timestamp`` must lie within ±5 minutes of ``ctx.clock`` (what wechatpy's callers and
  WeChat's own sample code leave to the server);
- each ``nonce`` is taken once (:class:`Nonces`, below): a replay within the window is 403,
  and after it the timestamp is stale;
- with an EncodingAESKey configured, a POST must come in safe mode (``encrypt_type=aes``,
  body signed by ``msg_signature``); plaintext is 403, so nobody without the key can forge one;
- a URL from a push is kept only if it is WeChat's own article page (``https://mp.weixin.qq.
  com/...``, see :func:`channels.wechat.masssend.article_url`); any other is dropped and the
  delivery is still confirmed through ``mass/get``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import parse_message  # type: ignore[import-untyped]
from wechatpy.crypto import WeChatCrypto  # type: ignore[import-untyped]
from wechatpy.exceptions import InvalidSignatureException  # type: ignore[import-untyped]
from wechatpy.utils import check_signature  # type: ignore[import-untyped]

from channels.wechat.masssend import article_url
from publisher.contract import AccountContext

MAX_BODY = 256 * 1024
#: A push's ``timestamp`` may differ from our clock by at most this much, either way.
MAX_SKEW = timedelta(minutes=5)
#: A nonce is remembered for as long as a URL carrying it is fresh (skew on both sides).
NONCE_WINDOW = 2 * MAX_SKEW
#: Beyond this many fresh nonces at once, refuse (503, WeChat retries) rather than forget one.
MAX_NONCES = 5000
NONCES = "callback-nonces"  # the row in ctx.tokens


def forbidden() -> Response:
    return PlainTextResponse("forbidden", status_code=403)


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def mass_article_url(data: dict[str, Any]) -> str | None:
    """The first ``ArticleUrl`` of a MASSSENDJOBFINISH event, if any."""
    result = data.get("ArticleUrlResult")
    if not isinstance(result, dict):
        return None
    for holder in _items(result.get("ResultList")):
        if not isinstance(holder, dict):
            continue
        for item in _items(holder.get("item", holder)):
            if isinstance(item, dict) and item.get("ArticleUrl"):
                return str(item["ArticleUrl"])
    return None


class Nonces:
    """The nonces of the last :data:`NONCE_WINDOW`, so each signed URL is accepted once.

    Kept twice: in the shared credential store as one row, ``callback-nonces`` = ``{nonce:
    expiry}``, pruned on every write, so another ``serve`` process or a restart still refuses
    a replay; and in this process, once that row is written. A lock serialises the row's
    read-check-write here, so two concurrent requests in one process cannot both pass, and a
    failed write remembers nothing (the push is answered 503 and WeChat re-sends it).

    The row holds only signed nonces (a forger cannot add any), at most :data:`MAX_NONCES`;
    a row per nonce would never be deleted (the store has no delete), one row stays small.
    Two processes writing the row at the same instant can lose one entry; each process still
    refuses what it has seen itself.
    """

    def __init__(self, ctx: AccountContext) -> None:
        self.ctx = ctx
        self.seen: dict[str, float] = {}
        self.lock = asyncio.Lock()

    async def take(self, nonce: str, now: datetime) -> bool | None:
        """True if ``nonce`` is new (and now taken), False if seen, None if too many."""
        moment = now.timestamp()
        self.seen = _fresh(self.seen, moment)
        if nonce in self.seen:
            return False
        if len(self.seen) >= MAX_NONCES:
            return None
        expiry = moment + NONCE_WINDOW.total_seconds()
        async with self.lock:
            stored = await self.ctx.tokens.get(self.ctx.account, NONCES)
            shared = _fresh(_decode(stored[0] if stored else ""), moment)
            if nonce in shared:
                return False
            if len(shared) >= MAX_NONCES:
                return None
            shared[nonce] = expiry
            until = datetime.fromtimestamp(max(shared.values()), now.tzinfo)
            await self.ctx.tokens.put(self.ctx.account, NONCES, json.dumps(shared), until)
            self.seen[nonce] = expiry
        return True


def _decode(value: str) -> dict[str, float]:
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def _fresh(nonces: dict[str, float], moment: float) -> dict[str, float]:
    return {n: expiry for n, expiry in nonces.items() if expiry > moment}


class Callbacks:
    def __init__(self, ctx: AccountContext, token: str, appid: str, aes_key: str | None) -> None:
        self.ctx = ctx
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self.path = f"/callbacks/wechat/{ctx.account}"
        self.nonces = Nonces(ctx)

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(self.path, self.verify, methods=["GET"], include_in_schema=False)
        router.add_api_route(self.path, self.receive, methods=["POST"], include_in_schema=False)
        return router

    def _signed(self, request: Request) -> bool:
        q = request.query_params
        signature, timestamp, nonce = q.get("signature"), q.get("timestamp"), q.get("nonce")
        if not (signature and timestamp and nonce):
            return False
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            return False
        return True

    def _stale(self, request: Request, what: str) -> Response | None:
        """403 unless the request is signed by us and its timestamp is fresh; else None."""
        if not self._signed(request):
            self.ctx.log.warning("wechat %s: %s with a bad signature", self.ctx.account, what)
            return forbidden()
        stamp = request.query_params["timestamp"]
        now = self.ctx.clock.now()
        try:
            sent: datetime | None = datetime.fromtimestamp(int(stamp), now.tzinfo)
        except (ValueError, OverflowError, OSError):
            sent = None
        if sent is None or abs(now - sent) > MAX_SKEW:
            self.ctx.log.warning(
                "wechat %s: %s with a stale timestamp %r", self.ctx.account, what, stamp[:20]
            )
            return forbidden()
        return None

    async def _replayed(self, request: Request, what: str) -> Response | None:
        """403 if this request's nonce was taken before (503 if we cannot tell); else None."""
        try:
            taken = await self.nonces.take(request.query_params["nonce"], self.ctx.clock.now())
        except Exception:  # the store is busy: WeChat re-sends; never act on it unchecked
            self.ctx.log.exception("wechat %s: cannot record the nonce", self.ctx.account)
            return PlainTextResponse("busy", status_code=503)
        if taken is None:
            self.ctx.log.warning("wechat %s: too many pushes at once", self.ctx.account)
            return PlainTextResponse("busy", status_code=503)
        if not taken:
            self.ctx.log.warning("wechat %s: %s replayed (nonce seen)", self.ctx.account, what)
            return forbidden()
        return None

    async def verify(self, request: Request) -> Response:
        """The URL check when the callback is configured: echo ``echostr`` if signed by us."""
        refused = self._stale(request, "callback check")
        refused = refused or await self._replayed(request, "callback check")
        if refused is not None:
            return refused
        return PlainTextResponse(request.query_params.get("echostr", ""))

    async def receive(self, request: Request) -> Response:
        refused = self._stale(request, "push")
        if refused is not None:
            return refused
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
        q = request.query_params
        if q.get("encrypt_type") == "aes":
            if self.crypto is None:
                self.ctx.log.warning(
                    "wechat %s: encrypted push but no EncodingAESKey is set", self.ctx.account
                )
                return forbidden()
            try:
                body = self.crypto.decrypt_message(
                    body, q.get("msg_signature", ""), q.get("timestamp"), q.get("nonce")
                )
            except Exception:  # wrong signature, wrong key or appid, malformed body
                self.ctx.log.warning("wechat %s: push that does not decrypt", self.ctx.account)
                return forbidden()
        elif self.crypto is not None:  # safe mode is on: a plaintext body is unauthenticated
            self.ctx.log.warning(
                "wechat %s: plaintext push although an EncodingAESKey is set", self.ctx.account
            )
            return forbidden()
        # Taken only once the body is authenticated (where it can be), so a garbled copy of a
        # genuine URL cannot use up the nonce of the push it was copied from.
        refused = await self._replayed(request, "push")
        if refused is not None:
            return refused
        try:
            message = parse_message(body)
            data = dict(message._data)
        except Exception:
            return PlainTextResponse("bad message", status_code=400)
        await self.handle(data)
        return PlainTextResponse("success")

    async def handle(self, data: dict[str, Any]) -> None:
        event = str(data.get("Event") or "").upper()
        remote_id: str | None = None
        if event == "PUBLISHJOBFINISH":
            info = data.get("PublishEventInfo")
            if isinstance(info, dict) and info.get("publish_id"):
                remote_id = str(info["publish_id"])
        elif event == "MASSSENDJOBFINISH" and data.get("MsgID"):
            remote_id = str(data["MsgID"])
            url = article_url(mass_article_url(data))
            if url:
                await self.ctx.tokens.put(self.ctx.account, f"massurl:{remote_id}", url, None)
        if remote_id is None:
            return
        try:
            found = await self.ctx.confirm_now(remote_id)
        except Exception:  # polling still confirms it; WeChat must not re-send for our trouble
            self.ctx.log.exception("wechat %s: confirm_now(%s) failed", self.ctx.account, remote_id)
            return
        self.ctx.log.info(
            "wechat %s: %s for %s (%s)",
            self.ctx.account,
            event,
            remote_id,
            "confirming now" if found else "no delivery waits for it",
        )
