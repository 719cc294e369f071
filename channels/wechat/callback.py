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
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import parse_message  # type: ignore[import-untyped]
from wechatpy.crypto import WeChatCrypto  # type: ignore[import-untyped]
from wechatpy.exceptions import InvalidSignatureException  # type: ignore[import-untyped]
from wechatpy.utils import check_signature  # type: ignore[import-untyped]

from publisher.contract import AccountContext

MAX_BODY = 256 * 1024


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


class Callbacks:
    def __init__(self, ctx: AccountContext, token: str, appid: str, aes_key: str | None) -> None:
        self.ctx = ctx
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None
        self.path = f"/callbacks/wechat/{ctx.account}"

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

    async def verify(self, request: Request) -> Response:
        """The URL check when the callback is configured: echo ``echostr`` if signed by us."""
        if not self._signed(request):
            self.ctx.log.warning("wechat %s: callback check with a bad signature", self.ctx.account)
            return forbidden()
        return PlainTextResponse(request.query_params.get("echostr", ""))

    async def receive(self, request: Request) -> Response:
        if not self._signed(request):
            self.ctx.log.warning("wechat %s: push with a bad signature", self.ctx.account)
            return forbidden()
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
            url = mass_article_url(data)
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
