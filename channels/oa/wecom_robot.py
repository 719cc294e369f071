"""WeCom group robot (企业微信群机器人): post a note into one WeCom group chat.

Endpoint [S32]
    POST {api_base}/cgi-bin/webhook/send?key=KEY    (Content-Type: application/json, UTF-8)
         {"msgtype":"markdown",
          "markdown":{"content":"**标题**\\n>类型:<font color=\\"warning\\">橙色</font>"}}
         {"msgtype":"text","text":{"content":"…","mentioned_list":["userid","@all"],
                                   "mentioned_mobile_list":["138…","@all"]}}
         -> {"errcode":0,"errmsg":"ok"}

Auth: the webhook ``key`` is the only credential (a secret: whoever has it can post).

Message (option ``msgtype``):
    markdown (default): ≤4096 bytes; bold, quotes, links and ``<font color="info|comment|
        warning">``; no tables — rows are written as compact "列：值" lists [S32].
    text: ≤2048 bytes; ``mentioned_list`` / ``mentioned_mobile_list`` options @ people [S32].
    Part: body only (the template carries the title). The adapter ends it with the link to
    the full text; the declared byte limit leaves room for that link, and a longer body is
    cut (TRUNCATE: the reader always has the link, and a robot note is an alert, not the
    record).

Limits: each robot ≤20 messages a minute [S32][S33]. The account declares 3 posts per 10 s
(``window_rate``), so no minute ever holds more than 18.

Idempotency: NONE. The robot API takes no key and cannot be asked what it received, so an
unknown outcome goes to a person (needs_review) rather than risk a double post in the group.

Errors (``ERRORS``): -1 busy -> TransientError; 45009 -> RateLimited(60 s) (code UNCERTAIN
[S32]); 93000 invalid key -> CredentialsInvalid (UNCERTAIN [S32]); anything else ->
PermanentError with WeCom's own message.

Sandbox: a ``sandbox: true`` account talks to ``{base_url}/_sandbox/wecom_robot`` unless
``api_base`` says otherwise (see ``channels.oa.sandbox``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr

from channels.oa.common import (
    FOOTERS,
    FORMATS,
    Code,
    OaOptions,
    RobotAdapter,
    body_before_link,
    portal_url,
    window_rate,
)
from publisher.contract import Format, Limit, OutgoingPost
from publisher.errors import CredentialsInvalid, RateLimited, TransientError

API_BASE = "https://qyapi.weixin.qq.com"
MAX_BYTES = {"markdown": 4096, "text": 2048}

ERRORS: dict[int, Code] = {
    -1: Code(TransientError, "系统繁忙，稍后再试"),
    45009: Code(RateLimited, "机器人发送太频繁：每个机器人每分钟最多 20 条", retry_after=60.0),
    93000: Code(CredentialsInvalid, "机器人 webhook key 无效或机器人已被移出群聊"),
}


class WecomRobotOptions(OaOptions):
    type: str = "wecom_robot"
    key: SecretStr
    msgtype: Literal["markdown", "text"] = "markdown"
    mentioned_list: list[str] = Field(default_factory=list)  # text only; "@all" for everyone
    mentioned_mobile_list: list[str] = Field(default_factory=list)  # text only


class WecomRobotAdapter(RobotAdapter[WecomRobotOptions]):
    type_name = "wecom_robot"
    Options = WecomRobotOptions
    real_api = API_BASE
    label = "企业微信群机器人"
    endpoint = "企业微信群机器人 webhook/send"
    errors = ERRORS
    rate = window_rate(18, 60.0, burst=3)

    def _format(self) -> Format:
        return FORMATS[self.options.msgtype]

    def _limits(self) -> tuple[Limit, ...]:
        msgtype = self.options.msgtype
        return (body_before_link(self.ctx, MAX_BYTES[msgtype], FOOTERS[msgtype]),)

    def _url(self) -> str:
        return f"{self._api}/cgi-bin/webhook/send"

    def _params(self) -> dict[str, str]:
        return {"key": self.options.key.get_secret_value()}

    def _payload(self, post: OutgoingPost) -> dict[str, Any]:
        o = self.options
        content = post.rendered.body + FOOTERS[o.msgtype].format(
            url=portal_url(self.ctx, post.notice)
        )
        if o.msgtype == "markdown":
            return {"msgtype": "markdown", "markdown": {"content": content}}
        text: dict[str, Any] = {"content": content}
        if o.mentioned_list:
            text["mentioned_list"] = list(o.mentioned_list)
        if o.mentioned_mobile_list:
            text["mentioned_mobile_list"] = list(o.mentioned_mobile_list)
        return {"msgtype": "text", "text": text}
