"""The WeCom app sandbox's ``POST /cgi-bin/message/recall?access_token= {"msgid"}``.

Answers as developer.work.weixin.qq.com/document/path/94867 documents: ``{"errcode": 0,
"errmsg": "ok"}`` for a message sent through ``message/send`` within the last 24 hours. The
page names no code for the refusals, so the sandbox answers them with WeCom's general
"invalid parameter" 40058 and says which in ``errmsg`` (UNCERTAIN): an unknown msgid, a
message sent more than 24 hours ago. A recalled message stays in ``GET /posts`` with
``"recalled": true`` and ``"recalled_at"``; recalling it again answers ok (nothing left to do).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import Response

if TYPE_CHECKING:
    from channels.oa.sandbox import WecomAppSandbox

RECALL_SECONDS = 24 * 3600.0
REFUSED = 40058


async def recall(sandbox: WecomAppSandbox, request: Request, access_token: str) -> Response:
    fault = await sandbox.injected()
    if fault is not None:
        return fault
    if access_token not in sandbox.tokens:
        return sandbox.reply(40014)
    if sandbox.tokens[access_token] <= sandbox.now():
        return sandbox.reply(42001)
    payload = await sandbox.json_body(request)
    msgid = payload.get("msgid") if isinstance(payload, dict) else None
    if not isinstance(msgid, str) or not msgid:
        return sandbox.reply(REFUSED, "invalid msgid: msgid is required")
    sent = [p for p in sandbox.posts if p.get("msgid") == msgid and p.get("delivered")]
    if not sent:
        return sandbox.reply(REFUSED, f"invalid msgid: {msgid} not found")
    post = sent[0]
    if post.get("recalled"):
        return sandbox.reply(0, "ok")
    if sandbox.now() - float(post["received_ts"]) > RECALL_SECONDS:
        return sandbox.reply(REFUSED, "msg can only be recalled within 24 hours of sending")
    post["recalled"] = True
    post["recalled_at"] = datetime.now(UTC).isoformat()
    sandbox.note("recalled", {"msgid": msgid, "recalled_at": post["recalled_at"]})
    return sandbox.reply(0, "ok")


def restore(sandbox: WecomAppSandbox, value: object) -> None:
    """Replay a ``recalled`` journal record after a restart."""
    if not isinstance(value, dict):
        return
    for post in sandbox.posts:
        if post.get("msgid") == value.get("msgid") and post.get("delivered"):
            post.update(recalled=True, recalled_at=value.get("recalled_at"))
