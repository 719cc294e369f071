"""One WeChat API call over the handed-in httpx client: token in the query, errcode -> error.

JSON bodies are sent as UTF-8 with ``ensure_ascii=False``: WeChat stores ``\\uXXXX`` escapes
literally in titles and articles [S1]. A step that changes what followers can see
(``freepublish/submit``, ``message/mass/sendall``) is *unsafe*: a lost or garbled reply to it
is :class:`OutcomeUnknown` (never re-sent blindly); for every other step it is transient.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from channels.wechat.errors import raise_for_errcode
from publisher.contract import AccountContext
from publisher.errors import AuthExpired, OutcomeUnknown, TransientError
from publisher.http_errors import raise_for_server_trouble, request

if TYPE_CHECKING:
    from channels.wechat.token import StableToken

T = TypeVar("T")


def encode_json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_reply(response: httpx.Response, *, unsafe: bool) -> dict[str, Any]:
    """The JSON object WeChat answered, or the right error when there is none."""
    if response.status_code >= 500 and unsafe:
        raise OutcomeUnknown(f"请求发出后微信返回 HTTP {response.status_code}；请求可能已被执行")
    raise_for_server_trouble(response)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = f"无法读取微信的回复 (HTTP {response.status_code}): {response.text[:200]}"
        raise OutcomeUnknown(text) if unsafe else TransientError(text)
    return data


@dataclass(frozen=True)
class Media:
    """A file to upload: WeChat reads its type from the filename's extension."""

    filename: str
    data: bytes
    content_type: str


class WechatApi:
    def __init__(
        self, ctx: AccountContext, api_base: str, token: StableToken, timeout: float
    ) -> None:
        self.ctx = ctx
        self.base = api_base.rstrip("/")
        self.token = token
        self.timeout = timeout

    async def post(
        self,
        path: str,
        payload: Mapping[str, Any] | None = None,
        *,
        media: Media | None = None,
        unsafe: bool = False,
        **params: str,
    ) -> dict[str, Any]:
        """POST to ``path`` (e.g. ``/cgi-bin/draft/add``); the reply, or an error.

        The body is ``payload`` as JSON, or ``media`` as the multipart field ``media`` (a file
        upload; WeChat needs a filename extension). ``params`` join the token in the query.
        """
        body: dict[str, Any]
        if media is not None:
            body = {"files": {"media": (media.filename, media.data, media.content_type)}}
        else:
            body = {
                "content": encode_json(payload or {}),
                "headers": {"Content-Type": "application/json"},
            }
        access_token = await self.token.get()
        response = await request(
            self.ctx.http,
            "POST",
            self.base + path,
            params={"access_token": access_token, **params},
            timeout=self.timeout,
            **body,
        )
        data = decode_reply(response, unsafe=unsafe)
        raise_for_errcode(data, self.ctx.clock.now())
        return data

    async def with_refresh(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call``; on a rejected token refresh once and run it again.

        For confirm, metrics and check, which the worker does not retry after a refresh
        itself. ``publish`` lets :class:`AuthExpired` reach the worker instead, which calls
        ``refresh_credentials()`` once and publishes again.
        """
        try:
            return await call()
        except AuthExpired:
            await self.token.refresh()
            return await call()
