"""Weibo's error codes as data, and the one function that turns a code into our error tree.

Error bodies look like ``{"request": "/2/statuses/share.json", "error_code": "20019",
"error": "repeat content!"}`` (the code may be a string or a number) [S40][S45]. The class
decides what the worker does; the platform's own ``error`` text is always kept in the message
so the sender sees why Weibo refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from publisher.errors import (
    ChannelError,
    CredentialsInvalid,
    Duplicate,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)

# The access token is expired, revoked or unknown [S42][S43][S45]. Weibo gives server-side
# apps no refresh token (reference 2.1), so nothing automatic can help: a person has to
# authorise the app again. 21332 (invalid_access_token) is UNCERTAIN in the reference but
# harmless to include.
TOKEN_INVALID_CODES = frozenset({21301, 21315, 21316, 21317, 21327, 21332})

# Weibo refuses a status it already has [S45]. Every status we send carries the notice's own
# portal link, so "already have it" means this notice was posted by an earlier attempt.
DUPLICATE_CODES = frozenset({20017, 20019, 20111})

# How long to wait after a rate-limit refusal, in seconds. 10023 (the user's hourly quota)
# and 20016 (posting too often; posts are capped at 30 per user-hour, reference 2.4) count in
# hour windows whose reset time Weibo does not tell: nothing passes before the hour rolls
# over, so wait a whole window rather than burn attempts. 10022 (per-IP) and 10024 (one API
# for one user) are shared or adaptive quotas ("actual numbers are adaptive per app
# quality", S48) that often free up sooner: probe again after ten minutes.
RATE_LIMIT_WAIT: Mapping[int, float] = MappingProxyType(
    {10022: 600.0, 10023: 3600.0, 10024: 600.0, 20016: 3600.0}
)

POSTED_BUT_SLOW = 20032  # "posted, server slow - wait 1-2 min" [S45]


@dataclass(frozen=True)
class Code:
    meaning: str
    error: type[ChannelError]


def _codes() -> dict[int, Code]:
    table = {
        10001: Code("system error", TransientError),
        10002: Code("service unavailable", TransientError),
        10003: Code("remote service error", TransientError),
        10006: Code("source (appkey) missing", CredentialsInvalid),
        10008: Code("param error", PermanentError),
        10014: Code("insufficient app permissions", PermanentError),
        10016: Code("missing required parameter", PermanentError),
        10017: Code("parameter value invalid", PermanentError),
        10018: Code("request body length over limit", PermanentError),
        10020: Code("api not found", PermanentError),
        10021: Code("HTTP method not supported", PermanentError),
        10022: Code("IP requests out of rate limit", RateLimited),
        10023: Code("user requests out of rate limit", RateLimited),
        10024: Code("user requests for this API out of rate limit", RateLimited),
        20003: Code("user does not exist", PermanentError),
        20008: Code("content is null", PermanentError),
        20012: Code("text too long (over 140)", PermanentError),
        20013: Code("text too long (over 300)", PermanentError),
        20015: Code("account, IP or app is illegal", PermanentError),
        20016: Code("posting too frequently", RateLimited),
        20017: Code("repeated content (similar)", Duplicate),
        20018: Code("contains an illegal website", PermanentError),
        20019: Code("repeated content (identical)", Duplicate),
        20020: Code("contains advertising", PermanentError),
        20021: Code("contains illegal content", PermanentError),
        POSTED_BUT_SLOW: Code("posted, the server is slow", OutcomeUnknown),
        20101: Code("the weibo does not exist", PermanentError),
        20111: Code("repeated weibo text", Duplicate),
        21301: Code("auth failed", CredentialsInvalid),
        21315: Code("token expired", CredentialsInvalid),
        21316: Code("token revoked", CredentialsInvalid),
        21317: Code("token rejected", CredentialsInvalid),
        21321: Code("unaudited app over its user limit", PermanentError),
        21327: Code("expired_token", CredentialsInvalid),
        21332: Code("invalid_access_token", CredentialsInvalid),
    }
    assert all(table[c].error is CredentialsInvalid for c in TOKEN_INVALID_CODES)
    assert all(table[c].error is Duplicate for c in DUPLICATE_CODES)
    assert all(table[c].error is RateLimited for c in RATE_LIMIT_WAIT)
    return table


ERROR_CODES: Mapping[int, Code] = MappingProxyType(_codes())

REAUTHORISE = (
    "Weibo gives server apps no refresh token: authorise the app again "
    "(oauth2/authorize, then oauth2/access_token) and set the account's access_token"
)


def weibo_error(raw_code: object, text: str) -> ChannelError:
    """The error to raise for a Weibo ``error_code`` and its ``error`` text."""
    try:
        code = int(str(raw_code).strip())
    except ValueError:
        return PermanentError(f"Weibo refused: {text or raw_code} (error code {raw_code!r})")
    known = ERROR_CODES.get(code)
    said = text or "(no reason given)"
    if known is None:
        return PermanentError(f"Weibo refused with unknown error {code}: {said}", code=code)
    what = f"{code} {known.meaning}: {said}"
    if known.error is Duplicate:
        return Duplicate(
            f"Weibo already has this status ({what}); it carries this notice's own portal "
            "link, so an earlier attempt posted it. Its post id is not recorded: looking "
            "posts up (statuses/user_timeline) is outside the API this adapter uses",
            code=code,
        )
    if known.error is RateLimited:
        wait = RATE_LIMIT_WAIT[code]
        return RateLimited(
            f"Weibo rate limit ({what}); trying again in {wait / 60:.0f} min",
            retry_after=wait,
            code=code,
        )
    if known.error is CredentialsInvalid:
        return CredentialsInvalid(
            f"Weibo refused the access token ({what}). {REAUTHORISE}", code=code
        )
    if known.error is OutcomeUnknown:
        return OutcomeUnknown(
            f"Weibo accepted the status but has not finished publishing it ({what}); "
            "look at the account before retrying",
            code=code,
        )
    if known.error is TransientError:
        return TransientError(f"Weibo is having trouble ({what})", code=code)
    return PermanentError(f"Weibo refused: {said} ({code} {known.meaning})", code=code)
