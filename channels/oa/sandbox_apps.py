"""Stand-ins for the OA *app* APIs that know who read a message, over real HTTP (issue 14).

Mounted at ``/_sandbox/<type_name>`` like the others (``channels.oa.sandbox``), with the
kit's ``/posts`` and ``/faults`` and the OA ``/secrets``:

    dingtalk_app  GET  /gettoken?appkey=&appsecret=                 40089 bad key/secret
                  POST /topapi/message/corpconversation/asyncsend_v2?access_token=
                       -> task_id; user ids starting with ``invalid`` are invalid
                  POST /topapi/message/corpconversation/getsendresult?access_token=
                       -> send_result: read / unread / invalid user id lists
    feishu_app    POST /open-apis/auth/v3/tenant_access_token/internal   10014 bad secret
                  POST /open-apis/im/v1/messages?receive_id_type=      one receiver; ``uuid``
                       drops a repeat within an hour; ``invalid…`` receivers: 230013
                  GET  /open-apis/im/v1/messages/{message_id}/read_users?user_id_type=
    wecom_app     (everything of ``channels.oa.sandbox.WecomAppSandbox``, plus the web OAuth
                  of the 已知悉 link, ``channels.oa.wecom_ack``)
                  GET  /connect/oauth2/authorize?appid=&redirect_uri=&state=&sandbox_user=U
                       -> 302 to redirect_uri?code=C&state=…  (``sandbox_user`` plays the
                       member who opened the link: the real page knows who is logged in)
                  GET  /cgi-bin/auth/getuserinfo?access_token=&code=  -> {"userid"}; 40029

Nobody reads by themselves: ``PUT /reads {"users": ["u1", …]}`` (dingtalk_app, feishu_app)
marks every message those people received as read now, as a person opening it would.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from channels.oa.sandbox import OaSandbox, WecomAppSandbox

TOKEN_SECONDS = 7200
UUID_SECONDS = 3600


class _Tokens:
    def __init__(self, now: Any, prefix: str) -> None:
        self.now = now
        self.prefix = prefix
        self.issued: dict[str, float] = {}

    def issue(self) -> str:
        token = self.prefix + secrets.token_hex(12)
        self.issued[token] = self.now() + TOKEN_SECONDS
        return token

    def problem(self, token: str) -> str | None:
        """None if good, else "unknown" or "expired"."""
        if token not in self.issued:
            return "unknown"
        return "expired" if self.issued[token] <= self.now() else None


class DingtalkAppSandbox(OaSandbox):
    messages: ClassVar[dict[int, str]] = {
        -1: "system busy",
        40014: "不合法的access_token",
        42001: "access_token超时",
        40089: "不合法的corpid或corpsecret",
        40035: "缺少参数 task_id 或 task_id 不存在",
        143103: "企业单应用消息发送人次QPM超限",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens = _Tokens(self.now, "dt-sbx-")
        self.tasks: dict[int, dict[str, Any]] = {}

    def routes(self, router: APIRouter) -> None:
        router.add_api_route("/gettoken", self.gettoken, methods=["GET"])
        base = "/topapi/message/corpconversation"
        router.add_api_route(f"{base}/asyncsend_v2", self.send, methods=["POST"])
        router.add_api_route(f"{base}/getsendresult", self.result, methods=["POST"])
        router.add_api_route("/reads", self.reads, methods=["PUT"])

    def expire_tokens(self) -> None:
        now = self.now()
        self.tokens.issued = {t: min(e, now) for t, e in self.tokens.issued.items()}

    async def gettoken(self, appkey: str = "", appsecret: str = "") -> JSONResponse:
        if (
            not appkey
            or not appsecret
            or appkey.startswith("invalid")
            or appsecret.startswith("invalid")
        ):
            return self.reply(40089)
        return self.reply(0, "ok", access_token=self.tokens.issue(), expires_in=TOKEN_SECONDS)

    def _token_refusal(self, token: str) -> JSONResponse | None:
        problem = self.tokens.problem(token)
        if problem is None:
            return None
        return self.reply(40014 if problem == "unknown" else 42001)

    async def send(self, request: Request, access_token: str = "") -> Response:
        refusal = await self.injected() or self._token_refusal(access_token)
        if refusal is not None:
            return refusal
        body = await self.json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("agent_id"), int):
            return self.reply(40056, "不合法的agentid")
        msg = body.get("msg")
        if not isinstance(msg, dict) or not isinstance(msg.get(str(msg.get("msgtype"))), dict):
            return self.reply(40008, "不合法的消息类型")
        users = [u for u in str(body.get("userid_list") or "").split(",") if u]
        if not users:
            return self.reply(1430000, "接受者为空")
        number = self.next_serial()
        self.tasks[number] = {
            "users": [u for u in users if not u.startswith("invalid")],
            "invalid": [u for u in users if u.startswith("invalid")],
            "read": set(),
        }
        await self.record(request.url.path, body, number, task_id=number)
        return self.reply(0, "ok", task_id=number, request_id=secrets.token_hex(6))

    async def result(self, request: Request, access_token: str = "") -> Response:
        refusal = await self.injected() or self._token_refusal(access_token)
        if refusal is not None:
            return refusal
        body = await self.json_body(request)
        number = body.get("task_id") if isinstance(body, dict) else None
        task = self.tasks.get(number) if isinstance(number, int) else None
        if task is None:
            return self.reply(40035)
        read = [u for u in task["users"] if u in task["read"]]
        result = {
            "read_user_id_list": read,
            "unread_user_id_list": [u for u in task["users"] if u not in task["read"]],
            "invalid_user_id_list": task["invalid"],
            "forbidden_user_id_list": [],
            "failed_user_id_list": [],
            "invalid_dept_id_list": [],
        }
        return self.reply(0, "ok", send_result=result)

    async def reads(self, body: dict[str, list[str]]) -> dict[str, int]:
        users = set(body.get("users") or [])
        marked = 0
        for task in self.tasks.values():
            for user in users & set(task["users"]):
                marked += user not in task["read"]
                task["read"].add(user)
        return {"read": marked}


class FeishuAppSandbox(OaSandbox):
    code_key: ClassVar[str] = "code"
    msg_key: ClassVar[str] = "msg"
    messages: ClassVar[dict[int, str]] = {
        10014: "app secret invalid",
        99991663: "Invalid access token for authorization. Please make a request with token.",
        99991668: "token expired",
        230001: "Your request contains an invalid request parameter.",
        230013: "Bot has NO availability to this user.",
        99991400: "request trigger frequency limit",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens = _Tokens(self.now, "t-sbx-")
        self.sent: dict[str, dict[str, Any]] = {}  # message_id -> {"to", "read_at"}
        self.uuids: dict[str, tuple[float, str]] = {}

    def routes(self, router: APIRouter) -> None:
        router.add_api_route(
            "/open-apis/auth/v3/tenant_access_token/internal", self.token, methods=["POST"]
        )
        router.add_api_route("/open-apis/im/v1/messages", self.create, methods=["POST"])
        router.add_api_route(
            "/open-apis/im/v1/messages/{message_id}/read_users", self.read_users, methods=["GET"]
        )
        router.add_api_route("/reads", self.reads, methods=["PUT"])

    def expire_tokens(self) -> None:
        now = self.now()
        self.tokens.issued = {t: min(e, now) for t, e in self.tokens.issued.items()}

    async def token(self, request: Request) -> JSONResponse:
        body = await self.json_body(request)
        app_id = str((body or {}).get("app_id") or "")
        secret = str((body or {}).get("app_secret") or "")
        if not app_id or not secret or app_id.startswith("invalid") or secret.startswith("invalid"):
            return self.reply(10014)
        token = self.tokens.issue()
        return self.reply(0, "ok", tenant_access_token=token, expire=TOKEN_SECONDS)

    def _auth(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        problem = self.tokens.problem(header.removeprefix("Bearer ").strip())
        if problem is None:
            return None
        return self.reply(99991663 if problem == "unknown" else 99991668)

    async def create(self, request: Request, receive_id_type: str = "") -> Response:
        refusal = await self.injected() or self._auth(request)
        if refusal is not None:
            return refusal
        body = await self.json_body(request)
        if receive_id_type not in ("user_id", "open_id", "union_id", "chat_id", "email"):
            return self.reply(230001)
        if not isinstance(body, dict) or not body.get("receive_id") or not body.get("msg_type"):
            return self.reply(230001)
        if not isinstance(body.get("content"), str):
            return self.reply(230001, "content should be a JSON string")
        to = str(body["receive_id"])
        if to.startswith("invalid"):
            return self.reply(230013)
        now = self.now()
        uuid = body.get("uuid")
        if (
            isinstance(uuid, str)
            and uuid in self.uuids
            and now - self.uuids[uuid][0] < UUID_SECONDS
        ):
            return self.reply(0, "success", data={"message_id": self.uuids[uuid][1]})
        message_id = f"om_sbx{self.next_serial()}"
        if isinstance(uuid, str):
            self.uuids[uuid] = (now, message_id)
        self.sent[message_id] = {"to": to, "read_at": None}
        await self.record(request.url.path, body, message_id=message_id)
        return self.reply(
            0, "success", data={"message_id": message_id, "msg_type": body["msg_type"]}
        )

    async def read_users(
        self, request: Request, message_id: str, user_id_type: str = ""
    ) -> Response:
        refusal = await self.injected() or self._auth(request)
        if refusal is not None:
            return refusal
        message = self.sent.get(message_id)
        if message is None or not user_id_type:
            return self.reply(230001)
        items = []
        if message["read_at"] is not None:
            items.append(
                {
                    "user_id_type": user_id_type,
                    "user_id": message["to"],
                    "timestamp": str(int(message["read_at"] * 1000)),
                    "tenant_key": "sandbox",
                }
            )
        return self.reply(0, "success", data={"items": items, "has_more": False, "page_token": ""})

    async def reads(self, body: dict[str, list[str]]) -> dict[str, int]:
        users = set(body.get("users") or [])
        marked = 0
        for message in self.sent.values():
            if message["to"] in users and message["read_at"] is None:
                message["read_at"] = self.now()
                marked += 1
        return {"read": marked}


class WecomAckSandbox(WecomAppSandbox):
    """The WeCom app sandbox plus the web OAuth the 已知悉 link goes through."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.codes: dict[str, str] = {}  # OAuth code -> userid (used once)
        super().__init__(*args, **kwargs)
        self.router.add_api_route("/connect/oauth2/authorize", self.authorize, methods=["GET"])
        self.router.add_api_route("/cgi-bin/auth/getuserinfo", self.userinfo, methods=["GET"])

    async def authorize(
        self, redirect_uri: str = "", state: str = "", appid: str = "", sandbox_user: str = ""
    ) -> Response:
        if not appid or urlsplit(redirect_uri).scheme not in ("http", "https"):
            return PlainTextResponse("沙箱: 缺少 appid 或 redirect_uri 无效\n", status_code=400)
        if not sandbox_user:
            return PlainTextResponse(
                "沙箱: 真实的企业微信知道是谁打开了链接；在沙箱里请在地址后加 "
                "&sandbox_user=<成员 userid>\n",
                status_code=400,
            )
        code = secrets.token_hex(8)
        self.codes[code] = sandbox_user
        joiner = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(
            redirect_uri + joiner + urlencode({"code": code, "state": state}), status_code=302
        )

    async def userinfo(self, access_token: str = "", code: str = "") -> Response:
        fault = await self.injected()
        if fault is not None:
            return fault
        if access_token not in self.tokens:
            return self.reply(40014)
        if self.tokens[access_token] <= self.now():
            return self.reply(42001)
        user = self.codes.pop(code, None)
        if user is None:
            return self.reply(40029, "invalid code")
        return self.reply(0, "ok", userid=user)
