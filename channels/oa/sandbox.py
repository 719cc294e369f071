"""Stand-ins for the WeCom app API and the WeCom, DingTalk and Feishu robots, over real HTTP.

Each adapter's ``sandbox()`` returns the router of one of these; the server mounts it at
``/_sandbox/<type_name>``. Same paths, fields and error codes as the reference (section 3):

    wecom_app    GET  /cgi-bin/gettoken?corpid=&corpsecret=      (same token while valid)
                 POST /cgi-bin/message/send?access_token=        40014 unknown token, 42001
                      expired, 81013 all recipients invalid, duplicate check by content
                 POST /cgi-bin/message/recall?access_token=      {"msgid"}, within 24 h
                      (``sandbox_recall.py``)
    wecom_robot  POST /cgi-bin/webhook/send?key=                 93000 bad key, 45009 >20/min
    dingtalk     POST /robot/send?access_token=&timestamp=&sign=  300005 bad token, 310000
                      bad/missing sign or timestamp >1 h off, 130101 >20/min then 10 min
    feishu       POST /open-apis/bot/v2/hook/{hook}               19001 bad hook, 19021 bad
                      sign or timestamp >1 h off, 11232 >5/s or >100/min, 9499 body >20 KB

and on every one (the kit's routes, ``publisher.sandbox.kit``, plus ``/secrets``):

    GET  /posts     everything received, with read counts that grow; DELETE /posts forgets it
    PUT  /faults    {"error_rate", "error_code", "latency_ms", "expire_token", "lost_reply",
                     "hang_seconds"}: with probability ``error_rate`` a send answers
                     ``error_code`` (the channel's own code and message) or, without one,
                     HTTP 503; ``expire_token`` expires every WeCom token issued so far (once);
                    ``lost_reply`` records the message, then answers only after
                     ``hang_seconds`` (the client times out: outcome unknown)
    PUT  /secrets   {"<token or hook>": "<signing secret>" | null} (dingtalk, feishu): every
                     robot signs with ``SANDBOX_SECRET`` unless told otherwise; null = unsigned

Conventions: credentials (corpid, corpsecret, key, token, hook) starting with ``invalid`` are
refused; WeCom recipients starting with ``invalid`` do not exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import Field

from channels.oa import sandbox_recall
from publisher.sandbox.kit import Faults, Sandbox

SANDBOX_SECRET = "SECsandbox0123456789"
READS_EVERY_SECONDS = 5.0


class OaFaults(Faults):
    error_code: int | None = None
    expire_token: bool = False
    lost_reply: bool = False
    hang_seconds: float = Field(default=30, ge=0, le=600)

    def lost_reply_odds(self) -> tuple[float, float]:
        return (1.0 if self.lost_reply else 0.0), self.hang_seconds


class Windows:
    """Sliding-window counters per credential, to answer rate-limit codes like the real APIs."""

    def __init__(self) -> None:
        self._hits: defaultdict[str, deque[float]] = defaultdict(deque)

    def count(self, key: str, now: float, seconds: float) -> int:
        return sum(1 for t in self._hits[key] if now - t < seconds)

    def add(self, key: str, now: float) -> None:
        hits = self._hits[key]
        hits.append(now)
        while hits and now - hits[0] > 3600:
            hits.popleft()


class OaSandbox(Sandbox[OaFaults]):
    """What every OA sandbox has beyond the kit: signing secrets, rate windows, replies."""

    code_key: ClassVar[str] = "errcode"
    msg_key: ClassVar[str] = "errmsg"
    messages: ClassVar[dict[int, str]] = {}

    def __init__(
        self, now: Callable[[], float] = time.time, rng: random.Random | None = None
    ) -> None:
        super().__init__(OaFaults(), rng)
        self.now = now
        self.secrets: dict[str, str | None] = {}
        self.windows = Windows()
        self.routes(self.router)
        r = self.router
        r.add_api_route("/secrets", self.set_secrets, methods=["PUT"])
        r.add_api_route("/secrets", self.get_secrets, methods=["GET"])

    def routes(self, router: APIRouter) -> None:
        raise NotImplementedError

    # -- answering --------------------------------------------------------------------------

    def reply(self, code: int, message: str | None = None, **extra: Any) -> JSONResponse:
        text = message if message is not None else self.messages.get(code, "error")
        return JSONResponse({self.code_key: code, self.msg_key: text, **extra})

    async def admitted(self, credential: str, refused: int, **extra: Any) -> Response | None:
        """The answer before a send is read, if any: ``refused`` for a credential starting with
        ``invalid``, then what PUT /faults asks for (:meth:`injected`)."""
        if not credential or credential.startswith("invalid"):
            return self.reply(refused, **extra)
        return await self.injected()

    async def injected(self) -> Response | None:
        """Latency, then maybe an injected error, as set by PUT /faults."""
        f = self.faults
        await self.network_delay()
        if self.fault_strikes():
            if f.error_code is None:
                return PlainTextResponse("sandbox: injected fault", status_code=503)
            return self.reply(f.error_code)
        return None

    async def record(
        self, path: str, payload: Any, number: int | None = None, **meta: Any
    ) -> dict[str, Any]:
        post = {
            "id": number or self.next_serial(),
            "path": path,
            "received_at": datetime.now(UTC).isoformat(),
            "received_ts": self.now(),
            "payload": payload,
            **meta,
        }
        self.keep(post)
        await self.hold_reply()
        return post

    def secret_for(self, name: str) -> str | None:
        return self.secrets.get(name, SANDBOX_SECRET)

    @staticmethod
    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError:
            return None

    # -- control ----------------------------------------------------------------------------

    def listing(self) -> dict[str, Any]:
        now = self.now()
        posts = [
            {**p, "read_count": int((now - p["received_ts"]) // READS_EVERY_SECONDS)}
            for p in self.posts
        ]
        return {"count": len(posts), "posts": posts}

    def faults_changed(self, faults: OaFaults) -> OaFaults:
        if faults.expire_token:
            self.expire_tokens()
            faults = faults.model_copy(update={"expire_token": False})  # done once
        return faults

    async def set_secrets(self, body: dict[str, str | None]) -> dict[str, int]:
        self.secrets.update(body)
        return {"secrets": len(self.secrets)}

    async def get_secrets(self) -> dict[str, bool]:
        return {name: value is not None for name, value in self.secrets.items()}

    def expire_tokens(self) -> None:
        return None


class WecomAppSandbox(OaSandbox):
    TOKEN_SECONDS = 7200
    messages: ClassVar[dict[int, str]] = {
        -1: "system busy",
        40001: "invalid credential",
        40013: "invalid corpid",
        40014: "invalid access_token",
        42001: "access_token expired",
        45009: "api freq out of limit",
        60020: "not allow to access from your ip",
        81013: "user & party & tag all invalid",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.tokens: dict[str, float] = {}  # token -> expires at (epoch seconds)
        self.by_credential: dict[tuple[str, str], str] = {}
        self.seen: dict[str, tuple[float, str]] = {}  # duplicate check: digest -> (time, msgid)
        super().__init__(*args, **kwargs)

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/cgi-bin/gettoken", self.gettoken, methods=["GET"])
        router.add_api_route("/cgi-bin/message/send", self.send, methods=["POST"])
        router.add_api_route("/cgi-bin/message/recall", self.recall, methods=["POST"])

    async def recall(self, request: Request, access_token: str = "") -> Response:
        return await sandbox_recall.recall(self, request, access_token)

    def expire_tokens(self) -> None:
        now = self.now()
        self.tokens = {token: min(expiry, now) for token, expiry in self.tokens.items()}

    def restore(self, kind: str, value: Any) -> None:
        """After a restart the duplicate check still knows what was delivered (tokens are
        not kept: the publisher fetches a new one when told 40014)."""
        if kind == "recalled":
            sandbox_recall.restore(self, value)
            return
        super().restore(kind, value)
        payload = value.get("payload") if kind == "post" else None
        if not isinstance(payload, dict) or not value.get("delivered"):
            return
        if payload.get("enable_duplicate_check") == 1:
            digest = _content_digest(payload, str(payload.get("msgtype")))
            self.seen[digest] = (float(value["received_ts"]), str(value["msgid"]))

    async def gettoken(self, corpid: str = "", corpsecret: str = "") -> JSONResponse:
        if not corpid or corpid.startswith("invalid"):
            return self.reply(40013)
        if not corpsecret or corpsecret.startswith("invalid"):
            return self.reply(40001)
        now = self.now()
        token = self.by_credential.get((corpid, corpsecret))
        if token is None or self.tokens.get(token, 0) <= now:
            token = "sbx-" + secrets.token_hex(16)
            self.tokens[token] = now + self.TOKEN_SECONDS
            self.by_credential[(corpid, corpsecret)] = token
        expires_in = int(self.tokens[token] - now)
        return self.reply(0, "ok", access_token=token, expires_in=expires_in)

    async def send(self, request: Request, access_token: str = "") -> Response:
        fault = await self.injected()
        if fault is not None:
            return fault
        if access_token not in self.tokens:
            return self.reply(40014)
        if self.tokens[access_token] <= self.now():
            return self.reply(42001)
        payload = await self.json_body(request)
        if not isinstance(payload, dict):
            return self.reply(40058, "invalid json body")
        msgtype = payload.get("msgtype")
        if msgtype not in ("text", "textcard", "markdown") or not isinstance(
            payload.get(msgtype), dict
        ):
            return self.reply(40008, "invalid message type")
        if not isinstance(payload.get("agentid"), int):
            return self.reply(40056, "invalid agentid")
        too_long = _too_long_wecom(msgtype, payload[msgtype])
        if too_long:
            return self.reply(40058, too_long)
        invalid: dict[str, str] = {}
        valid = 0
        for field, answer in (
            ("touser", "invaliduser"),
            ("toparty", "invalidparty"),
            ("totag", "invalidtag"),
        ):
            ids = [i for i in str(payload.get(field) or "").split("|") if i]
            bad = [i for i in ids if i.startswith("invalid")]
            valid += len(ids) - len(bad)
            if bad:
                invalid[answer] = "|".join(bad)
        if not valid:
            return self.reply(81013)
        now = self.now()
        duplicate_of = None
        if payload.get("enable_duplicate_check") == 1:
            interval = float(payload.get("duplicate_check_interval") or 1800)
            key = _content_digest(payload, msgtype)
            earlier = self.seen.get(key)
            if earlier is not None and now - earlier[0] < interval:
                duplicate_of = earlier[1]
        number = self.next_serial()
        msgid = duplicate_of or f"sbx-msg-{number}"
        if duplicate_of is None and payload.get("enable_duplicate_check") == 1:
            self.seen[_content_digest(payload, msgtype)] = (now, msgid)
        await self.record(
            request.url.path,
            payload,
            number,
            msgid=msgid,
            duplicate=duplicate_of is not None,
            delivered=duplicate_of is None,
        )
        return self.reply(0, "ok", msgid=msgid, **invalid)


class WecomRobotSandbox(OaSandbox):
    PER_MINUTE = 20
    messages: ClassVar[dict[int, str]] = {
        -1: "system busy",
        45009: "api freq out of limit",
        93000: "invalid webhook url",
    }

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/cgi-bin/webhook/send", self.send, methods=["POST"])

    async def send(self, request: Request, key: str = "") -> Response:
        refusal = await self.admitted(key, 93000)
        if refusal is not None:
            return refusal
        now = self.now()
        if self.windows.count(key, now, 60) >= self.PER_MINUTE:
            return self.reply(45009)
        payload = await self.json_body(request)
        msgtype = payload.get("msgtype") if isinstance(payload, dict) else None
        if msgtype not in ("text", "markdown") or not isinstance(payload.get(msgtype), dict):
            return self.reply(40008, "invalid message type")
        too_long = _too_long_wecom(msgtype, payload[msgtype], markdown_max=4096)
        if too_long:
            return self.reply(40058, too_long)
        self.windows.add(key, now)
        await self.record(request.url.path, payload, key=key[-4:])
        return self.reply(0, "ok")


class DingtalkSandbox(OaSandbox):
    PER_MINUTE = 20
    THROTTLE_SECONDS = 600
    messages: ClassVar[dict[int, str]] = {
        -1: "系统繁忙",
        130101: "send too fast, exceed 20 times per minute",
        300001: "token is not exist",
        300005: "token is not exist",
        310000: "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.throttled_until: dict[str, float] = {}
        super().__init__(*args, **kwargs)

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/robot/send", self.send, methods=["POST"])

    async def send(
        self, request: Request, access_token: str = "", timestamp: str = "", sign: str = ""
    ) -> Response:
        refusal = await self.admitted(access_token, 300005)
        if refusal is not None:
            return refusal
        now = self.now()
        secret = self.secret_for(access_token)
        if secret is not None:
            problem = _dingtalk_sign_problem(timestamp, sign, secret, now)
            if problem:
                return self.reply(310000, problem)
        if self.throttled_until.get(access_token, 0) > now:
            return self.reply(130101)
        if self.windows.count(access_token, now, 60) >= self.PER_MINUTE:
            self.throttled_until[access_token] = now + self.THROTTLE_SECONDS
            return self.reply(130101)
        payload = await self.json_body(request)
        msgtype = payload.get("msgtype") if isinstance(payload, dict) else None
        body = payload.get(msgtype) if isinstance(payload, dict) and msgtype else None
        if msgtype not in ("text", "markdown", "link", "actionCard", "feedCard") or not isinstance(
            body, dict
        ):
            return self.reply(40035, "缺少参数 json")
        if msgtype == "markdown" and not (body.get("title") and body.get("text")):
            return self.reply(40035, "缺少参数 markdown.title 或 markdown.text")
        self.windows.add(access_token, now)
        await self.record(request.url.path, payload, signed=secret is not None)
        return self.reply(0, "ok")


class FeishuSandbox(OaSandbox):
    code_key: ClassVar[str] = "code"
    msg_key: ClassVar[str] = "msg"
    PER_SECOND = 5
    PER_MINUTE = 100
    MAX_BODY = 20 * 1024
    messages: ClassVar[dict[int, str]] = {
        9499: "Bad Request",
        11232: "frequency limited psm[lark.oapi.app_platform_runtime]",
        19001: "param invalid: incoming webhook access token invalid",
        19021: "sign match fail or timestamp is not within one hour from current time",
        19022: "Ip Not Allowed",
        19024: "Key Words Not Found",
    }

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/open-apis/bot/v2/hook/{hook}", self.send, methods=["POST"])

    async def send(self, hook: str, request: Request) -> Response:
        refusal = await self.admitted(hook, 19001, data={})
        if refusal is not None:
            return refusal
        raw = await request.body()
        if len(raw) > self.MAX_BODY:
            return self.reply(9499, f"Bad Request: body is {len(raw)} bytes, the limit is 20 KB")
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return self.reply(9499)
        now = self.now()
        secret = self.secret_for(hook)
        if secret is not None and not _feishu_sign_ok(payload, secret, now):
            return self.reply(19021, data={})
        if (
            self.windows.count(hook, now, 1) >= self.PER_SECOND
            or self.windows.count(hook, now, 60) >= self.PER_MINUTE
        ):
            return self.reply(11232, data={})
        if payload.get("msg_type") not in ("text", "post", "image", "share_chat", "interactive"):
            return self.reply(9499, "Bad Request: unknown msg_type")
        self.windows.add(hook, now)
        await self.record(request.url.path, payload, signed=secret is not None)
        return self.reply(0, "success", data={}, StatusCode=0, StatusMessage="success")


SANDBOXES: dict[str, type[OaSandbox]] = {
    "wecom_app": WecomAppSandbox,
    "wecom_robot": WecomRobotSandbox,
    "dingtalk": DingtalkSandbox,
    "feishu": FeishuSandbox,
}
"""Each OA adapter's stand-in, by the adapter's ``type_name``."""


# -- checks shared by the stand-ins ---------------------------------------------------------


def _too_long_wecom(msgtype: str, body: dict[str, Any], markdown_max: int = 2048) -> str | None:
    def size(value: Any) -> int:
        return len(str(value or "").encode("utf-8"))

    if msgtype == "textcard":
        if size(body.get("title")) > 128:
            return "textcard.title exceed max length 128"
        if size(body.get("description")) > 512:
            return "textcard.description exceed max length 512"
    elif msgtype == "markdown" and size(body.get("content")) > markdown_max:
        return f"markdown.content exceed max length {markdown_max}"
    elif msgtype == "text" and size(body.get("content")) > 2048:
        return "text.content exceed max length 2048"
    return None


def _content_digest(payload: dict[str, Any], msgtype: str) -> str:
    fields = {k: payload.get(k) for k in ("agentid", "touser", "toparty", "totag", "msgtype")}
    fields["content"] = payload.get(msgtype)
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def _b64_hmac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def _dingtalk_sign_problem(timestamp: str, sign: str, secret: str, now: float) -> str | None:
    if not timestamp or not sign:
        return "sign not match: timestamp and sign are required"
    try:
        ts_ms = int(timestamp)
    except ValueError:
        return "invalid timestamp"
    if abs(now * 1000 - ts_ms) > 3600 * 1000:
        return "invalid timestamp: more than 1 hour from server time"
    expected = _b64_hmac(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode())
    if not hmac.compare_digest(sign, expected):
        return DingtalkSandbox.messages[310000]
    return None


def _feishu_sign_ok(payload: dict[str, Any], secret: str, now: float) -> bool:
    timestamp, sign = payload.get("timestamp"), payload.get("sign")
    if not isinstance(timestamp, str | int) or not isinstance(sign, str):
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > 3600:
        return False
    expected = _b64_hmac(f"{timestamp}\n{secret}".encode(), b"")
    return hmac.compare_digest(sign, expected)
