"""``GET /ack/<code>``: the "已知悉" button of a WeCom warning card (``channels/oa/wecom_ack.py``).

Without ``?code=`` it sends the member's browser through WeCom's web OAuth (302), which comes
back here with one; then it asks WeCom who that member is, records the acknowledgement once
(``oa_readers``, how "acknowledged") and shows a short page with the full text's link. A link
this installation did not make is a 404; a code WeCom refuses is a 400 saying so. Nothing is
asked of the member and no address is stored.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from channels.oa.wecom_ack import SUFFIX
from publisher import links
from publisher.errors import ChannelError
from publisher.reach.receipts import ACKNOWLEDGED
from publisher.runtime import Runtime

router = APIRouter(include_in_schema=False)


def _page(title: str, text: str, status: int = 200, link: str | None = None) -> HTMLResponse:
    more = f'<p><a href="{html.escape(link)}">查看全文</a></p>' if link else ""
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p>{more}</body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def _resolve(rt: Runtime, code: str) -> tuple[int, int, str] | None:
    """(notice id, delivery id, account) of an ack code this installation made."""
    codes = rt.link_codes
    notice_id = links.notice_of(code)
    if codes is None or not codes.loaded or notice_id is None:
        return None
    for account, delivery_id in (await rt.store.link_deliveries(notice_id)).items():
        if codes.matches(code, notice_id, account + SUFFIX):
            return notice_id, delivery_id, account
    return None


@router.get("/ack/{code}")
async def acknowledge(request: Request, code: str) -> Response:
    rt: Runtime = request.app.state.runtime
    found = await _resolve(rt, code)
    if found is None or found[2] not in rt.channels:
        return _page("链接无效", "这个确认链接无效或已失效。", 404)
    notice_id, delivery_id, account = found
    adapter: Any = rt.channels.get(account).adapter
    if not hasattr(adapter, "identify"):
        return _page("链接无效", "这个确认链接无效或已失效。", 404)
    full = links.notice_url(rt.settings.public_base_url, notice_id)
    oauth_code = request.query_params.get("code")
    if not oauth_code:
        here = f"{rt.settings.public_base_url.rstrip('/')}/ack/{code}"
        return RedirectResponse(adapter.oauth_url(here), 302, {"Cache-Control": "no-store"})
    try:
        user = await adapter.identify(oauth_code)
    except ChannelError as exc:
        return _page("无法确认身份", f"企业微信未能确认您的身份: {exc}", 400, full)
    new = await rt.store.record_reads(delivery_id, {user: rt.clock.now()}, ACKNOWLEDGED)
    said = "已记录：您已知悉这条通知。" if new else "您此前已确认知悉这条通知。"
    return _page("已知悉", said, 200, full)
