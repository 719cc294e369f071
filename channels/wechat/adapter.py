"""WeChat Official Account (公众号/服务号): draft, publish, mass-send warnings, read reach.

Endpoints (``api_base`` default ``https://api.weixin.qq.com``; sandbox accounts use
``{base_url}/_sandbox/wechat``), all ``POST ?access_token=`` [S1]-[S26]:

============================================  ==============================================
``cgi-bin/stable_token``                      access token, shared via the DB (token.py) [S4]
``cgi-bin/material/add_material?type=image``  the cover, a permanent material (covers.py) [S5]
``cgi-bin/media/uploadimg``                   images inside the article (images.py) [S6]
``cgi-bin/draft/add``                         the article; its media_id is the draft [S1]
``cgi-bin/freepublish/submit`` / ``get``      publish the draft (no push), then poll [S13][S14]
``cgi-bin/freepublish/batchget``             lookup: our article among the published [S16]
``cgi-bin/freepublish/getarticle``            ... its link, if a list item lacks it [S15]
``cgi-bin/draft/batchget`` / ``get``          lookup: our draft, still in the box? [S10]
``cgi-bin/message/mass/sendall`` / ``get``    push a warning to followers (masssend.py) [S19]
``cgi-bin/media/uploadnews``                  ... as news, if sendall refuses a draft id [S12]
``datacube/getarticletotaldetail``            reads/shares/likes per article, T+1 (metrics.py)
``cgi-bin/freepublish/delete``, ``mass/delete``  withdrawals: delete the original (withdraw.py)
============================================  ==============================================

Flow of ``publish``: cover (uploaded once per kind) -> inline images (only if the body has
any) -> ``draft/add`` (title, author, digest, content, ``content_source_url`` = the portal copy
``{base_url}/portal/notices/<id>?k=<key>``, thumb_media_id) -> either

- ``freepublish/submit`` (after committing the ``submit:<key>`` marker) -> ``confirming``
  under ``remote_id = publish_id``; ``confirm`` polls ``freepublish/get`` (publish_status
  1 = still publishing; 0 = posted with the article url; 2-6 = failed, named) and the
  ``PUBLISHJOBFINISH`` push (callback.py) makes it poll at once;
- or, for notices the account pushes to followers (``policy.py``: ``mass_send_kinds``, default
  the weather warning; of those, warnings of ``mass_send_colors``, default red only;
  follow-ups only with ``mass_send_followups``) while ``mass_send`` is on:
  ``message/mass/sendall`` of the same draft with ``clientmsgid`` = our idempotency key ->
  ``confirming`` under ``remote_id = msg_id``, polled with ``mass/get``. 45065 (that
  clientmsgid was sent already) counts as posted. 45028 (no mass send quota: one a day on a
  verified subscription account) falls back to ``freepublish`` and tells the sender in
  ``PublishResult.note``; ``masssend:<date>`` in ``ctx.tokens`` remembers that today's quota
  is used, so the next warning goes straight to ``freepublish``.

Limits, declared for the core to enforce at submit [S1]: title 32 字, digest 128 字, content
< 20,000 characters and < 1 MB; the author (16 字) is checked when settings load. All REJECT:
a government notice is never cut short silently. The body is checked again at publish, after
inline images got WeChat's longer URLs (images.py ``within_limit``).

Idempotency: LOOKUP (reconcile.py). Drafts and freepublish take no key, so every article
carries the delivery's key in its 阅读原文 link (``content_source_url`` = the portal copy
``{base_url}/portal/notices/<id>?k=<key>``), and a marker ``submit:<key>`` is committed to
``ctx.tokens`` before every ``freepublish/submit``. After an unknown outcome ``lookup`` finds the
published article by its key (posted), or the draft that was never submitted (released now),
or proves that nothing was ever submitted (``None``: publish afresh); a draft WeChat has taken
without its article showing is waited for (``reconcile_wait_seconds``) and then handed to a
person. It never makes a second draft after a submit may have left, and never submits a draft
again while it may still be publishing: reconcile.py explains why that cannot publish twice.
Mass send keeps its own key, ``clientmsgid``: a repeat answers 45065 and pushes nothing.

Quirks: errors come as HTTP 200 + ``errcode`` (errors.py); JSON must be UTF-8 with
``ensure_ascii=False`` [S1]; ``publish_id``/``msg_id`` are strings or integers depending on the
doc, kept exactly as received [S13][S21]; freepublish needs a verified account (48001) [S11];
``msgid`` in datacube is ``<msg_data_id>_<index>`` [S26]. wechatpy is used only for callback
signatures, decryption and parsing: it is synchronous on ``requests`` and lacks stable_token and
the current datacube endpoints [S20].
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from channels.recall import is_withdrawal
from channels.wechat.api import WechatApi
from channels.wechat.covers import Covers
from channels.wechat.errors import (
    CHINA,
    INVALID_MEDIA_ID,
    MASS_STATUS,
    PUBLISH_STATUS,
    PUBLISHED,
    PUBLISHING,
)
from channels.wechat.images import MAX_BODY_BYTES, MAX_BODY_CHARS, InlineImages, within_limit
from channels.wechat.masssend import MassSend, article_url
from channels.wechat.metrics import FIELDS
from channels.wechat.metrics import fetch as fetch_datacube
from channels.wechat.options import WechatOptions
from channels.wechat.policy import DAY_QUOTA_NOTE, decide
from channels.wechat.reconcile import Reconciler, Submitted, account_source_url
from channels.wechat.token import StableToken
from channels.wechat.withdraw import withdraw
from publisher.contract import (
    AccountContext,
    Capabilities,
    ChannelAdapter,
    Format,
    Idempotency,
    Limit,
    MetricSample,
    OutgoingPost,
    PostRef,
    PublishMode,
    PublishResult,
    RateLimit,
    count_utf8_bytes,
)
from publisher.errors import (
    ChannelError,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from publisher.kinds import Kind

QUOTA_NOTE = DAY_QUOTA_NOTE
DAY_SECONDS = 86_400.0


class WechatAdapter(ChannelAdapter[WechatOptions]):
    type_name = "wechat"
    Options = WechatOptions

    def __init__(self, ctx: AccountContext) -> None:
        super().__init__(ctx)
        o = self.options
        self.token = StableToken(ctx, o.appid, o.secret, o.api_base, o.timeout)
        self.api = WechatApi(ctx, o.api_base, self.token, o.timeout)
        self.covers = Covers(ctx, self.api, dict(o.covers))
        self.images = InlineImages(ctx, self.api, o.timeout)
        self.reconciler = Reconciler(ctx, self.api)
        self.mass = MassSend(
            ctx,
            self.api,
            per_day=o.mass_sends_per_day,
            tag_id=o.mass_send_tag_id,
            ignore_reprint=o.send_ignore_reprint,
            per_month=o.mass_sends_per_month,
        )

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            formats=(Format.HTML,),
            parts=("title", "digest", "body"),
            limits=(
                Limit("title", 32),
                Limit("digest", 128),
                Limit("body", MAX_BODY_CHARS),
                Limit("body", MAX_BODY_BYTES, count_utf8_bytes, "字节"),
            ),
            # A bureau posts a few articles a day; 53501 says "too frequent" well above this.
            rate_limit=RateLimit(10, 60.0),
            max_concurrency=self.options.max_concurrency,
            max_attempts=self.options.max_attempts,
            idempotency=Idempotency.LOOKUP,
            publish_mode=PublishMode.TWO_PHASE,
            metrics=tuple(FIELDS),
            metrics_lag_seconds=DAY_SECONDS * self.options.stats_lag_days,
            links_to_copy=True,  # content_source_url ("阅读原文") is the portal copy
        )

    # -- publish ---------------------------------------------------------------------------

    async def publish(self, post: OutgoingPost) -> PublishResult:
        if is_withdrawal(post):
            return await withdraw(self, post)  # delete the original, else a correction
        return await self.post_article(post)

    async def post_article(self, post: OutgoingPost) -> PublishResult:
        notice = post.notice
        colour = notice.fields.get("color") if notice.kind == Kind.WEATHER_WARNING else None
        colour = colour if isinstance(colour, str) else None
        article = {
            "article_type": "news",
            "title": post.rendered.title,
            "author": self.options.author,
            "digest": post.rendered.parts.get("digest", ""),
            "content": within_limit(await self.images.rewrite(post.rendered.body)),
            "content_source_url": account_source_url(self.ctx, notice.id, post.idempotency_key),
            "need_open_comment": int(self.options.need_open_comment),
            "only_fans_can_comment": 0,
        }
        article = {k: v for k, v in article.items() if v != ""}  # empty author/digest: omit
        media_id = await self._draft(article, notice.kind, colour)
        return await self._release(post, media_id, {})

    async def _release(
        self, post: OutgoingPost, media_id: str, extra: dict[str, Any]
    ) -> PublishResult:
        """Make a draft public: mass send it (warnings) or ``freepublish/submit`` it."""
        today = self.ctx.clock.now().astimezone(CHINA).date().isoformat()
        detail: dict[str, Any] = {"media_id": media_id, "published_on": today, **extra}
        n = post.notice
        policy = decide(self.options, n.kind, n.fields, n.follows)  # colours, follow-ups
        note = policy.note
        if policy.push:
            pushed = await self.mass.send(post, media_id, today, detail)
            if isinstance(pushed, PublishResult):
                return pushed
            note = pushed  # the day's or the month's quota is used
        if note:
            detail["note"] = note
        key = post.idempotency_key
        before = await self.reconciler.mark(key, media_id, note)  # committed before it leaves
        try:
            reply = await self.api.post(
                "/cgi-bin/freepublish/submit", {"media_id": media_id}, unsafe=True
            )
        except OutcomeUnknown:
            raise
        except ChannelError as exc:
            # Refused: nothing of this submit is in flight. Except "no such draft" (40007): the
            # draft left the box before our submit, so something else took it; keep the marker.
            if exc.code != INVALID_MEDIA_ID:
                await self.reconciler.restore(key, before)
            raise
        publish_id = reply.get("publish_id")
        if publish_id in (None, ""):
            raise OutcomeUnknown("freepublish/submit 返回成功，但没有 publish_id")
        detail.update(
            mode="freepublish", publish_id=publish_id, msg_data_id=reply.get("msg_data_id")
        )
        return PublishResult(
            remote_id=str(publish_id),
            confirming=True,
            confirm_after=5.0,
            detail=detail,
            note=note,
        )

    async def _draft(self, article: dict[str, Any], kind: str, colour: str | None) -> str:
        """``draft/add``; if the cached cover is gone from the library (40007), upload it
        again once. A draft is invisible to readers, so repeating this step is harmless."""
        for attempt in (1, 2):
            article["thumb_media_id"] = await self.covers.media_id(kind, colour)
            try:
                reply = await self.api.post("/cgi-bin/draft/add", {"articles": [article]})
            except PermanentError as exc:
                if exc.code != INVALID_MEDIA_ID or attempt == 2:
                    raise
                await self.covers.forget(kind, colour)
                continue
            media_id = reply.get("media_id")
            if not media_id:
                raise TransientError("draft/add 返回成功，但没有 media_id")
            return str(media_id)
        raise AssertionError("unreachable")

    # -- confirm ---------------------------------------------------------------------------

    async def confirm(self, ref: PostRef) -> PublishResult:
        polls = int(ref.detail.get("polls", 0))
        if ref.detail.get("mode") == "masssend":
            return await self._confirm_mass(ref, polls)
        publish_id = ref.detail.get("publish_id", ref.remote_id)
        data = await self.api.with_refresh(
            partial(self.api.post, "/cgi-bin/freepublish/get", {"publish_id": publish_id})
        )
        status = int(data.get("publish_status", -1))
        detail = {**ref.detail, "publish_status": status}
        note = ref.detail.get("note")
        if status == PUBLISHING:
            return self._again(ref, detail, polls)
        if status == PUBLISHED:
            items = (data.get("article_detail") or {}).get("item") or [{}]
            url = items[0].get("article_url") or None
            detail.pop("polls", None)
            detail.update(article_id=data.get("article_id"), article_url=url)
            return PublishResult(remote_id=str(publish_id), url=url, detail=detail, note=note)
        if status in PUBLISH_STATUS:
            failed = data.get("fail_idx") or []
            which = f"，失败的文章序号 {failed}" if failed else ""
            raise PermanentError(
                f"微信发布失败：{PUBLISH_STATUS[status]}（publish_status={status}{which}）",
                code=f"publish_status={status}",
            )
        raise TransientError(f"freepublish/get 返回了未知的 publish_status: {data}")

    async def _confirm_mass(self, ref: PostRef, polls: int) -> PublishResult:
        msg_id = ref.detail.get("msg_id", ref.remote_id)
        data = await self.api.with_refresh(
            partial(self.api.post, "/cgi-bin/message/mass/get", {"msg_id": msg_id})
        )
        status = str(data.get("msg_status", ""))
        detail = {**ref.detail, "msg_status": status}
        if status == "SENDING":
            return self._again(ref, detail, polls)
        if status == "SEND_SUCCESS":
            stored = await self.ctx.tokens.get(self.ctx.account, f"massurl:{msg_id}")
            url = article_url(stored[0]) if stored else None  # only WeChat's own pages
            detail.pop("polls", None)
            detail["article_url"] = url
            return PublishResult(
                remote_id=str(msg_id), url=url, detail=detail, note=ref.detail.get("note")
            )
        if status in MASS_STATUS:
            raise PermanentError(f"微信{MASS_STATUS[status]}（msg_status={status}）", code=status)
        raise TransientError(f"mass/get 返回了未知的 msg_status: {data}")

    @staticmethod
    def _again(ref: PostRef, detail: dict[str, Any], polls: int) -> PublishResult:
        detail["polls"] = polls + 1
        return PublishResult(
            remote_id=ref.remote_id,
            confirming=True,
            confirm_after=min(120.0, 5.0 * 2**polls),
            detail=detail,
            note=ref.detail.get("note"),
        )

    # -- lookup: settle an unknown outcome (reconcile.py) -----------------------------------

    async def lookup(self, post: OutgoingPost) -> PublishResult | None:
        """Published -> posted; never submitted -> release the draft or ``None``; submitted
        but not visible -> ``TransientError`` for ``reconcile_wait_seconds``, then the same
        draft again if it is still in the draft box, else ``PermanentError`` (a person)."""
        key = post.idempotency_key
        page = self.ctx.notice_url(post.notice.id)
        found = await self.api.with_refresh(partial(self.reconciler.published, key, page))
        marker = await self.reconciler.submitted(key)
        if found is not None:
            if marker is not None and marker.note and found.note is None:
                return PublishResult(
                    remote_id=found.remote_id,
                    url=found.url,
                    detail=found.detail,
                    note=marker.note,
                )
            return found
        if marker is None:
            drafts = await self.api.with_refresh(partial(self.reconciler.drafts, key))
            if not drafts:
                return None  # no submit ever left; a mass send repeats safely (45065)
            return await self._resume(post, drafts[0], "never submitted")
        still_there = await self.api.with_refresh(partial(self.reconciler.draft, marker.media_id))
        waited = (self.ctx.clock.now() - marker.at).total_seconds()
        left = self.options.reconcile_wait_seconds - waited
        if still_there is not None:
            if left > 0:
                raise RateLimited(  # not a failure: ask again in a while
                    f"草稿 {marker.media_id} 仍在草稿箱，{_when(marker)} 的发布提交可能仍在处理；"
                    f"{left:.0f} 秒后仍未发表则重新提交同一草稿",
                    retry_after=min(left, self.options.reconcile_recheck_seconds),
                )
            return await self._resume(post, marker.media_id, f"submitted {_when(marker)}")
        if left > 0:
            raise RateLimited(
                f"草稿 {marker.media_id} 已于 {_when(marker)} 提交发布并被微信接收，"
                "已发表列表中尚无本文；稍后再查",
                retry_after=min(left, self.options.reconcile_recheck_seconds),
            )
        raise PermanentError(
            f"草稿 {marker.media_id} 已于 {_when(marker)} 提交发布并已不在草稿箱，"
            f"但 {waited / 60:.0f} 分钟后最近发表的文章中仍没有本文（可能发布失败、审核未通过或"
            "文章已被删除）。请在公众平台「发表记录」中核对，再重试或取消",
            code="not_found_after_submit",
        )

    async def _resume(self, post: OutgoingPost, media_id: str, why: str) -> PublishResult:
        """Release a draft found in the draft box (the same draft, never a new one)."""
        try:
            return await self._release(post, media_id, {"reconciled": f"draft {why}"})
        except PermanentError as exc:
            if exc.code != INVALID_MEDIA_ID:
                raise
            # Taken from the draft box since we looked (by hand?): look again later.
            raise TransientError(f"草稿 {media_id} 刚刚离开草稿箱；稍后再查") from None

    # -- the rest of the contract ----------------------------------------------------------

    async def fetch_metrics(self, refs: Sequence[PostRef]) -> list[MetricSample]:
        return await fetch_datacube(self.ctx, self.api, refs, self.options.stats_lag_days)

    async def refresh_credentials(self) -> None:
        await self.token.refresh()

    async def check(self) -> None:
        """Fetch a token (normal mode: never disturbs the token in use). Wrong AppID or
        AppSecret, a frozen secret or a missing IP whitelist entry raise CredentialsInvalid."""
        await self.token.fetch(force=False)

    def routes(self) -> Any:
        o = self.options
        if o.callback_token is None:
            return None
        from channels.wechat.callback import Callbacks

        aes = o.encoding_aes_key.get_secret_value() if o.encoding_aes_key else None
        return Callbacks(self.ctx, o.callback_token.get_secret_value(), o.appid, aes).router()

    @classmethod
    def sandbox(cls) -> Any:
        from channels.wechat.sandbox import WechatSandbox

        return WechatSandbox().router


def _when(marker: Submitted) -> str:
    return marker.at.astimezone(CHINA).strftime("%m-%d %H:%M:%S")
