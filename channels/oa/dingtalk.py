"""DingTalk custom robot (钉钉自定义机器人): post a note into one DingTalk group.

Endpoint [S50][S51]
    POST {api_base}/robot/send?access_token=TOKEN&timestamp=TS&sign=SIGN   (JSON, UTF-8)
         {"msgtype":"markdown","markdown":{"title":"…","text":"…"},
          "at":{"atMobiles":["138…"],"isAtAll":false}}
         -> {"errcode":0,"errmsg":"ok"}

Auth: the robot's ``access_token`` (a secret). With the 加签 security setting (option
``secret``) every call is signed exactly as the reference shows [S50]::

    ts = milliseconds since the epoch (from ctx.clock)
    sign = urlquote(base64(HMAC_SHA256(key=secret, msg=f"{ts}\\n{secret}")))

and the timestamp must be within 1 h of DingTalk's clock. (Feishu signs differently: see
``channels.oa.feishu``.) Without ``secret`` the robot must use a keyword or an IP allow-list.

Message (option ``msgtype``):
    markdown (default): ``title`` (what the conversation list shows) and ``text``. DingTalk
        renders a markdown subset — headings, quotes, bold/italic, links, images, lists — and
        no tables, so rows are written as compact "列：值" lists. Parts: title and body.
    text: ``content``. Part: body.
    No body limit is documented in our reference; the account declares ``body_max_bytes``
    (default 4096, our choice: a longer note folds on phones anyway). A longer body is cut
    (TRUNCATE): it always ends with the link to the full text, which is never cut. The title
    is cut at 128 bytes (our choice).
    ``at_mobiles`` are @-mentioned (also written into the text, which DingTalk needs to show
    them); ``at_all_urgent`` @-mentions everyone for urgent notices (warnings).

Limits: 20 messages a minute per robot; beyond that DingTalk throttles the robot for 10
minutes [S51]. The account declares 3 posts per 10 s (``window_rate``), so no minute ever
holds more than 18.

Idempotency: NONE — no key, no way to ask; an unknown outcome goes to a person.

Errors (``ERRORS``; texts from community reports, UNCERTAIN [S50]): 130101 send too fast ->
RateLimited(600 s, the 10-minute throttle); 310000 keyword/sign/IP check failed ->
PermanentError with DingTalk's own message (it says which); 300001 and 300005 (what the real
endpoint answers for an unknown robot token, "token is not exist") -> CredentialsInvalid, so
the operator is told to fix the token; -1 busy -> TransientError; anything else ->
PermanentError.

Platform note: DingTalk announced the retirement of "old" custom robots in 2023; new group
robots keep this webhook format [S54] (UNCERTAIN for the customer's DingTalk version).

Sandbox: a ``sandbox: true`` account talks to ``{base_url}/_sandbox/dingtalk`` unless
``api_base`` says otherwise (see ``channels.oa.sandbox``).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote_plus

from pydantic import Field, SecretStr

from channels.oa.common import (
    FOOTERS,
    FORMATS,
    Code,
    OaOptions,
    RobotAdapter,
    body_before_link,
    byte_limit,
    hmac_sha256_b64,
    portal_url,
    window_rate,
)
from publisher.contract import DirectMessage, Format, Limit, OutgoingPost, Overflow, PublishResult
from publisher.errors import CredentialsInvalid, PermanentError, RateLimited, TransientError

API_BASE = "https://oapi.dingtalk.com"
TITLE_MAX_BYTES = 128
THROTTLE_SECONDS = 600.0

ERRORS: dict[int, Code] = {
    -1: Code(TransientError, "系统繁忙，稍后再试"),
    130101: Code(
        RateLimited,
        "发送太快：每个机器人每分钟最多 20 条，超过后限流 10 分钟",
        retry_after=THROTTLE_SECONDS,
    ),
    300001: Code(CredentialsInvalid, "机器人 access_token 不存在：机器人已删除或地址有误"),
    300005: Code(CredentialsInvalid, "机器人 access_token 不存在：机器人已删除或地址有误"),
    310000: Code(PermanentError, "未通过机器人安全设置：关键词、加签或 IP 白名单"),
}


def sign(timestamp_ms: str, secret: str) -> str:
    """The 加签 signature before URL quoting: base64(HMAC-SHA256(secret, f"{ts}\\n{secret}"))."""
    return hmac_sha256_b64(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode())


class DingtalkOptions(OaOptions):
    type: str = "dingtalk"
    access_token: SecretStr
    secret: SecretStr | None = None  # the 加签 secret ("SEC…"); None: keyword or IP security
    msgtype: Literal["markdown", "text"] = "markdown"
    at_mobiles: list[str] = Field(default_factory=list)
    at_all_urgent: bool = False
    body_max_bytes: int = Field(default=4096, ge=256, le=20_000)


class DingtalkAdapter(RobotAdapter[DingtalkOptions]):
    type_name = "dingtalk"
    Options = DingtalkOptions
    real_api = API_BASE
    label = "钉钉机器人"
    endpoint = "钉钉 robot/send"
    errors = ERRORS
    rate = window_rate(18, 60.0, burst=3)

    def _footer(self) -> str:
        o = self.options
        footer = FOOTERS[o.msgtype]
        if o.at_mobiles:
            footer += "\n\n" + " ".join(f"@{m}" for m in o.at_mobiles)
        return footer

    def _format(self) -> Format:
        return FORMATS[self.options.msgtype]

    def _limits(self) -> tuple[Limit, ...]:
        body = body_before_link(self.ctx, self.options.body_max_bytes, self._footer())
        if self.options.msgtype == "markdown":
            return (byte_limit("title", TITLE_MAX_BYTES, Overflow.TRUNCATE), body)
        return (body,)

    def _url(self) -> str:
        o = self.options
        token = quote_plus(o.access_token.get_secret_value())
        url = f"{self._api}/robot/send?access_token={token}"
        if o.secret is not None:
            ts = str(round(self.ctx.clock.now().timestamp() * 1000))
            signature = sign(ts, o.secret.get_secret_value())
            url += f"&timestamp={ts}&sign={quote_plus(signature)}"
        return url

    def _payload(self, post: OutgoingPost) -> dict[str, Any]:
        o = self.options
        text = post.rendered.body + self._footer().format(url=portal_url(self.ctx, post.notice))
        at: dict[str, Any] = {"atMobiles": list(o.at_mobiles), "isAtAll": False}
        if o.at_all_urgent and post.notice.urgent:
            at["isAtAll"] = True
        if o.msgtype == "markdown":
            title = post.rendered.title or post.notice.title
            return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": at}
        return {"msgtype": "text", "text": {"content": text}, "at": at}

    async def notify(self, message: DirectMessage) -> PublishResult:
        """A text to the robot's group that @-mentions the named people (DingTalk user ids,
        ``at.atUserIds``): a group robot cannot message a person alone, so the group sees it
        too. Used by the review chain to tell the next reviewer."""
        if not message.recipients:
            raise PermanentError("钉钉: 没有接收人")
        mentions = " ".join(f"@{r}" for r in message.recipients)
        link = f"\n{message.url}" if message.url else ""
        text = f"{message.title}\n{message.text}{link}\n{mentions}"
        payload = {
            "msgtype": "text",
            "text": {"content": text},
            "at": {"atUserIds": list(message.recipients), "isAtAll": False},
        }
        await self._send(self._url(), payload, self._params())
        return PublishResult(remote_id=None, detail={"mentioned": list(message.recipients)})
