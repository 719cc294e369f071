"""Settling an unknown outcome on WeChat exactly: published, half-done, or never sent.

A worker killed in the middle of ``publish``, or a ``freepublish/submit`` whose reply was lost,
leaves a delivery whose fate only WeChat knows. Drafts and freepublish take no key [S1][S13],
but WeChat keeps two things we control, and we leave one more note in our own database:

1. **The key in the article.** Every article we draft carries ``content_source_url`` (阅读原文,
   at most 1 KB [S1]) = the portal copy of the notice plus the delivery's idempotency key:
   ``{base_url}/portal/notices/<id>?k=<key>``. The key is a 32-hex uuid (hashed to 64 hex
   characters if longer, as for ``clientmsgid``), so the link stays far below 1 KB; the portal
   ignores the parameter. WeChat returns the link in ``draft/batchget``, ``draft/get`` [S10],
   ``freepublish/batchget`` [S16] and ``freepublish/getarticle`` [S15].
2. **The submit marker.** Before every ``freepublish/submit`` the adapter commits
   ``submit:<key>`` = ``{"media_id", "at", "note"}`` to ``ctx.tokens`` (the shared database).
   It is written before the request leaves, so *no marker* proves that no submit was ever sent
   for this delivery. A submit WeChat refuses outright (an errcode, a refused connection) puts
   the previous marker back: nothing of it can be in flight.
3. **Mass send** (warnings) is keyed by ``clientmsgid`` already: sending again under the same
   key answers 45065 and pushes nothing [S24] (masssend.py).

``lookup`` asks, in this order:

a. ``freepublish/batchget`` (``no_content=1``, the newest 40): an article whose link carries our
   key -> **posted** (``remote_id`` = its ``article_id``, its url, ``msg_data_id`` from the url's
   ``mid`` for metrics). An article linking the notice page with no ``k`` at all counts too:
   WeChat may have dropped the query, or a person published it by hand; either way it is on the
   channel, and calling it posted cannot publish anything twice.
b. No marker: no submit ever left. ``draft/batchget`` for a draft carrying our key: found ->
   release that draft now, exactly as ``publish`` would (mass send, or ``freepublish/submit``)
   and return ``confirming``; none -> ``None``, the worker publishes afresh (a mass-sent warning
   then meets 45065 and is not pushed again).
c. A marker: ``draft/get`` of the marked draft.

   - Still in the draft box: the submit never took effect, or its job failed, or it is still
     publishing (if WeChat removes a draft only when its job ends). Until
     ``reconcile_wait_seconds`` after the submit: ``TransientError`` (ask again later); then
     submit *that same draft* again.
   - Gone (40007): WeChat took it. Its job is still running, or failed, or its article was
     deleted or is older than the 40 we read. Until the wait is over: ``TransientError``;
     then ``PermanentError``, which the worker turns into ``needs_review`` with our reasons.

Why this can never publish twice:

- A new draft, the only way to a second article, is made only when ``lookup`` returns ``None``,
  and that needs "no marker": no submit was ever sent for this delivery.
- We only ever submit again the *same* draft, and only after it has sat in the draft box for
  the whole wait since our last submit. WeChat removes a draft once it is published [S1], so one
  draft gives at most one article; the wait covers the reading that it is removed only when the
  job ends.
- A draft WeChat has taken is never replaced: after the wait a person decides.

Deleting a found draft and returning ``None`` (a clean re-publish) was rejected: if a submit of
that draft were still in flight, deleting the draft need not stop the job, and the fresh draft
would become a second article. Submitting the same draft again is bounded by WeChat's own rule
that a draft is published once.

UNCERTAIN, none of which can make us publish twice (the marker decides that): the order of
the batchget lists (newest first assumed; the docs say only "from offset" [S16]); whether
``no_content=1`` drops only the article HTML (assumed) or the whole ``content`` object (then
each item is read with ``freepublish/getarticle`` or ``draft/get``); the errcode of
``draft/get`` for a removed draft (40007 assumed [S11]); ``mid`` in an article url being the
``msg_data_id`` that datacube joins on (metrics only).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.wechat.api import WechatApi
from channels.wechat.errors import CHINA, INVALID_MEDIA_ID
from channels.wechat.masssend import client_msg_id
from publisher import links
from publisher.contract import AccountContext, PublishResult
from publisher.errors import OutcomeUnknown, PermanentError, TransientError
from publisher.links import KEY_PARAM

SOURCE_URL_MAX = 1024  # bytes: content_source_url "≤ 1 KB" [S1]
PAGE = 20  # batchget "count": 1..20 [S10][S16]
PAGES = 2  # the newest 40 articles, the newest 40 drafts
MARKER_DAYS = 30  # kept with the marker as its expiry (nothing reads past a delivery's life)
DELETED_NOTE = "该文章已在微信发表，但此后已被删除"


def key_value(key: str) -> str:
    """What goes after ``k=``: the key itself, or its SHA-256 if longer than 64 bytes."""
    return client_msg_id(key)


def source_url(base_url: str, notice_id: int, key: str) -> str:
    """The article's 阅读原文 link: the portal copy, carrying the delivery's key."""
    url = links.notice_url(base_url, notice_id, key=key_value(key))
    if len(url.encode()) > SOURCE_URL_MAX:
        raise PermanentError(
            f"阅读原文链接超过 1 KB（{len(url.encode())} 字节）：请缩短 base_url",
            code="content_source_url",
        )
    return url


def _split(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url.replace("&amp;", "&").strip())
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/"), parse_qs(parts.query)


def carries_key(url: Any, key: str) -> bool:
    return isinstance(url, str) and key_value(key) in _split(url)[1].get(KEY_PARAM, [])


def links_notice_without_key(url: Any, page: str) -> bool:
    if not isinstance(url, str):
        return False
    where, query = _split(url)
    return where == page.rstrip("/") and KEY_PARAM not in query


def msg_data_id_of(url: Any) -> str | None:
    """``mid`` of an article url (``mp.weixin.qq.com/s?__biz=..&mid=..&idx=1``), if any."""
    if not isinstance(url, str):
        return None
    mid = _split(url)[1].get("mid")
    return mid[0] if mid and mid[0].isdigit() else None


@dataclass(frozen=True)
class Submitted:
    """The marker: which draft we were about to submit for a delivery, and when."""

    media_id: str
    at: datetime
    note: str | None = None


class Reconciler:
    """The reading half of ``lookup``, and the marker kept around every submit."""

    def __init__(self, ctx: AccountContext, api: WechatApi) -> None:
        self.ctx = ctx
        self.api = api

    # -- the marker ------------------------------------------------------------------------

    @staticmethod
    def _name(key: str) -> str:
        return f"submit:{key_value(key)}"

    async def mark(self, key: str, media_id: str, note: str | None) -> str | None:
        """Commit the marker before a submit; returns the value it replaced (for ``restore``)."""
        before = await self.ctx.tokens.get(self.ctx.account, self._name(key))
        now = self.ctx.clock.now()
        value = json.dumps({"media_id": media_id, "at": now.isoformat(), "note": note})
        expires = now + timedelta(days=MARKER_DAYS)
        await self.ctx.tokens.put(self.ctx.account, self._name(key), value, expires)
        return before[0] if before else None

    async def restore(self, key: str, before: str | None) -> None:
        """WeChat refused the submit: put back what the marker said before it."""
        expires = self.ctx.clock.now() + timedelta(days=MARKER_DAYS)
        await self.ctx.tokens.put(self.ctx.account, self._name(key), before or "", expires)

    async def submitted(self, key: str) -> Submitted | None:
        stored = await self.ctx.tokens.get(self.ctx.account, self._name(key))
        if not stored or not stored[0]:
            return None
        try:
            data = json.loads(stored[0])
            at = datetime.fromisoformat(data["at"])
            media_id = str(data["media_id"])
        except (ValueError, KeyError, TypeError) as exc:
            # Something was sent, we cannot read what: never treat that as "nothing sent".
            raise PermanentError(
                f"无法读取提交记录 {self._name(key)}：{exc}", code="submit_marker"
            ) from None
        note = data.get("note")
        return Submitted(media_id, at, note if isinstance(note, str) else None)

    # -- reading WeChat --------------------------------------------------------------------

    async def _query(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A read-only call: an incomplete reply means "cannot tell now", nothing worse."""
        try:
            return await self.api.post(path, payload)
        except OutcomeUnknown as exc:
            raise TransientError(f"{path}: {exc}") from None

    async def _pages(self, path: str) -> AsyncIterator[dict[str, Any]]:
        """The items of ``path`` (a batchget), newest first, at most ``PAGES`` pages."""
        for page in range(PAGES):
            offset = page * PAGE
            data = await self._query(path, {"offset": offset, "count": PAGE, "no_content": 1})
            items = data.get("item")
            if not isinstance(items, list):
                # An empty answer would read as "not there": only a well-formed one may.
                raise TransientError(f"{path} 的回复中没有 item 列表: {str(data)[:200]}")
            for item in items:
                if isinstance(item, dict):
                    yield item
            total = data.get("total_count")
            if len(items) < PAGE or (isinstance(total, int) and offset + len(items) >= total):
                return

    @staticmethod
    def _news(item: dict[str, Any]) -> list[dict[str, Any]] | None:
        content = item.get("content")
        news = content.get("news_item") if isinstance(content, dict) else None
        if not isinstance(news, list):
            return None
        return [n for n in news if isinstance(n, dict)]

    async def published(self, key: str, page: str) -> PublishResult | None:
        """(a) An article carrying our key among the newest ``PAGE * PAGES`` published."""
        async for item in self._pages("/cgi-bin/freepublish/batchget"):
            article_id = item.get("article_id")
            news = self._news(item)
            if news is None and article_id:
                data = await self._query(
                    "/cgi-bin/freepublish/getarticle", {"article_id": article_id}
                )
                news = self._news({"content": data}) or []
            for index, article in enumerate(news or [], start=1):
                link = article.get("content_source_url")
                if carries_key(link, key) or links_notice_without_key(link, page):
                    return self._posted(item, article, index)
        return None

    def _posted(self, item: dict[str, Any], article: dict[str, Any], index: int) -> PublishResult:
        url = article.get("url") or None
        detail: dict[str, Any] = {
            "mode": "freepublish",
            "article_id": item.get("article_id"),
            "article_url": url,
            "reconciled": "freepublish/batchget",
        }
        updated = item.get("update_time")
        if isinstance(updated, int | float):
            day = datetime.fromtimestamp(updated, CHINA).date()
            detail["published_on"] = day.isoformat()
        mid = msg_data_id_of(url)
        if mid is not None and index == 1:
            detail["msg_data_id"] = mid
        deleted = bool(article.get("is_deleted"))
        if deleted:
            detail["is_deleted"] = True
        return PublishResult(
            remote_id=str(item.get("article_id")),
            url=url,
            detail=detail,
            note=DELETED_NOTE if deleted else None,
        )

    async def drafts(self, key: str) -> list[str]:
        """(b) media_ids of drafts carrying our key, newest first."""
        found: list[str] = []
        async for item in self._pages("/cgi-bin/draft/batchget"):
            media_id = item.get("media_id")
            if not media_id:
                continue
            news = self._news(item)
            if news is None:
                news = await self.draft(str(media_id)) or []
            if any(carries_key(n.get("content_source_url"), key) for n in news):
                found.append(str(media_id))
        return found

    async def draft(self, media_id: str) -> list[dict[str, Any]] | None:
        """(c) The articles of one draft, or None if it is no longer in the draft box."""
        try:
            data = await self._query("/cgi-bin/draft/get", {"media_id": media_id})
        except PermanentError as exc:
            if exc.code == INVALID_MEDIA_ID:
                return None
            raise
        news = self._news({"content": data})
        if news is None:
            raise TransientError(f"draft/get 的回复中没有 news_item: {str(data)[:200]}")
        return news
