"""What the OA adapters share: the portal link, reply parsing, error tables, signing, rates,
and the adapter base classes (:class:`OaAdapter`, :class:`RobotAdapter`).

Every OA message carries a link to the full text. Parts are rendered (and fitted to the
channel's limits) at submit, before the notice has an id, so the adapter appends the link at
publish time; each adapter's byte limit for the body is the channel's limit minus the room
the link needs (:func:`link_reserve`). A truncated body therefore never loses its link.

The platforms differ in addresses, signing, payloads and error codes, and those stay in each
vendor module; the flow around them — options, sandbox, capabilities, one JSON POST whose
reply carries a result code — is written once here.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, TypeVar

import httpx
from pydantic import Field

from publisher.contract import (
    AccountContext,
    AccountOptions,
    Capabilities,
    ChannelAdapter,
    Format,
    HttpUrl,
    Idempotency,
    Limit,
    NoticeView,
    OutgoingPost,
    Overflow,
    PublishResult,
    RateLimit,
    count_utf8_bytes,
)
from publisher.errors import (
    ChannelError,
    CredentialsInvalid,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
)
from publisher.http_errors import raise_for_server_trouble, request

BYTES = "字节"
LINK_TEXT = "查看全文"
MAX_ID_DIGITS = 12  # room reserved for the notice id in the portal link
MAX_GIVEN_URL_BYTES = 256  # fields.portal_url longer than this falls back to the portal copy

# How a markdown or a text message is written, and how it ends: with the link to the full text.
FORMATS = {"markdown": Format.MARKDOWN, "text": Format.TEXT}
FOOTERS = {"markdown": "\n\n[查看全文]({url})", "text": "\n\n全文：{url}"}


class OaOptions(AccountOptions):
    """Options every OA account has.

    ``api_base``: where the platform's API is. Unset, a real account talks to the platform
    and a ``sandbox: true`` account to ``{base_url}/_sandbox/<type>`` — so a sandbox account
    never reaches the real platform by accident.
    """

    api_base: HttpUrl | None = None
    timeout: float = Field(default=10.0, gt=0)
    max_concurrency: int = Field(default=2, ge=1)


def api_base(ctx: AccountContext, real: str, type_name: str) -> str:
    """The API address for this account (see :class:`OaOptions`)."""
    options = ctx.options
    assert isinstance(options, OaOptions)
    if options.api_base:
        return options.api_base.rstrip("/")
    if options.sandbox:
        return f"{ctx.base_url.rstrip('/')}/_sandbox/{type_name}"
    return real


@dataclass(frozen=True)
class Code:
    """One row of a channel's error table: which error class, and what the code means."""

    error: type[ChannelError]
    meaning: str
    retry_after: float | None = None  # RateLimited only


def portal_url(ctx: AccountContext, notice: NoticeView) -> str:
    """The full text: ``fields.portal_url`` when given (http/https, short), else the portal copy."""
    given = notice.fields.get("portal_url")
    if (
        isinstance(given, str)
        and given.startswith(("http://", "https://"))
        and len(given.encode("utf-8")) <= MAX_GIVEN_URL_BYTES
    ):
        return given
    return ctx.notice_url(notice.id)


def longest_link(ctx: AccountContext) -> str:
    """A stand-in at least as long (in bytes) as any link :func:`portal_url` can return."""
    copy = ctx.notice_url(10**MAX_ID_DIGITS - 1)
    return copy + "x" * max(0, MAX_GIVEN_URL_BYTES - len(copy.encode("utf-8")))


def link_reserve(ctx: AccountContext, footer: str) -> int:
    """Bytes the link footer (``footer`` with ``{url}``) can take on top of the rendered body."""
    return int(count_utf8_bytes(footer.format(url=longest_link(ctx))))


def byte_limit(part: str, max_bytes: int, overflow: Overflow) -> Limit:
    return Limit(part, float(max_bytes), count_utf8_bytes, BYTES, overflow)


def body_before_link(ctx: AccountContext, max_bytes: int, footer: str) -> Limit:
    """The body's limit when ``footer`` (with the link) ends it: what is left, cut if longer."""
    return byte_limit("body", max_bytes - link_reserve(ctx, footer), Overflow.TRUNCATE)


def window_rate(per_window: int, window: float, *, burst: int) -> RateLimit:
    """A RateLimit of at most ``per_window`` posts in any ``window``, at most ``burst`` at once.

    The core enforces a RateLimit as an exact sliding window (never more than ``count`` in any
    ``per_seconds``). One window cannot also say "but not all at once", which Feishu's
    5-a-second rule needs and which spreads robot posts out; so this declares ``burst`` posts
    per ``window * burst / per_window`` seconds: never more than ``per_window`` in ``window``.
    """
    if not 0 < burst <= per_window:
        raise ValueError("burst must be between 1 and per_window")
    return RateLimit(burst, window * burst / per_window)


def to_json(payload: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON without ``\\uXXXX`` escapes (Tencent's APIs want Chinese as is) [S1]."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def post_json(
    ctx: AccountContext,
    url: str,
    payload: Mapping[str, Any],
    timeout: float,  # noqa: ASYNC109 - passed to httpx per request, as channels.webhook does
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    return await request(
        ctx.http,
        "POST",
        url,
        params=params,
        content=to_json(payload),
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=timeout,
    )


def read_reply(
    response: httpx.Response, where: str, code_keys: tuple[str, ...], msg_keys: tuple[str, ...]
) -> tuple[int, str, dict[str, Any]]:
    """The channel's own result code and message, or the right error when there is none.

    These APIs answer HTTP 200 with a code in the body. A reply without a code is judged by
    its HTTP status: 429/5xx are transient; a 2xx without a code may have been processed
    (OutcomeUnknown); other 4xx (a wrong ``api_base``, say) are permanent. ``where`` names
    the endpoint in messages (never the URL: it may hold a key or a token).
    """
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in code_keys:
            code = data.get(key)
            if isinstance(code, int) and not isinstance(code, bool):
                message = next((str(data[m]) for m in msg_keys if data.get(m)), "")
                return code, message, data
    raise_for_server_trouble(response)
    text = response.text[:300]
    if response.is_success:
        raise OutcomeUnknown(f"{where} 返回 HTTP {response.status_code}，但没有结果码: {text}")
    if response.status_code in (401, 403):
        raise CredentialsInvalid(
            f"{where} 拒绝: HTTP {response.status_code}: {text}", code=response.status_code
        )
    raise PermanentError(f"{where}: HTTP {response.status_code}: {text}", code=response.status_code)


def raise_for_code(channel: str, code: int, message: str, table: Mapping[int, Code]) -> NoReturn:
    """Raise the error the table names for ``code``; an unknown code is permanent.

    The message keeps the channel's own words, so the user sees why the platform refused.
    """
    rule = table.get(code)
    text = f"{channel} {code}: {message or '(无说明)'}"
    if rule is None:
        raise PermanentError(text, code=code)
    text += f"（{rule.meaning}）"
    if issubclass(rule.error, RateLimited):
        raise RateLimited(text, retry_after=rule.retry_after or 60.0, code=code)
    raise rule.error(text, code=code)


def hmac_sha256_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def digest(secret: str) -> str:
    """A short, non-reversible tag of a secret (names cached tokens per credential)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


OptionsT = TypeVar("OptionsT", bound=OaOptions)


class OaAdapter(ChannelAdapter[OptionsT]):
    """An OA adapter: JSON to one platform, a result code in every reply, a link to the full text.

    A subclass sets ``type_name`` and ``Options`` (the ``OptionsT`` it is parametrised with),
    then states what its platform does differently:

    ``real_api``             the platform's address (sandbox accounts: :func:`api_base`)
    ``label``, ``endpoint``  the channel and its send endpoint as error messages name them
                             (never the URL: it may hold a key or a token)
    ``code_keys``, ``msg_keys``  where a reply keeps its result code and message
    ``errors``               the error table (the vendor module's ``ERRORS``)
    ``rate``                 the declared rate (see :func:`window_rate`)
    ``_format()``, ``_limits()``  the message format and each part's byte limit; every part
                             of an OA message is limited, so the parts are the limited ones
    ``_idempotency()``       NONE unless the platform drops a repeat by itself

    The sandbox is the one ``channels.oa.sandbox.SANDBOXES`` names for ``type_name``.
    """

    real_api: ClassVar[str]
    label: ClassVar[str]
    endpoint: ClassVar[str]
    code_keys: ClassVar[tuple[str, ...]] = ("errcode",)
    msg_keys: ClassVar[tuple[str, ...]] = ("errmsg",)
    errors: ClassVar[Mapping[int, Code]]
    rate: ClassVar[RateLimit]

    @classmethod
    def sandbox(cls) -> Any:
        """The stand-in API for sandbox accounts (``channels.oa.sandbox``)."""
        from channels.oa.sandbox import SANDBOXES

        return SANDBOXES[cls.type_name]().router

    @property
    def _api(self) -> str:
        return api_base(self.ctx, self.real_api, self.type_name)

    @abc.abstractmethod
    def _format(self) -> Format:
        """The format the templates write for this account."""

    @abc.abstractmethod
    def _limits(self) -> tuple[Limit, ...]:
        """The byte limit of each part, in the order of the parts."""

    def _idempotency(self) -> Idempotency:
        return Idempotency.NONE

    @property
    def capabilities(self) -> Capabilities:
        limits = self._limits()
        return Capabilities(
            formats=(self._format(),),
            parts=tuple(limit.part for limit in limits),
            limits=limits,
            rate_limit=self.rate,
            max_concurrency=self.options.max_concurrency,
            idempotency=self._idempotency(),
            links_to_copy=True,
        )

    async def _send(
        self, url: str, payload: Mapping[str, Any], params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """POST ``payload``: the reply when its code is 0, else the error ``errors`` names."""
        response = await post_json(self.ctx, url, payload, self.options.timeout, params)
        code, message, data = read_reply(response, self.endpoint, self.code_keys, self.msg_keys)
        if code != 0:
            raise_for_code(self.label, code, message, self.errors)
        return data


class RobotAdapter(OaAdapter[OptionsT]):
    """A group robot: one POST a notice, nothing in the reply to keep, nothing to ask later.

    A subclass gives the address (``_url``, and ``_params`` if the credential goes there) and
    the body (``_payload``, which ends with the link to the full text).
    """

    @abc.abstractmethod
    def _url(self) -> str:
        """The send address (may hold the credential and a signature: never shown)."""

    def _params(self) -> Mapping[str, str] | None:
        return None

    @abc.abstractmethod
    def _payload(self, post: OutgoingPost) -> dict[str, Any]:
        """The JSON body for ``post``."""

    async def publish(self, post: OutgoingPost) -> PublishResult:
        await self._send(self._url(), self._payload(post), self._params())
        return PublishResult(remote_id=None, detail={"link": portal_url(self.ctx, post.notice)})
