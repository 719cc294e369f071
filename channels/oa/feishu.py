"""Feishu / Lark custom bot (飞书自定义机器人): post a note into one Feishu group.

Endpoint [S52][S53]
    POST {api_base}/open-apis/bot/v2/hook/{HOOK}
         {"timestamp":"1599360473","sign":"<base64>","msg_type":"post",
          "content":{"post":{"zh_cn":{"title":"…","content":[[{"tag":"text","text":"…"},
                                                              {"tag":"a","text":"…","href":"…"}]]}}}}
         -> {"code":0,"msg":"success","data":{}}   (older: {"StatusCode":0,"StatusMessage":…})

Auth: the hook id in the path (a secret). With 签名校验 (option ``secret``) the body carries
``timestamp`` (**seconds**) and ``sign`` [S52]::

    sign = base64(HMAC_SHA256(key=f"{timestamp}\\n{secret}", msg=b""))

— the string is the HMAC *key* and the message is empty; DingTalk does the opposite (key =
secret, message = the string, milliseconds). The timestamp must be within 1 h.

Message (option ``msg_type``):
    post (default): rich text — title plus one paragraph per line of the body, then a
        paragraph linking to the full text. Body is plain text (Format.TEXT); tables are
        written as compact "列：值" lists.
    interactive: a card — header (red/orange/yellow/blue for warnings by signal colour), the
        body as ``lark_md`` markdown, and a "查看全文" button. The card schema is not in our
        reference (UNCERTAIN); lark_md has no tables either.
    ``at_all_urgent`` @-mentions everyone in urgent (post) notices.

Limits [S52]: the whole request body ≤20 KB. The body part is measured the way it is sent
(UTF-8 bytes of its JSON), against 20 KB minus the room the rest of the request can take
(title up to 256 bytes — our choice, cut if longer — link, signature). A longer body is cut
(TRUNCATE): the link to the full text is never cut. Rate: 100 a minute *and* 5 a second per
bot; the account declares 3 posts per ~1.9 s (``window_rate``), which keeps any second ≤5
and any minute ≤93. Avoid :00 and :30, when Feishu throttles (11232).

Idempotency: NONE — no key, no way to ask; an unknown outcome goes to a person.

Errors (``ERRORS``) [S52][S53]: 11232 throttled -> RateLimited(60 s); 19021 sign mismatch or
timestamp more than 1 h off, 19022 IP not allowed, 19024 keyword missing, 9499 bad request ->
PermanentError with Feishu's own message — except a 9499 whose message says "too many
request(s)": real replies use it for a bot sending too fast, so that one is RateLimited(60 s)
(``THROTTLED``; the worker waits and the attempt does not count); 19001 bad hook id ->
CredentialsInvalid (UNCERTAIN: not in our reference). Anything else -> PermanentError.

Sandbox: a ``sandbox: true`` account talks to ``{base_url}/_sandbox/feishu`` unless
``api_base`` says otherwise (see ``channels.oa.sandbox``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import SecretStr

from channels.oa.common import (
    BYTES,
    LINK_TEXT,
    Code,
    OaOptions,
    RobotAdapter,
    byte_limit,
    hmac_sha256_b64,
    longest_link,
    portal_url,
    post_json,
    raise_for_code,
    read_reply,
    to_json,
    window_rate,
)
from publisher.contract import DirectMessage, Format, Limit, OutgoingPost, Overflow, PublishResult
from publisher.errors import CredentialsInvalid, PermanentError, RateLimited

API_BASE = "https://open.feishu.cn"
BODY_MAX_BYTES = 20 * 1024
TITLE_MAX_BYTES = 256
HEADER_COLOURS = {"红色": "red", "橙色": "orange", "黄色": "yellow", "蓝色": "blue"}

ERRORS: dict[int, Code] = {
    9499: Code(PermanentError, "请求格式错误"),
    11232: Code(RateLimited, "发送太频繁：每分钟最多 100 条、每秒最多 5 条", retry_after=60.0),
    19001: Code(CredentialsInvalid, "webhook 地址无效：机器人已删除或地址有误"),
    19021: Code(PermanentError, "签名校验失败，或时间戳与飞书服务器相差超过 1 小时"),
    19022: Code(PermanentError, "服务器 IP 不在机器人的 IP 白名单中"),
    19024: Code(PermanentError, "消息不含机器人安全设置中的关键词"),
}


#: 9499 as a busy bot gets it: ``{"code": 9499, "msg": "too many request"}``.
THROTTLED: dict[int, Code] = {
    9499: Code(RateLimited, "发送太频繁：飞书限流，稍后重试", retry_after=60.0),
}


def throttled(code: int, message: str) -> bool:
    """Whether a reply means "too fast" although its code also means "bad request"."""
    return code in THROTTLED and "too many request" in message.lower()


def sign(timestamp: str, secret: str) -> str:
    """Feishu's signature: the string is the HMAC key and the message is empty."""
    return hmac_sha256_b64(f"{timestamp}\n{secret}".encode(), b"")


def paragraphs(body: str) -> list[list[dict[str, Any]]]:
    """A plain-text body as post paragraphs: one per line."""
    return [[{"tag": "text", "text": line}] for line in body.split("\n")]


def post_content_bytes(body: str) -> float:
    """How many bytes ``body`` takes in a ``post`` request."""
    return float(len(json.dumps(paragraphs(body), ensure_ascii=False).encode("utf-8")))


def card_text_bytes(body: str) -> float:
    """How many bytes ``body`` takes in an ``interactive`` request."""
    return float(len(json.dumps(body, ensure_ascii=False).encode("utf-8")))


class FeishuOptions(OaOptions):
    type: str = "feishu"
    hook: SecretStr  # the id at the end of the webhook address
    secret: SecretStr | None = None  # 签名校验; None: keyword or IP security
    msg_type: Literal["post", "interactive"] = "post"
    at_all_urgent: bool = False


class FeishuAdapter(RobotAdapter[FeishuOptions]):
    type_name = "feishu"
    Options = FeishuOptions
    real_api = API_BASE
    label = "飞书机器人"
    endpoint = "飞书 bot/v2/hook"
    code_keys = ("code", "StatusCode")
    msg_keys = ("msg", "StatusMessage")
    errors = ERRORS
    rate = window_rate(93, 60.0, burst=3)

    def _format(self) -> Format:
        return Format.TEXT if self.options.msg_type == "post" else Format.MARKDOWN

    def _limits(self) -> tuple[Limit, ...]:
        measure = post_content_bytes if self.options.msg_type == "post" else card_text_bytes
        longest = self._request("x" * TITLE_MAX_BYTES, "", longest_link(self.ctx), True, "orange")
        room = float(BODY_MAX_BYTES - len(to_json(longest)))
        return (
            byte_limit("title", TITLE_MAX_BYTES, Overflow.TRUNCATE),
            Limit("body", room, measure, BYTES, Overflow.TRUNCATE),
        )

    def _content(
        self, title: str, body: str, link: str, urgent: bool, colour: str
    ) -> dict[str, Any]:
        o = self.options
        if o.msg_type == "post":
            lines = paragraphs(body)
            if urgent and o.at_all_urgent:
                lines.insert(0, [{"tag": "at", "user_id": "all"}])
            lines.append(
                [{"tag": "text", "text": "全文："}, {"tag": "a", "text": LINK_TEXT, "href": link}]
            )
            return {"content": {"post": {"zh_cn": {"title": title, "content": lines}}}}
        return {
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {
                    "title": {"tag": "plain_text", "content": title},
                    "template": colour,
                },
                "elements": [
                    {"tag": "div", "text": {"tag": "lark_md", "content": body}},
                    {
                        "tag": "action",
                        "actions": [
                            {
                                "tag": "button",
                                "text": {"tag": "plain_text", "content": LINK_TEXT},
                                "type": "primary",
                                "url": link,
                            }
                        ],
                    },
                ],
            }
        }

    def _request(
        self, title: str, body: str, link: str, urgent: bool, colour: str
    ) -> dict[str, Any]:
        o = self.options
        payload: dict[str, Any] = {}
        if o.secret is not None:
            ts = str(int(self.ctx.clock.now().timestamp()))
            payload["timestamp"] = ts
            payload["sign"] = sign(ts, o.secret.get_secret_value())
        payload["msg_type"] = o.msg_type
        payload.update(self._content(title, body, link, urgent, colour))
        return payload

    async def _send(
        self, url: str, payload: Mapping[str, Any], params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        response = await post_json(self.ctx, url, payload, self.options.timeout, params)
        code, message, data = read_reply(response, self.endpoint, self.code_keys, self.msg_keys)
        if code != 0:
            table = THROTTLED if throttled(code, message) else self.errors
            raise_for_code(self.label, code, message, table)
        return data

    def _url(self) -> str:
        return f"{self._api}/open-apis/bot/v2/hook/{self.options.hook.get_secret_value()}"

    def _payload(self, post: OutgoingPost) -> dict[str, Any]:
        title = post.rendered.title or post.notice.title
        colour = HEADER_COLOURS.get(str(post.notice.fields.get("color", "")), "blue")
        link = portal_url(self.ctx, post.notice)
        return self._request(title, post.rendered.body, link, post.notice.urgent, colour)

    async def notify(self, message: DirectMessage) -> PublishResult:
        """A post to the robot's group that @-mentions the named people (Feishu open_ids /
        user_ids, ``{"tag": "at"}``): a group robot cannot message a person alone, so the
        group sees it too. Used by the review chain to tell the next reviewer."""
        if not message.recipients:
            raise PermanentError("飞书: 没有接收人")
        lines: list[list[dict[str, Any]]] = [
            [{"tag": "at", "user_id": r} for r in message.recipients],
            [{"tag": "text", "text": message.text}],
        ]
        if message.url:
            lines.append([{"tag": "a", "text": LINK_TEXT, "href": message.url}])
        payload: dict[str, Any] = {}
        o = self.options
        if o.secret is not None:
            ts = str(int(self.ctx.clock.now().timestamp()))
            payload["timestamp"] = ts
            payload["sign"] = sign(ts, o.secret.get_secret_value())
        payload["msg_type"] = "post"
        payload["content"] = {"post": {"zh_cn": {"title": message.title, "content": lines}}}
        await self._send(self._url(), payload)
        return PublishResult(remote_id=None, detail={"mentioned": list(message.recipients)})
