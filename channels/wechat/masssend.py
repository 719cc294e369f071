"""Pushing a draft to followers: ``message/mass/sendall``, and today's quota [S19][S24].

``POST /cgi-bin/message/mass/sendall {"filter": {"is_to_all": true} | {"tag_id"},
"mpnews": {"media_id": <draft>}, "msgtype": "mpnews", "send_ignore_reprint", "clientmsgid"}``
-> ``{"msg_id", "msg_data_id"}``; the job is then polled with ``message/mass/get``
(``SENDING`` / ``SEND_SUCCESS`` / ``SEND_FAIL`` / ``DELETE``).

``clientmsgid`` is our delivery's idempotency key (hashed to 64 hex characters if longer):
WeChat answers 45065 to a second send under it, so a retried warning is never pushed twice.
A verified subscription account has one mass send a day: 45028 ``has no masssend quota``.

Which ``media_id``: WeChat's community answer is that ``mpnews.media_id`` may be a draft's
[S12], and that is tried first (WeChat then takes the draft out of the draft box, as for
``freepublish``). But ``sendall`` was made for the id of ``POST /cgi-bin/media/uploadnews
{"articles": [{thumb_media_id, author, title, content_source_url, content, digest,
show_cover_pic, need_open_comment, only_fans_can_comment}]}`` -> ``{"type": "news",
"media_id", "created_at"}``, and accounts report 40007 ``invalid media_id`` for a draft's id
[S12] (wechatpy: ``media.upload_articles`` [S20]). On 40007 the draft is read back
(``draft/get``), uploaded as news, sent under the same ``clientmsgid``, and then deleted
(``draft/delete``, best effort) as WeChat would have done. If the draft is gone (``draft/get``
answers 40007 too), that 40007 is raised: someone took the draft meanwhile.

The day's book lives in ``ctx.tokens`` as ``masssend:<Beijing date>``: how many sends went
out, whether WeChat said the quota is used, and which keys were tried. A service account's
month (``mass_sends_per_month``, 4) is counted in ``masssend-month:<YYYY-MM>``
(``policy.py``). A warning goes straight to ``freepublish`` when the book says the quota is
used, *unless* its own key was tried today: that send may have gone out with its reply lost,
and only ``sendall`` itself can say so (45065).

``mass/get`` names no article URL; the ``MASSSENDJOBFINISH`` push does (``ArticleUrl`` [S17]).
A push can be forged, so :func:`article_url` keeps a URL only if it is an article page on
WeChat's own domain, ``https://mp.weixin.qq.com/...`` (pushes often write ``http://``; the same
page is served over https, so the scheme is upgraded). Anything else is never shown as the
post's link; the delivery is still confirmed through ``mass/get``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from channels.wechat.api import WechatApi
from channels.wechat.errors import CLIENTMSGID_EXISTS, INVALID_MEDIA_ID, NO_MASS_SEND_QUOTA
from channels.wechat.policy import DAY_QUOTA_NOTE, MONTH_QUOTA_NOTE
from publisher.contract import AccountContext, OutgoingPost, PublishResult
from publisher.errors import (
    ChannelError,
    Duplicate,
    OutcomeUnknown,
    PermanentError,
    TransientError,
)

ALREADY_SENT_NOTE = "该条此前已群发给关注者（微信提示 clientmsgid 已存在），未重复推送"
SENDALL = "/cgi-bin/message/mass/sendall"
#: The fields of a ``media/uploadnews`` article, all found in a draft's ``news_item``.
NEWS_FIELDS = (
    "thumb_media_id",
    "author",
    "title",
    "content_source_url",
    "content",
    "digest",
    "need_open_comment",
    "only_fans_can_comment",
)
ARTICLE_HOST = "mp.weixin.qq.com"
MAX_URL = 2048


def article_url(value: object) -> str | None:
    """``value`` as an https URL if it is a page on ``mp.weixin.qq.com``, else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return None
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.hostname != ARTICLE_HOST:
        return None
    if parts.netloc != ARTICLE_HOST or port is not None:  # no user, password or port
        return None
    return "https" + value[len(parts.scheme) :]


def client_msg_id(key: str) -> str:
    return key if len(key.encode()) <= 64 else hashlib.sha256(key.encode()).hexdigest()


class MassSend:
    def __init__(
        self,
        ctx: AccountContext,
        api: WechatApi,
        *,
        per_day: int,
        tag_id: int | None,
        ignore_reprint: bool,
        per_month: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.api = api
        self.per_day = per_day
        self.per_month = per_month
        self.tag_id = tag_id
        self.ignore_reprint = ignore_reprint

    async def send(
        self, post: OutgoingPost, media_id: str, today: str, detail: dict[str, Any]
    ) -> PublishResult | str:
        """Push the draft; the note to give instead when the day's or the month's quota is
        used (publish without push)."""
        key = client_msg_id(post.idempotency_key)
        book = await self._book(today)
        tried = key in book.get("keys", [])
        if not tried and (book.get("exhausted") or int(book.get("sent", 0)) >= self.per_day):
            return DAY_QUOTA_NOTE
        month = await self._book(_month(today))
        if not tried and self.per_month is not None and int(month.get("sent", 0)) >= self.per_month:
            return MONTH_QUOTA_NOTE
        book["keys"] = [*book.get("keys", []), key] if not tried else book["keys"]
        await self._save(today, book)  # before the call: its reply may be lost
        audience: dict[str, Any] = {"is_to_all": self.tag_id is None}
        if self.tag_id is not None:
            audience["tag_id"] = self.tag_id
        payload = {
            "filter": audience,
            "mpnews": {"media_id": media_id},
            "msgtype": "mpnews",
            "send_ignore_reprint": int(self.ignore_reprint),
            "clientmsgid": key,
        }
        try:
            reply = await self._sendall(payload, media_id)
        except Duplicate as exc:
            if exc.code != CLIENTMSGID_EXISTS:
                raise
            detail.update(mode="masssend", msg_id=exc.remote_id, clientmsgid=key)
            return PublishResult(remote_id=exc.remote_id, detail=detail, note=ALREADY_SENT_NOTE)
        except PermanentError as exc:
            if exc.code != NO_MASS_SEND_QUOTA:
                raise
            book = await self._book(today)
            book["exhausted"] = True
            await self._save(today, book)
            self.ctx.log.warning(
                "wechat %s: no mass send quota today; publishing without push", self.ctx.account
            )
            return DAY_QUOTA_NOTE
        book = await self._book(today)
        book["sent"] = int(book.get("sent", 0)) + 1
        await self._save(today, book)
        month = await self._book(_month(today))
        month["sent"] = int(month.get("sent", 0)) + 1
        await self._save(_month(today), month)
        msg_id = reply.get("msg_id")
        if msg_id in (None, ""):
            raise OutcomeUnknown("mass/sendall 返回成功，但没有 msg_id")
        detail.update(
            mode="masssend", msg_id=msg_id, msg_data_id=reply.get("msg_data_id"), clientmsgid=key
        )
        return PublishResult(
            remote_id=str(msg_id), confirming=True, confirm_after=5.0, detail=detail
        )

    async def _sendall(self, payload: dict[str, Any], draft_id: str) -> dict[str, Any]:
        """``sendall`` of the draft; on 40007 the same article as ``uploadnews`` news."""
        try:
            return await self.api.post(SENDALL, payload, unsafe=True)
        except PermanentError as exc:
            if exc.code != INVALID_MEDIA_ID:
                raise
        news_id = await self._upload_news(draft_id)
        reply = await self.api.post(
            SENDALL, {**payload, "mpnews": {"media_id": news_id}}, unsafe=True
        )
        try:
            await self.api.post("/cgi-bin/draft/delete", {"media_id": draft_id})
        except ChannelError as exc:  # only tidiness: a draft left over harms nothing
            self.ctx.log.warning("wechat %s: draft/delete %s: %s", self.ctx.account, draft_id, exc)
        return reply

    async def _upload_news(self, draft_id: str) -> str:
        """The draft's articles uploaded with ``media/uploadnews``; the news media_id."""
        items = (await self.api.post("/cgi-bin/draft/get", {"media_id": draft_id})).get("news_item")
        if not isinstance(items, list) or not items:
            raise TransientError(f"draft/get {draft_id} 的回复中没有文章")
        articles = [
            {k: item[k] for k in NEWS_FIELDS if k in item} | {"show_cover_pic": 1}
            for item in items
            if isinstance(item, dict)
        ]
        reply = await self.api.post("/cgi-bin/media/uploadnews", {"articles": articles})
        news_id = reply.get("media_id")
        if not news_id:
            raise TransientError("media/uploadnews 返回成功，但没有 media_id")
        return str(news_id)

    async def _book(self, today: str) -> dict[str, Any]:
        """The book of ``today`` (``YYYY-MM-DD``) or of a month (``_month``)."""
        stored = await self.ctx.tokens.get(self.ctx.account, _name(today))
        try:
            book = json.loads(stored[0]) if stored else {}
        except ValueError:
            book = {}
        return book if isinstance(book, dict) else {}

    async def _save(self, today: str, book: dict[str, Any]) -> None:
        await self.ctx.tokens.put(self.ctx.account, _name(today), json.dumps(book), None)


def _month(today: str) -> str:
    return "month:" + today[:7]


def _name(day_or_month: str) -> str:
    """``masssend:2026-07-01`` for a day, ``masssend-month:2026-07`` for a month."""
    if day_or_month.startswith("month:"):
        return "masssend-month:" + day_or_month[len("month:") :]
    return f"masssend:{day_or_month}"
