"""WeCom (企业微信) application message: a card or markdown note from the bureau's own app.

Endpoints [S30][S20]
    GET  {api_base}/cgi-bin/gettoken?corpid=ID&corpsecret=SECRET
         -> {"errcode":0,"access_token":"…","expires_in":7200}
    POST {api_base}/cgi-bin/message/send?access_token=TOKEN
         {"touser":"u1|u2","toparty":"1","totag":"2","msgtype":"textcard","agentid":1000002,
          "textcard":{"title","description","url","btntxt"},
          "enable_duplicate_check":1,"duplicate_check_interval":1800}
         -> {"errcode":0,"errmsg":"ok","invaliduser":"u1|u2","invalidparty":"…",
             "invalidtag":"…","unlicenseduser":"…","msgid":"…"}

Auth: corpid + corpsecret (a secret) -> access_token, kept in ``ctx.tokens`` so every worker
shares one token, fetched again 5 minutes before it expires. 40001/40014/42001 on send mean
the token is no longer good: AuthExpired, the worker calls ``refresh_credentials()`` once and
sends again (wechatpy's auto-retry set [S20]). On ``gettoken`` 40001 means the *secret* is
wrong: CredentialsInvalid.

Message (option ``msgtype``):
    textcard (default): title ≤128 bytes, description ≤512 bytes (HTML subset:
        ``<div class="gray|normal|highlight">``), url = the full text on the portal,
        btntxt "详情" [S30]. Parts: title (truncated if long — the card links to the full
        text) and body = description (HTML cannot be cut safely: the summary is used
        instead, and a notice whose summary is still too long is refused at submit).
    markdown: content ≤2048 bytes, shown in the WeCom client only (not in the WeChat
        plugin) [S30]. Part: body (the template carries the title). Long bodies are cut
        (they end with the link to the full text, which is never cut).
    WeCom markdown renders no tables; tables are written as compact "列：值" lists.

Recipients (options): touser ("@all" or ids joined by ``|``, ≤1000), toparty and totag
(≤100 each) [S20]. Partly invalid recipients still receive the message: the delivery is
posted with a note naming who did not get it. All invalid -> 81013, PermanentError [S30].

Limits [S30][S31]: each member receives ≤30 messages a minute and ≤1000 an hour (excess is
dropped silently) — every message of an account goes to the same members, so the account
declares a rate that keeps any minute ≤25 and any hour ≤910 (burst 10, then 15/min).

Idempotency: REMOTE_KEY, through WeCom's own duplicate check. With
``enable_duplicate_check=1`` WeCom refuses to deliver a message whose content repeats one
sent within ``duplicate_check_interval`` seconds (default 1800, WeCom's maximum is 4 h —
not in our reference, UNCERTAIN). After an unknown outcome the worker re-posts the same
rendered content, so the readers get it once as long as the re-post comes within the
interval: keep the interval above the worker's longest retry delay (``retry_max_delay``,
600 s by default). The check is by content, not by our key: two notices with identical text
to the same people within the interval arrive once — for an OA note that is what a reader
wants. What WeCom answers for a suppressed repeat is not in our reference (UNCERTAIN); any
success reply counts as posted. ``duplicate_check = false`` turns it off and declares NONE.

Withdrawals (issue 11; ``wecom_recall.py``): with ``recall = true`` (the default) a
withdrawal recalls this account's message of the original, ``POST
{api_base}/cgi-bin/message/recall?access_token=TOKEN {"msgid"}`` -> ``{"errcode":0,
"errmsg":"ok"}`` (developer.work.weixin.qq.com/document/path/94867: "本接口可以撤回24小时内
通过发送应用消息接口推送的消息"). Past 24 h, without the original's msgid, with the option off
or when WeCom refuses, it sends the 【撤回】 correction instead and says why in the note.

Errors (``SEND_ERRORS``, ``TOKEN_ERRORS``): -1 busy -> TransientError; 45009 -> RateLimited
(60 s); 60020 untrusted IP (企业可信IP, UNCERTAIN) and 40013 bad corpid -> CredentialsInvalid;
anything else -> PermanentError with WeCom's own message.

Sandbox: a ``sandbox: true`` account talks to ``{base_url}/_sandbox/wecom_app`` unless
``api_base`` says otherwise (see ``channels.oa.sandbox``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from channels.oa import wecom_ack
from channels.oa.app_token import AppAdapter, AppOptions
from channels.oa.common import (
    FOOTERS,
    Code,
    body_before_link,
    byte_limit,
    portal_url,
    window_rate,
)
from channels.oa.wecom_recall import withdraw
from channels.recall import is_withdrawal
from publisher.contract import (
    DirectMessage,
    Format,
    HttpUrl,
    Idempotency,
    Limit,
    OutgoingPost,
    Overflow,
    PostRef,
    PublishResult,
)
from publisher.errors import (
    AuthExpired,
    CredentialsInvalid,
    PermanentError,
    RateLimited,
    TransientError,
)

API_BASE = "https://qyapi.weixin.qq.com"
TITLE_MAX_BYTES = 128
DESCRIPTION_MAX_BYTES = 512
MARKDOWN_MAX_BYTES = 2048
BUTTON_TEXT = "详情"
MARKDOWN_FOOTER = FOOTERS["markdown"]
MAX_USERS = 1000
MAX_PARTIES_OR_TAGS = 100

SEND_ERRORS: dict[int, Code] = {
    -1: Code(TransientError, "系统繁忙，稍后再试"),
    40001: Code(AuthExpired, "access_token 无效"),
    40014: Code(AuthExpired, "access_token 不合法"),
    42001: Code(AuthExpired, "access_token 已过期"),
    45009: Code(RateLimited, "接口调用超过频率限制", retry_after=60.0),
    60020: Code(CredentialsInvalid, "服务器 IP 不在应用的企业可信 IP 中"),
    81013: Code(PermanentError, "接收人（成员、部门、标签）全部无效"),
}

TOKEN_ERRORS: dict[int, Code] = {
    -1: Code(TransientError, "系统繁忙，稍后再试"),
    40001: Code(CredentialsInvalid, "corpsecret 不正确"),
    40013: Code(CredentialsInvalid, "corpid 不正确"),
    45009: Code(RateLimited, "接口调用超过频率限制", retry_after=60.0),
    60020: Code(CredentialsInvalid, "服务器 IP 不在应用的企业可信 IP 中"),
}

INVALID_FIELDS = (
    ("invaliduser", "成员"),
    ("invalidparty", "部门"),
    ("invalidtag", "标签"),
    ("unlicenseduser", "未获许可的成员"),
)


def _join(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return value


class WecomAppOptions(AppOptions):
    type: str = "wecom_app"
    corpid: str = Field(min_length=1)
    corpsecret: SecretStr
    agentid: int
    touser: str = "@all"  # ids joined by "|", or a list in config
    toparty: str = ""
    totag: str = ""
    msgtype: Literal["textcard", "markdown"] = "textcard"
    duplicate_check: bool = True
    duplicate_check_interval: int = Field(default=1800, ge=1, le=4 * 3600)
    max_concurrency: int = Field(default=4, ge=1)
    # Read receipts (issue 14; channels/oa/wecom_ack.py): the card's button says 已知悉 and
    # records who acknowledged; those who have not after N minutes are reminded once (0: off).
    ack: bool = False
    oauth_base: HttpUrl | None = None  # default https://open.weixin.qq.com (sandbox: its own)
    # (nudge_after_minutes: AppOptions)
    recall: bool = True  # a withdrawal recalls the original message (within 24 h)

    @field_validator("touser", "toparty", "totag", mode="before")
    @classmethod
    def _bar_joined(cls, value: Any) -> Any:
        return _join(value)

    @model_validator(mode="after")
    def _recipients(self) -> WecomAppOptions:
        if not (self.touser or self.toparty or self.totag):
            raise ValueError("请指定接收人: touser、toparty 或 totag")
        if len(self.touser.split("|")) > MAX_USERS:
            raise ValueError(f"touser: 每条消息最多 {MAX_USERS} 人")
        for name in ("toparty", "totag"):
            value = getattr(self, name)
            if value and len(value.split("|")) > MAX_PARTIES_OR_TAGS:
                raise ValueError(f"{name}: 每条消息最多 {MAX_PARTIES_OR_TAGS} 个")
        return self


class WecomAppAdapter(AppAdapter[WecomAppOptions]):
    type_name = "wecom_app"
    Options = WecomAppOptions
    real_api = API_BASE
    label = "企业微信"
    endpoint = "企业微信 message/send"
    errors = SEND_ERRORS
    rate = window_rate(16, 60.0, burst=8)  # 16 a minute is 960 an hour: inside both rules
    token_kind = "wecom_access_token"
    token_label = "企业微信 gettoken"
    token_path = "/cgi-bin/gettoken"
    token_errors = TOKEN_ERRORS

    def _format(self) -> Format:
        return Format.HTML if self.options.msgtype == "textcard" else Format.MARKDOWN

    def _limits(self) -> tuple[Limit, ...]:
        if self.options.msgtype == "textcard":
            return (
                byte_limit("title", TITLE_MAX_BYTES, Overflow.TRUNCATE),
                byte_limit("body", DESCRIPTION_MAX_BYTES, Overflow.USE_SUMMARY),
            )
        return (body_before_link(self.ctx, MARKDOWN_MAX_BYTES, MARKDOWN_FOOTER),)

    def _idempotency(self) -> Idempotency:
        return Idempotency.REMOTE_KEY if self.options.duplicate_check else Idempotency.NONE

    # -- token ------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        return self.options.corpid, self.options.corpsecret.get_secret_value()

    def _token_request(self) -> dict[str, Any]:
        corpid, corpsecret = self._credentials()
        return {"params": {"corpid": corpid, "corpsecret": corpsecret}}

    # -- sending ----------------------------------------------------------------------------

    def _payload(self, post: OutgoingPost) -> dict[str, Any]:
        o = self.options
        link = portal_url(self.ctx, post.notice)
        body: dict[str, Any] = {"msgtype": o.msgtype, "agentid": o.agentid}
        for name in ("touser", "toparty", "totag"):
            if getattr(o, name):
                body[name] = getattr(o, name)
        if o.msgtype == "textcard":
            ack = wecom_ack.ack_url(self.ctx, post.notice.id) if o.ack else None
            body["textcard"] = {
                "title": post.rendered.title,
                "description": post.rendered.body,
                "url": ack or link,
                "btntxt": wecom_ack.BUTTON if ack else BUTTON_TEXT,
            }
        else:
            body["markdown"] = {"content": post.rendered.body + MARKDOWN_FOOTER.format(url=link)}
        if o.duplicate_check:
            body["enable_duplicate_check"] = 1
            body["duplicate_check_interval"] = o.duplicate_check_interval
        return body

    async def publish(self, post: OutgoingPost) -> PublishResult:
        if is_withdrawal(post):
            return await withdraw(self, post)
        return await self.send_message(post)

    async def _message_send(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """message/send: (the reply, the recipients it names invalid)."""
        async with self.token.use() as token:
            data = await self._send(
                f"{self._api}/cgi-bin/message/send", body, params={"access_token": token}
            )
        return data, {key: str(data[key]) for key, _ in INVALID_FIELDS if data.get(key)}

    async def send_message(self, post: OutgoingPost) -> PublishResult:
        body = self._payload(post)
        data, missing = await self._message_send(body)
        link = portal_url(self.ctx, post.notice)
        msgid = data.get("msgid")
        ack = body.get("textcard", {}).get("url") if self.options.ack else None
        return PublishResult(
            remote_id=str(msgid) if msgid else None,
            url=None,
            detail={"link": link, **missing, **({"ack": ack} if ack and ack != link else {})},
            note=_missing_note(missing),
        )

    # -- read receipts (the 已知悉 acknowledgement: channels/oa/wecom_ack.py) -----------------

    @classmethod
    def sandbox(cls) -> Any:
        from channels.oa.sandbox_apps import WecomAckSandbox

        return WecomAckSandbox().router

    @property
    def reads_known(self) -> bool:
        return self.options.ack and self.options.msgtype == "textcard"

    async def read_state(self, ref: PostRef) -> wecom_ack.ReadState:
        return wecom_ack.read_state(self.options.touser, ref)

    def oauth_url(self, redirect_uri: str) -> str:
        return wecom_ack.oauth_url(self.ctx, self.options, redirect_uri)

    async def identify(self, code: str) -> str:
        """The member who opened an OAuth link (``code`` from WeCom's redirect)."""
        return await wecom_ack.identify(self, code)

    async def notify(self, message: DirectMessage) -> PublishResult:
        """A text card to the named members only (``touser``), with the link as its button."""
        o = self.options
        if not message.recipients:
            raise PermanentError("企业微信: 没有接收人")
        card = {
            "title": message.title,
            "description": message.text,
            "url": message.url or self.ctx.base_url,
            "btntxt": BUTTON_TEXT,
        }
        body: dict[str, Any] = {
            "touser": "|".join(message.recipients[:MAX_USERS]),
            "msgtype": "textcard",
            "agentid": o.agentid,
            "textcard": card,
        }
        data, missing = await self._message_send(body)
        msgid = data.get("msgid")
        return PublishResult(
            remote_id=str(msgid) if msgid else None, detail=missing, note=_missing_note(missing)
        )


def _missing_note(missing: dict[str, str]) -> str | None:
    if not missing:
        return None
    parts = [
        f"{label} {'、'.join(missing[key].split('|'))}"
        for key, label in INVALID_FIELDS
        if key in missing
    ]
    return "已发送；以下接收人无效，未收到：" + "；".join(parts)
