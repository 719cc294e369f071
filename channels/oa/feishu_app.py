"""Feishu app messages (飞书应用机器人): the bureau's Feishu app messages named people, and
reads back who read each message.

Endpoints (https://open.feishu.cn) [F1][F2][F3]
    POST {api_base}/open-apis/auth/v3/tenant_access_token/internal {"app_id","app_secret"}
         -> {"code":0,"msg":"ok","tenant_access_token":"t-…","expire":7200}
    POST {api_base}/open-apis/im/v1/messages?receive_id_type=user_id
         Authorization: Bearer TOKEN
         {"receive_id":"u1","msg_type":"text","content":"{\\"text\\":\\"…\\"}","uuid":"…"}
         -> {"code":0,"msg":"success","data":{"message_id":"om_…",…}}
    GET  {api_base}/open-apis/im/v1/messages/{message_id}/read_users?user_id_type=user_id
         -> {"code":0,"data":{"items":[{"user_id_type","user_id","timestamp","tenant_key"}],
             "has_more":false,"page_token":""}}

A message goes to one receiver, so a notice is one message per person in ``user_ids`` (the
account's recipients); ``read_users`` answers for one message at a time, only for messages
the bot itself sent within the last 7 days, and lists readers only (the unread are the
recipients not listed) [F3]. Each message carries ``uuid`` (a hash of the delivery's key and
the person), which Feishu uses to drop a repeat within an hour [F2]: a retry after an unknown
outcome reaches nobody twice (Idempotency.REMOTE_KEY). Rate: read_users 1000/min, 50/s [F3].

Errors (UNCERTAIN codes, from Feishu's general error list): 99991661/99991663/99991668
(token missing/invalid/expired) -> AuthExpired; 99991400 (rate) -> RateLimited(60 s);
10003/10014 at the token endpoint (bad app_id/app_secret) -> CredentialsInvalid; others ->
PermanentError with Feishu's own message. A person the app cannot reach (outside its
availability range) does not stop the others: the delivery is posted with a note naming them.

Sources: [F1] open.feishu.cn auth/v3/tenant_access_token/internal; [F2] open.feishu.cn
im-v1/message/create; [F3] open.larkoffice.com/document/uAjLw4CM/ukTMukTMukTM/reference/
im-v1/message/read_users (消息发送者查询消息已读状态).

Sandbox: ``sandbox: true`` talks to ``{base_url}/_sandbox/feishu_app``
(``channels.oa.sandbox_apps``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, SecretStr

from channels.oa.app_token import AppAdapter, AppOptions
from channels.oa.common import (
    FOOTERS,
    Code,
    body_before_link,
    portal_url,
    raise_for_code,
    read_reply,
    window_rate,
)
from publisher.contract import (
    DirectMessage,
    Format,
    Idempotency,
    Limit,
    OutgoingPost,
    PostRef,
    PublishResult,
)
from publisher.errors import (
    AuthExpired,
    CredentialsInvalid,
    PermanentError,
    RateLimited,
)
from publisher.http_errors import request
from publisher.reach.receipts import READ, ReadState

API_BASE = "https://open.feishu.cn"
BODY_MAX_BYTES = 4096  # our choice: a text message folds on phones long before Feishu's limit
MAX_USERS = 200
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
MESSAGES = "/open-apis/im/v1/messages"

ERRORS: dict[int, Code] = {
    99991661: Code(AuthExpired, "缺少 tenant_access_token"),
    99991663: Code(AuthExpired, "tenant_access_token 无效"),
    99991668: Code(AuthExpired, "tenant_access_token 已过期"),
    99991400: Code(RateLimited, "请求太频繁", retry_after=60.0),
}
TOKEN_ERRORS: dict[int, Code] = {
    10003: Code(CredentialsInvalid, "app_id 或 app_secret 不正确"),
    10014: Code(CredentialsInvalid, "app_secret 不正确"),
}


class FeishuAppOptions(AppOptions):
    type: str = "feishu_app"
    app_id: str = Field(min_length=1)
    app_secret: SecretStr
    user_ids: list[str] = Field(min_length=1, max_length=MAX_USERS)
    user_id_type: Literal["user_id", "open_id", "union_id"] = "user_id"


def _uuid(key: str, user: str) -> str:
    return hashlib.sha256(f"{key}\x1f{user}".encode()).hexdigest()[:32]


class FeishuAppAdapter(AppAdapter[FeishuAppOptions]):
    type_name = "feishu_app"
    Options = FeishuAppOptions
    real_api = API_BASE
    label = "飞书应用消息"
    endpoint = "飞书 im/v1/messages"
    code_keys = ("code",)
    msg_keys = ("msg",)
    errors = ERRORS
    rate = window_rate(10, 60.0, burst=2)  # each post is one message per recipient
    token_kind = "feishu_tenant_token"
    token_label = "飞书 tenant_access_token"
    token_path = TOKEN_PATH
    token_method = "POST"
    token_key = "tenant_access_token"
    expires_key = "expire"
    token_errors = TOKEN_ERRORS

    @classmethod
    def sandbox(cls) -> Any:
        from channels.oa.sandbox_apps import FeishuAppSandbox

        return FeishuAppSandbox().router

    @classmethod
    def example_options(cls) -> dict[str, Any]:
        return {"app_id": "cli_test", "app_secret": "s", "user_ids": ["u1"]}

    def _format(self) -> Format:
        return Format.TEXT

    def _limits(self) -> tuple[Limit, ...]:
        return (body_before_link(self.ctx, BODY_MAX_BYTES, FOOTERS["text"]),)

    def _idempotency(self) -> Idempotency:
        return Idempotency.REMOTE_KEY

    # -- token and calls -------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        return self.options.app_id, self.options.app_secret.get_secret_value()

    def _token_request(self) -> dict[str, Any]:
        app_id, app_secret = self._credentials()
        return {"json": {"app_id": app_id, "app_secret": app_secret}}

    async def _api_call(
        self, method: str, path: str, params: dict[str, str], body: Any = None
    ) -> dict[str, Any]:
        async with self.token.use() as token:
            response = await request(
                self.ctx.http,
                method,
                f"{self._api}{path}",
                params=params,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.options.timeout,
            )
            code, message, data = read_reply(response, self.endpoint, ("code",), ("msg",))
            if code != 0:
                raise_for_code(self.label, code, message, self.errors)
        return data

    async def _message(self, user: str, text: str, uuid: str | None) -> str:
        body: dict[str, Any] = {
            "receive_id": user,
            "msg_type": "text",
            "content": json.dumps({"text": text}, ensure_ascii=False),
        }
        if uuid:
            body["uuid"] = uuid
        data = await self._api_call(
            "POST", MESSAGES, {"receive_id_type": self.options.user_id_type}, body
        )
        message_id = (data.get("data") or {}).get("message_id")
        if not message_id:
            raise PermanentError(f"飞书没有返回 message_id: {str(data)[:200]}")
        return str(message_id)

    async def _to_each(
        self, users: list[str] | tuple[str, ...], text: str, key: str | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """One message per person: (user -> message id, user -> why not). A refusal that is
        about the token or the rate stops at once (the worker retries; uuids drop repeats)."""
        sent: dict[str, str] = {}
        refused: dict[str, str] = {}
        for user in users:
            try:
                sent[user] = await self._message(user, text, _uuid(key, user) if key else None)
            except PermanentError as exc:
                refused[user] = str(exc)
        if not sent:
            first = next(iter(refused.values()), "没有接收人")
            raise PermanentError(f"飞书应用消息: 没有人收到: {first}")
        return sent, refused

    # -- sending ----------------------------------------------------------------------------

    async def publish(self, post: OutgoingPost) -> PublishResult:
        link = portal_url(self.ctx, post.notice)
        text = post.rendered.body + FOOTERS["text"].format(url=link)
        sent, refused = await self._to_each(self.options.user_ids, text, post.idempotency_key)
        note = "已发送；以下接收人未收到：" + "、".join(refused) if refused else None
        return PublishResult(
            remote_id=next(iter(sent.values())),
            detail={"messages": sent, "recipients": list(sent), "link": link},
            note=note,
        )

    async def notify(self, message: DirectMessage) -> PublishResult:
        text = f"{message.title}\n{message.text}" + (f"\n{message.url}" if message.url else "")
        sent, _ = await self._to_each(message.recipients[:MAX_USERS], text, message.key)
        return PublishResult(remote_id=next(iter(sent.values())), detail={"messages": sent})

    # -- read receipts ----------------------------------------------------------------------

    async def read_state(self, ref: PostRef) -> ReadState:
        """Per person, whether they read their message (read_users, one call each)."""
        messages = ref.detail.get("messages") or {}
        read: dict[str, datetime] = {}
        for user, message_id in messages.items():
            page = ""
            while True:
                params = {"user_id_type": self.options.user_id_type, "page_size": "100"}
                if page:
                    params["page_token"] = page
                data = (
                    await self._api_call("GET", f"{MESSAGES}/{message_id}/read_users", params)
                ).get("data") or {}
                for item in data.get("items") or []:
                    if str(item.get("user_id")) == user:
                        read[user] = _when(item.get("timestamp")) or self.ctx.clock.now()
                page = str(data.get("page_token") or "")
                if not data.get("has_more") or not page:
                    break
        return ReadState(tuple(messages), read, READ, "飞书 read_users")


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError):
        return None
