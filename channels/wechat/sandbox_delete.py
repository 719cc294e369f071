"""The WeChat sandbox's ``freepublish/delete`` [S20][S21]; the doc is
developers.weixin.qq.com/doc/service/api/public/api_freepublishdelete.

    POST /cgi-bin/freepublish/delete   {"article_id", "index"} (index 1-based; 0 or none: all)
                                       -> {"errcode": 0, "errmsg": "ok"}; irreversible.
                                       53600 "Article ID 无效" for an id this account did not
                                       publish through freepublish; 48001 "api unauthorized"
                                       when the fault ``delete_unauthorized`` is on (the doc's
                                       one error code: the account lacks the permission).

A deleted article stays in ``GET /posts`` (``articles``) with ``"deleted": true`` and
``"deleted_at"``; ``freepublish/getarticle`` shows it with ``is_deleted: true`` and
``GET /s/<article_id>`` answers 404 "该内容已被发布者删除". Deleting it again answers ok.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request

from channels.wechat.sandbox_replies import fail, read_json

if TYPE_CHECKING:
    from channels.wechat.sandbox import WechatSandbox


async def freepublish_delete(
    sb: WechatSandbox, request: Request, record: dict[str, Any]
) -> dict[str, Any]:
    body = await read_json(request, record)
    if sb.faults.delete_unauthorized:
        return fail(48001)
    article_id = str(body.get("article_id")) if isinstance(body, dict) else ""
    article = sb.articles.get(article_id)
    if article is None or article["notified"] or article.get("appid") != record.get("appid"):
        return fail(53600)
    index = body.get("index") or 0
    if not isinstance(index, int) or index not in (0, 1):
        return fail(53600, errmsg="invalid index")
    sb.delete_article(article)
    return {"errcode": 0, "errmsg": "ok"}
