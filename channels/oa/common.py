"""What the OA adapters share: the portal link, reply parsing, error tables, signing, rates.

Every OA message carries a link to the full text. Parts are rendered (and fitted to the
channel's limits) at submit, before the notice has an id, so the adapter appends the link at
publish time; each adapter's byte limit for the body is the channel's limit minus the room
the link needs (:func:`link_reserve`). A truncated body therefore never loses its link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx
from pydantic import Field

from publisher.contract import (
    AccountContext,
    AccountOptions,
    Limit,
    NoticeView,
    Overflow,
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
from publisher.http import raise_for_server_trouble, request

BYTES = "字节"
LINK_TEXT = "查看全文"
MAX_ID_DIGITS = 12  # room reserved for the notice id in the portal link
MAX_GIVEN_URL_BYTES = 256  # fields.portal_url longer than this falls back to the portal copy


class OaOptions(AccountOptions):
    """Options every OA account has.

    ``api_base``: where the platform's API is. Unset, a real account talks to the platform
    and a ``sandbox: true`` account to ``{base_url}/_sandbox/<type>`` — so a sandbox account
    never reaches the real platform by accident.
    """

    api_base: str | None = None
    timeout: float = Field(default=10.0, gt=0)


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
    return f"{ctx.base_url}/portal/notices/{notice.id}"


def longest_link(ctx: AccountContext) -> str:
    """A stand-in at least as long (in bytes) as any link :func:`portal_url` can return."""
    copy = f"{ctx.base_url}/portal/notices/{'9' * MAX_ID_DIGITS}"
    return copy + "x" * max(0, MAX_GIVEN_URL_BYTES - len(copy.encode("utf-8")))


def link_reserve(ctx: AccountContext, footer: str) -> int:
    """Bytes the link footer (``footer`` with ``{url}``) can take on top of the rendered body."""
    return int(count_utf8_bytes(footer.format(url=longest_link(ctx))))


def byte_limit(part: str, max_bytes: int, overflow: Overflow) -> Limit:
    return Limit(part, float(max_bytes), count_utf8_bytes, BYTES, overflow)


def window_rate(per_window: int, window: float, *, burst: int) -> RateLimit:
    """A RateLimit that never lets more than ``per_window`` posts through in any ``window``.

    The core enforces a RateLimit as a token bucket that starts full: ``count`` posts at once,
    then ``count / per_seconds`` a second. ``RateLimit(20, 60)`` would therefore allow 40 posts
    in the first minute. A burst ``b`` plus a refill ``r`` stays within ``n`` per window ``w``
    when ``b + r * w <= n``; this picks ``r = (n - b) / w``.
    """
    if not 0 < burst < per_window:
        raise ValueError("burst must be between 0 and per_window")
    rate = (per_window - burst) / window
    return RateLimit(burst, burst / rate)


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
        raise OutcomeUnknown(
            f"{where} answered HTTP {response.status_code} without a result code: {text}"
        )
    if response.status_code in (401, 403):
        raise CredentialsInvalid(
            f"{where} refused: HTTP {response.status_code}: {text}", code=response.status_code
        )
    raise PermanentError(f"{where}: HTTP {response.status_code}: {text}", code=response.status_code)


def raise_for_code(channel: str, code: int, message: str, table: Mapping[int, Code]) -> NoReturn:
    """Raise the error the table names for ``code``; an unknown code is permanent.

    The message keeps the channel's own words, so the user sees why the platform refused.
    """
    rule = table.get(code)
    text = f"{channel} {code}: {message or '(no message)'}"
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
