"""WeCom app withdrawals: recall the original message, else send a correction.

``POST {api_base}/cgi-bin/message/recall?access_token=TOKEN``
``{"msgid": "<from message/send>"}`` -> ``{"errcode": 0, "errmsg": "ok"}``.
"本接口可以撤回24小时内通过发送应用消息接口推送的消息，仅可撤回企业微信端的数据，
微信插件端的数据不支持撤回" (developer.work.weixin.qq.com/document/path/94867; also /96460).
The page documents no error code for a message past 24 hours (UNCERTAIN): we
never ask then (the original's ``posted_at`` is known), and any permanent refusal WeCom gives
is treated alike. Token errors (40001/40014/42001) raise ``AuthExpired`` as for sending (the
worker refreshes and retries the withdrawal); -1 and 45009 retry later.

Not recalled (option ``recall = false``, no original message or msgid, past 24 h, refused):
the withdrawal goes out as the 【撤回】 correction message, its note saying why.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from channels import recall
from publisher.contract import OutgoingPost, PublishResult
from publisher.errors import AuthExpired, CredentialsInvalid, PermanentError

if TYPE_CHECKING:
    from channels.oa.wecom_app import WecomAppAdapter

RECALL_WINDOW = timedelta(hours=24)
WHAT = "企业微信应用消息"


async def withdraw(adapter: WecomAppAdapter, post: OutgoingPost) -> PublishResult:
    found = recall.target(post, adapter.options.recall)
    if isinstance(found, str):
        return recall.with_correction_note(await adapter.send_message(post), found)
    late = recall.outside_window(found, adapter.ctx.clock.now(), RECALL_WINDOW, WHAT)
    if late:
        return recall.with_correction_note(await adapter.send_message(post), late)
    try:
        async with adapter.token.use() as token:  # refresh_credentials() replaces this token
            await adapter._send(
                f"{adapter._api}/cgi-bin/message/recall",
                {"msgid": found.remote_id},
                params={"access_token": token},
            )
    except (AuthExpired, CredentialsInvalid):
        raise
    except PermanentError as exc:
        why = recall.refused(exc)
        return recall.with_correction_note(await adapter.send_message(post), why)
    return recall.recalled(found, "消息")
