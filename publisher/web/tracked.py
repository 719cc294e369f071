"""``GET /r/<code>``: a tracked link from a Weibo, WeChat or OA post to the portal copy.

Counts one click per visitor per delivery per local day (the visitor hash and the bot list
are the portal's page views', ``channels/portal/pageviews.py``; nothing personal is stored),
appends the delivery's new total as a ``clicks`` sample, and redirects (302) to the notice's
page. A code that is not one this installation made is a 404 (``publisher/links.py``); a
``HEAD`` or a bot follows the link uncounted.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from channels.portal.pageviews import is_bot, local_day, visitor_hash
from publisher import links
from publisher.runtime import Runtime
from publisher.store import StoreTokens
from publisher.web.ratelimit import real_address

router = APIRouter(include_in_schema=False)


@router.api_route("/r/{code}", methods=["GET", "HEAD"])
async def follow(request: Request, code: str) -> Response:
    rt: Runtime = request.app.state.runtime
    target = await _resolve(rt, code)
    if target is None:
        return PlainTextResponse("链接无效或已失效\n", status_code=404)
    notice_id, delivery_id = target
    if request.method == "GET":
        await _count(request, rt, delivery_id)
    page = links.notice_url(rt.settings.public_base_url, notice_id)
    return RedirectResponse(page, status_code=302, headers={"Cache-Control": "no-store"})


async def _resolve(rt: Runtime, code: str) -> tuple[int, int] | None:
    """(notice id, delivery id) of a code this installation made, else None."""
    codes = rt.link_codes
    notice_id = links.notice_of(code)
    if codes is None or not codes.loaded or notice_id is None:
        return None
    for account, delivery_id in (await rt.store.link_deliveries(notice_id)).items():
        if codes.matches(code, notice_id, account):
            return notice_id, delivery_id
    return None


async def _count(request: Request, rt: Runtime, delivery_id: int) -> None:
    agent = request.headers.get("user-agent", "")
    if is_bot(agent, request.headers):
        return
    now = rt.clock.now()
    day = local_day(now, rt.settings.zone)
    address = real_address(
        request.client.host if request.client else None,
        request.headers,
        bool(rt.settings.proxy_addresses),
    )
    visitor = visitor_hash(await _salt(request, rt), day, address)
    await rt.store.record_link_click(delivery_id, day, visitor, now)


async def _salt(request: Request, rt: Runtime) -> str:
    """The visitor-hash salt, random per installation, kept beside the link secret."""
    salt: str | None = getattr(request.app.state, "click_salt", None)
    if salt is None:
        tokens = StoreTokens(rt.store)
        found = await tokens.get(links.CREDENTIAL_ACCOUNT, links.VISITOR_SALT_NAME)
        if found is None:
            await tokens.put(
                links.CREDENTIAL_ACCOUNT, links.VISITOR_SALT_NAME, secrets.token_hex(16), None
            )
            found = await tokens.get(links.CREDENTIAL_ACCOUNT, links.VISITOR_SALT_NAME)
        salt = found[0] if found else secrets.token_hex(16)
        request.app.state.click_salt = salt
    return salt
