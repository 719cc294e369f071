"""The WeCom "已知悉" acknowledgement: WeCom has no read receipts for app messages
(channel-apis.md 3.1), so a warning's text card, sent once to every recipient, carries a
button "已知悉" whose link records who pressed it.

Design (honest about what it knows): the card is one message to all recipients (one card per
person would cost one API call and one rate slot per person), so its link cannot carry who
opened it. Instead the link, ``{base_url}/ack/<code>`` (``code`` signed like the tracked
links: ``publisher.links``, for (notice, "<account>#ack")), goes through WeCom's own web
OAuth, which tells us the member [W1]:

    1. /ack/<code> answers 302 to
       https://open.weixin.qq.com/connect/oauth2/authorize?appid=CORPID&redirect_uri=URL
       &response_type=code&scope=snsapi_base&state=ack#wechat_redirect
    2. WeCom sends the member's browser back to /ack/<code>?code=C&state=ack
    3. we ask GET {api_base}/cgi-bin/auth/getuserinfo?access_token=TOKEN&code=C
       -> {"errcode":0,"errmsg":"ok","userid":"zhangsan"}     (members of the corp)
    4. the member is recorded as having acknowledged (oa_readers, how = "acknowledged"), once,
       and sees the full text's link.

Nobody is asked anything and nothing can be forged from outside WeCom: a made-up ``code`` is
refused by WeCom (40029), and an ack link of another notice fails its signature. The option
``oauth_base`` points step 1 elsewhere (the sandbox's stand-in). Who has *not* acknowledged is
known only when ``touser`` names people; with ``@all`` (or parties/tags) only the
acknowledgements are listed. Paths and fields of steps 1 and 3 are from WeCom's 网页授权登录
(document 91022 / 91023), not in our reference: UNCERTAIN.

Sources: [W1] developer.work.weixin.qq.com/document/path/91022, 91023.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from channels.oa.common import Code, raise_for_code, read_reply
from publisher.contract import AccountContext, PostRef
from publisher.errors import AuthExpired, PermanentError, TransientError
from publisher.http_errors import request
from publisher.links import tracked_url
from publisher.reach.receipts import ACKNOWLEDGED, ReadState

if TYPE_CHECKING:
    from channels.oa.wecom_app import WecomAppAdapter, WecomAppOptions

BUTTON = "已知悉"
ACK_PREFIX = "/ack/"
OAUTH_BASE = "https://open.weixin.qq.com"
SUFFIX = "#ack"  # the link code is made for (notice, account + SUFFIX)
log = logging.getLogger("channels.oa.wecom_ack")

USERINFO_ERRORS: dict[int, Code] = {
    -1: Code(TransientError, "系统繁忙，稍后再试"),
    40001: Code(AuthExpired, "access_token 无效"),
    40014: Code(AuthExpired, "access_token 不合法"),
    42001: Code(AuthExpired, "access_token 已过期"),
    40029: Code(PermanentError, "code 无效或已使用"),
}

__all__ = ["BUTTON", "ReadState", "ack_url", "identify", "oauth_url", "read_state"]


def ack_url(ctx: AccountContext, notice_id: int) -> str | None:
    """The card's link, or None when this installation has no link secret loaded."""
    if ctx.link_codes is None or not ctx.link_codes.loaded:
        log.warning("%s: ack links need the link secret; the card links the full text", ctx.account)
        return None
    code = ctx.link_codes.code(notice_id, ctx.account + SUFFIX)
    return tracked_url(ctx.base_url, code).replace("/r/", ACK_PREFIX, 1)


def read_state(touser: str, ref: PostRef) -> ReadState:
    """The named recipients; the reads are the acknowledgements the route records."""
    named = tuple(u for u in touser.split("|") if u and u != "@all")
    return ReadState(named, {}, ACKNOWLEDGED, "企业微信 已知悉")


def oauth_url(ctx: AccountContext, options: WecomAppOptions, redirect_uri: str) -> str:
    if options.oauth_base:
        base = options.oauth_base.rstrip("/")
    elif options.sandbox and not options.api_base:
        base = f"{ctx.base_url.rstrip('/')}/_sandbox/wecom_app"
    elif options.sandbox and options.api_base:
        base = options.api_base.rstrip("/")
    else:
        base = OAUTH_BASE
    query = urlencode(
        {
            "appid": options.corpid,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": "ack",
        }
    )
    return f"{base}/connect/oauth2/authorize?{query}#wechat_redirect"


async def identify(adapter: WecomAppAdapter, code: str, *, again: bool = True) -> str:
    token = await adapter.token.get()
    response = await request(
        adapter.ctx.http,
        "GET",
        f"{adapter._api}/cgi-bin/auth/getuserinfo",
        params={"access_token": token, "code": code},
        timeout=adapter.options.timeout,
    )
    errcode, message, data = read_reply(response, "企业微信 getuserinfo", ("errcode",), ("errmsg",))
    user: Any = data.get("userid") or data.get("UserId")
    if errcode == 0 and isinstance(user, str) and user:
        return user
    if errcode == 0:
        raise PermanentError("企业微信 getuserinfo: 不是本企业成员，无法记录")
    try:
        raise_for_code("企业微信 getuserinfo", errcode, message, USERINFO_ERRORS)
    except AuthExpired:
        if not again:
            raise
        adapter.token.rejected = token
        await adapter.refresh_credentials()
        return await identify(adapter, code, again=False)
