"""The WeChat sandbox's mass send (``message/mass/sendall``, ``get``, ``delete``) [S19][S22].

POST /cgi-bin/message/mass/sendall   once a day (``mass_sends_per_day``, then 45028) and,
                                     if ``mass_sends_per_month`` is set (服务号: 4), that
                                     many a month; clientmsgid -> 45065; a draft's or an
                                     uploadnews media_id
POST /cgi-bin/message/mass/get       SENDING for ``publish_seconds``, then SEND_SUCCESS;
                                     DELETE once deleted
POST /cgi-bin/message/mass/delete    {"msg_id", "article_idx"} -> {"errcode":0,"errmsg":"ok"};
                                     the article is marked deleted (``GET /s/...`` 404)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import Request

from channels.wechat.sandbox_replies import day_of, fail, read_json

if TYPE_CHECKING:
    from channels.wechat.sandbox import WechatSandbox


async def sendall(sb: WechatSandbox, request: Request, record: dict[str, Any]) -> dict[str, Any]:
    body = await read_json(request, record)
    if not isinstance(body, dict) or body.get("msgtype") != "mpnews":
        return fail(47001, errmsg="sandbox sends mpnews only")
    key = str(body.get("clientmsgid") or "")
    if len(key.encode()) > 64:
        return fail(45067)
    if key and key in sb.by_clientmsgid:
        return fail(45065, msg_id=int(sb.by_clientmsgid[key]))
    now = time.time()
    today = day_of(now)
    sent_today = sum(1 for m in sb.mass.values() if day_of(m["at"]) == today)
    if sent_today >= sb.faults.mass_sends_per_day:
        return fail(45028)
    per_month = sb.faults.mass_sends_per_month
    month = (today.year, today.month)
    sent_month = sum(
        1 for m in sb.mass.values() if (day_of(m["at"]).year, day_of(m["at"]).month) == month
    )
    if per_month is not None and sent_month >= per_month:
        return fail(45028)
    media_id = str((body.get("mpnews") or {}).get("media_id"))
    draft: dict[str, Any] | None = sb.news.get(media_id)
    if draft is not None and draft.get("appid") != record.get("appid"):
        return fail(40007)
    if draft is None and media_id in sb.drafts and not sb.faults.mass_send_drafts:
        return fail(40007)  # what some accounts answer for a draft's id [S12]
    draft = draft or sb.take_draft(media_id)
    if draft is None:
        return fail(40007)
    msg_id = sb.new_id()
    msg_data_id = sb.new_id()
    sb.publish_article(draft, sb.root(request, record["path"]), msg_data_id, now, notified=True)
    sb.mass[msg_id] = {
        "at": now,
        "done_at": now + sb.faults.publish_seconds,
        "clientmsgid": key,
        "msg_data_id": msg_data_id,
    }
    if key:
        sb.by_clientmsgid[key] = msg_id
    sb.note("mass", {"msg_id": msg_id, **sb.mass[msg_id]})
    return {
        "errcode": 0,
        "errmsg": "send job submission success",
        "msg_id": int(msg_id),
        "msg_data_id": int(msg_data_id),
    }


async def get(sb: WechatSandbox, request: Request, record: dict[str, Any]) -> dict[str, Any]:
    body = await read_json(request, record)
    msg_id = str(body.get("msg_id")) if isinstance(body, dict) else ""
    send = sb.mass.get(msg_id)
    if send is None:
        return fail(47001, errmsg="unknown msg_id")
    if send.get("deleted"):
        status = "DELETE"
    else:
        status = "SENDING" if time.time() < send["done_at"] else "SEND_SUCCESS"
    return {"msg_id": int(msg_id), "msg_status": status}


async def delete(sb: WechatSandbox, request: Request, record: dict[str, Any]) -> dict[str, Any]:
    """``mass/delete {"msg_id", "article_idx"}``: article_idx 0 (or none) deletes all, else
    the 1-based article (the sandbox sends single-article news: only 1)."""
    body = await read_json(request, record)
    msg_id = str(body.get("msg_id")) if isinstance(body, dict) else ""
    send = sb.mass.get(msg_id)
    article = sb.articles.get(f"ART{send['msg_data_id']}") if send else None
    if send is None or article is None or article.get("appid") != record.get("appid"):
        return fail(47001, errmsg="unknown msg_id")
    index = body.get("article_idx") or 0
    if index not in (0, 1):
        return fail(47001, errmsg="invalid article_idx")
    send["deleted"] = True
    sb.note("mass", {"msg_id": msg_id, **send})
    sb.delete_article(article)
    return {"errcode": 0, "errmsg": "ok"}
