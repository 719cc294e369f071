"""WeChat withdrawals (撤回, issue 11): delete the original article, else post a correction.

The original was published one of two ways (its ``PostRef.detail["mode"]``):

* ``freepublish``: ``POST /cgi-bin/freepublish/delete?access_token= {"article_id", "index"}``
  -> ``{"errcode": 0, "errmsg": "ok"}``; ``index`` is the 1-based position of the article
  (ours are single-article: 1; 0 or none deletes all); irreversible; the doc's one error
  code is 48001 "api unauthorized" (developers.weixin.qq.com/doc/service/api/public/
  api_freepublishdelete; reference §1.4 [S20][S21]). The ``article_id`` is known once the
  publish was confirmed (``freepublish/get``).
* ``masssend``: ``POST /cgi-bin/message/mass/delete {"msg_id", "article_idx": 0}`` ->
  ``{"errcode": 0, "errmsg": "ok"}`` (reference §1.5 [S22]): the pushed message and its
  article are deleted.

With ``recall = false``, without this account's post of the original (``post.recall``), without
its ids, or when WeChat refuses (48001, 53600 ...), the withdrawal is posted as a 【撤回】
article instead (``post_article``: pushed to followers only if ``mass_send_followups``), and
its ``PublishResult.note`` says why. Token errors refresh and retry as for every call.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from channels import recall
from publisher.contract import OutgoingPost, PublishResult
from publisher.errors import AuthExpired, CredentialsInvalid, PermanentError

if TYPE_CHECKING:
    from channels.wechat.adapter import WechatAdapter

NOT_CONFIRMED = "原文章尚未确认发表（没有 article_id），无法删除"


async def withdraw(adapter: WechatAdapter, post: OutgoingPost) -> PublishResult:
    found = recall.target(post, adapter.options.recall)
    if isinstance(found, str):
        return await _correction(adapter, post, found)
    detail = found.detail
    if detail.get("mode") == "masssend":
        path = "/cgi-bin/message/mass/delete"
        payload: dict[str, object] = {
            "msg_id": detail.get("msg_id", found.remote_id),
            "article_idx": 0,
        }
    elif detail.get("article_id"):
        path = "/cgi-bin/freepublish/delete"
        payload = {"article_id": detail["article_id"], "index": 1}
    else:
        return await _correction(adapter, post, NOT_CONFIRMED)
    try:
        await adapter.api.with_refresh(partial(adapter.api.post, path, payload))
    except (AuthExpired, CredentialsInvalid):
        raise
    except PermanentError as exc:
        return await _correction(adapter, post, recall.refused(exc))
    return recall.recalled(found, "文章", deleted_with=path.rsplit("/cgi-bin/", 1)[-1])


async def _correction(adapter: WechatAdapter, post: OutgoingPost, why: str) -> PublishResult:
    """The 【撤回】 article; its note also in ``detail`` so that ``confirm`` repeats it."""
    result = recall.with_correction_note(await adapter.post_article(post), why)
    return replace(result, detail={**result.detail, "note": result.note})
