"""DingTalk work notice (钉钉工作通知): a message from the bureau's own DingTalk app to named
people, with per-recipient read receipts.

Endpoints (service address https://oapi.dingtalk.com) [D1][D2][D3]
    GET  {api_base}/gettoken?appkey=KEY&appsecret=SECRET
         -> {"errcode":0,"access_token":"…","expires_in":7200}
    POST {api_base}/topapi/message/corpconversation/asyncsend_v2?access_token=TOKEN
         {"agent_id":123,"userid_list":"u1,u2","dept_id_list":"1,2","to_all_user":false,
          "msg":{"msgtype":"markdown","markdown":{"title":"…","text":"…"}}}
         -> {"errcode":0,"task_id":456,"request_id":"…"}
    POST {api_base}/topapi/message/corpconversation/getsendresult?access_token=TOKEN
         {"agent_id":123,"task_id":456}
         -> {"errcode":0,"send_result":{"read_user_id_list":[…],"unread_user_id_list":[…],
             "invalid_user_id_list":[…],"forbidden_user_id_list":[…],
             "failed_user_id_list":[…],"invalid_dept_id_list":[…]}}

Sending is asynchronous: success means DingTalk took the task, not that anyone got it; the
send result says who read it, who has not, and who never got it (invalid, forbidden by a
flow limit, failed) [D3]. The message is at most 2048 bytes [D2]; ``userid_list`` holds at
most 100 ids (the 2019 page; an older one says 20 — UNCERTAIN) [D2]. DingTalk delivers the
same content to the same person once a day and at most 500 messages a day per person [D2].

Read receipts: ``read_state`` asks getsendresult; the read list has no time, so a read is
recorded as of when we asked. ``nudge_after_minutes`` (0: off): those still unread that
long after a warning get one reminder (``publisher.reach.readers``).

Errors (``SEND_ERRORS``; codes from [D1] and community copies, UNCERTAIN where marked): 88,
40014 and 42001 (token invalid/expired) -> AuthExpired; 143103/143104 (per-minute send
limits) -> RateLimited(60 s); 143105 (500 a day per person), 143106 (same content the same
day) -> PermanentError; -1 busy -> TransientError. gettoken 40089 (bad appkey/appsecret,
UNCERTAIN) -> CredentialsInvalid.

Sources: [D1] open.dingtalk.com 获取工作通知消息的发送结果 (apifox copy: error codes 143103…);
[D2] open-doc.dingtalk.com/microapp/serverapi2/pgoxpy (发送工作通知消息, 2019);
[D3] developer.alibaba.com/docs/api.htm?apiId=37024 (dingtalk.oapi.message.corpconversation.
getsendresult: send_result fields).

Sandbox: ``sandbox: true`` talks to ``{base_url}/_sandbox/dingtalk_app``
(``channels.oa.sandbox_apps``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from channels.oa.app_token import AppAdapter, AppOptions
from channels.oa.common import (
    FOOTERS,
    FORMATS,
    Code,
    body_before_link,
    byte_limit,
    portal_url,
    window_rate,
)
from publisher.contract import (
    DirectMessage,
    Format,
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
from publisher.reach.receipts import READ, ReadState

API_BASE = "https://oapi.dingtalk.com"
MSG_MAX_BYTES = 2048
TITLE_MAX_BYTES = 128
MAX_USERS = 100
SEND = "/topapi/message/corpconversation/asyncsend_v2"
RESULT = "/topapi/message/corpconversation/getsendresult"

SEND_ERRORS: dict[int, Code] = {
    -1: Code(TransientError, "系统繁忙，稍后再试"),
    88: Code(AuthExpired, "access_token 无效"),
    40014: Code(AuthExpired, "access_token 不合法"),
    42001: Code(AuthExpired, "access_token 已过期"),
    143103: Code(RateLimited, "应用每分钟发送人次超限", retry_after=60.0),
    143104: Code(RateLimited, "企业每分钟发送人次超限", retry_after=60.0),
    143105: Code(PermanentError, "应用给同一人每天最多发送 500 条"),
    143106: Code(PermanentError, "同一内容同一人一天只能收到一次"),
}
TOKEN_ERRORS: dict[int, Code] = {
    -1: Code(TransientError, "系统繁忙，稍后再试"),
    40089: Code(CredentialsInvalid, "appkey 或 appsecret 不正确"),
}


def _ids(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.replace("|", ",").split(",") if v.strip()]
    return value


class DingtalkAppOptions(AppOptions):
    type: str = "dingtalk_app"
    appkey: str = Field(min_length=1)
    appsecret: SecretStr
    agent_id: int
    userid_list: list[str] = Field(min_length=1, max_length=MAX_USERS)
    msgtype: Literal["markdown", "text"] = "markdown"

    @field_validator("userid_list", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _ids(value)


class DingtalkAppAdapter(AppAdapter[DingtalkAppOptions]):
    type_name = "dingtalk_app"
    Options = DingtalkAppOptions
    real_api = API_BASE
    label = "钉钉工作通知"
    endpoint = "钉钉 asyncsend_v2"
    errors = SEND_ERRORS
    rate = window_rate(20, 60.0, burst=5)
    token_kind = "dingtalk_app_token"
    token_label = "钉钉 gettoken"
    token_path = "/gettoken"
    token_errors = TOKEN_ERRORS

    @classmethod
    def sandbox(cls) -> Any:
        from channels.oa.sandbox_apps import DingtalkAppSandbox

        return DingtalkAppSandbox().router

    @classmethod
    def example_options(cls) -> dict[str, Any]:
        return {"appkey": "ding-test", "appsecret": "s", "agent_id": 1, "userid_list": ["u1"]}

    def _format(self) -> Format:
        return FORMATS[self.options.msgtype]

    def _limits(self) -> tuple[Limit, ...]:
        body = body_before_link(self.ctx, MSG_MAX_BYTES - 200, FOOTERS[self.options.msgtype])
        if self.options.msgtype == "markdown":
            return (byte_limit("title", TITLE_MAX_BYTES, Overflow.TRUNCATE), body)
        return (body,)

    # -- token ------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        return self.options.appkey, self.options.appsecret.get_secret_value()

    def _token_request(self) -> dict[str, Any]:
        key, secret = self._credentials()
        return {"params": {"appkey": key, "appsecret": secret}}

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.token.use() as token:
            return await self._send(f"{self._api}{path}", body, {"access_token": token})

    # -- sending ----------------------------------------------------------------------------

    def _msg(self, title: str, text: str) -> dict[str, Any]:
        if self.options.msgtype == "markdown":
            return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        return {"msgtype": "text", "text": {"content": text}}

    async def _task(self, users: tuple[str, ...] | list[str], msg: dict[str, Any]) -> str:
        body = {"agent_id": self.options.agent_id, "userid_list": ",".join(users), "msg": msg}
        data = await self._call(SEND, body)
        task = data.get("task_id")
        if task is None:
            raise PermanentError(f"钉钉 asyncsend_v2 没有返回 task_id: {str(data)[:200]}")
        return str(task)

    async def publish(self, post: OutgoingPost) -> PublishResult:
        o = self.options
        link = portal_url(self.ctx, post.notice)
        text = post.rendered.body + FOOTERS[o.msgtype].format(url=link)
        title = post.rendered.title or post.notice.title
        task = await self._task(o.userid_list, self._msg(title, text))
        return PublishResult(
            remote_id=task,
            detail={"task_id": task, "recipients": list(o.userid_list), "link": link},
        )

    async def notify(self, message: DirectMessage) -> PublishResult:
        if not message.recipients:
            raise PermanentError("钉钉工作通知: 没有接收人")
        text = message.text + (f"\n\n[查看]({message.url})" if message.url else "")
        task = await self._task(message.recipients[:MAX_USERS], self._msg(message.title, text))
        return PublishResult(remote_id=task, detail={"task_id": task})

    # -- read receipts ----------------------------------------------------------------------

    async def read_state(self, ref: PostRef) -> ReadState:
        """Who read the work notice and who has not (getsendresult)."""
        task = ref.detail.get("task_id") or ref.remote_id
        recipients = tuple(ref.detail.get("recipients") or self.options.userid_list)
        if not task:
            return ReadState(recipients, source="钉钉 getsendresult")
        data = await self._call(RESULT, {"agent_id": self.options.agent_id, "task_id": int(task)})
        result = data.get("send_result") or {}
        now = self.ctx.clock.now()
        read = {str(u): now for u in result.get("read_user_id_list") or []}
        listed = [
            str(u)
            for key in ("read_user_id_list", "unread_user_id_list")
            for u in result.get(key) or []
        ]
        return ReadState(
            tuple(dict.fromkeys([*recipients, *listed])), read, READ, "钉钉 getsendresult"
        )
