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
        10001: Code("系统错误", TransientError),
        10002: Code("服务不可用", TransientError),
        10003: Code("远程服务错误", TransientError),
        10006: Code("缺少 source (appkey)", CredentialsInvalid),
        10008: Code("参数错误", PermanentError),
        10014: Code("应用权限不足", PermanentError),
        10016: Code("缺少必选参数", PermanentError),
        10017: Code("参数值非法", PermanentError),
        10018: Code("请求长度超过限制", PermanentError),
        10020: Code("接口不存在", PermanentError),
        10021: Code("不支持的 HTTP 方法", PermanentError),
        10022: Code("IP 请求频次超过上限", RateLimited),
        10023: Code("用户请求频次超过上限", RateLimited),
        10024: Code("用户请求该接口的频次超过上限", RateLimited),
        20003: Code("用户不存在", PermanentError),
        20008: Code("内容为空", PermanentError),
        20012: Code("文字太长 (超过 140 字)", PermanentError),
        20013: Code("文字太长 (超过 300 字)", PermanentError),
        20015: Code("账号、IP 或应用非法", PermanentError),
        20016: Code("发布过于频繁", RateLimited),
        20017: Code("内容重复 (相似)", Duplicate),
        20018: Code("包含非法网址", PermanentError),
        20019: Code("内容重复 (相同)", Duplicate),
        20020: Code("包含广告信息", PermanentError),
        20021: Code("包含非法内容", PermanentError),
        POSTED_BUT_SLOW: Code("已发布，服务器响应慢", OutcomeUnknown),
        20101: Code("微博不存在", PermanentError),
        20111: Code("微博文字重复", Duplicate),
        21301: Code("认证失败", CredentialsInvalid),
        21315: Code("令牌已过期", CredentialsInvalid),
        21316: Code("令牌已被撤销", CredentialsInvalid),
        21317: Code("令牌不被接受", CredentialsInvalid),
        21321: Code("未审核应用的用户数超过上限", PermanentError),
        21327: Code("expired_token (令牌已过期)", CredentialsInvalid),
        21332: Code("invalid_access_token (令牌无效)", CredentialsInvalid),
    }
    assert all(table[c].error is CredentialsInvalid for c in TOKEN_INVALID_CODES)
    assert all(table[c].error is Duplicate for c in DUPLICATE_CODES)
    assert all(table[c].error is RateLimited for c in RATE_LIMIT_WAIT)
    return table


ERROR_CODES: Mapping[int, Code] = MappingProxyType(_codes())

REAUTHORISE = (
    "微博不给服务端应用 refresh token：请重新授权应用 "
    "(oauth2/authorize，再 oauth2/access_token)，并设置该账号的 access_token"
)


def weibo_error(raw_code: object, text: str) -> ChannelError:
    """The error to raise for a Weibo ``error_code`` and its ``error`` text."""
    try:
        code = int(str(raw_code).strip())
    except ValueError:
        return PermanentError(f"微博拒绝: {text or raw_code} (错误码 {raw_code!r})")
    known = ERROR_CODES.get(code)
    said = text or "(未说明原因)"
    if known is None:
        return PermanentError(f"微博拒绝，未知错误码 {code}: {said}", code=code)
    what = f"{code} {known.meaning}: {said}"
    if known.error is Duplicate:
        return Duplicate(
            f"微博已有这条内容 ({what})；它带有本通知自己的门户链接，说明之前的某次尝试已发出。"
            "未记录其微博 id：查询微博 (statuses/user_timeline) 不在本适配器使用的接口范围内",
            code=code,
        )
    if known.error is RateLimited:
        wait = RATE_LIMIT_WAIT[code]
        return RateLimited(
            f"微博频次限制 ({what})；{wait / 60:.0f} 分钟后重试",
            retry_after=wait,
            code=code,
        )
    if known.error is CredentialsInvalid:
        return CredentialsInvalid(f"微博拒绝了 access token ({what})。{REAUTHORISE}", code=code)
    if known.error is OutcomeUnknown:
        return OutcomeUnknown(
            f"微博已接收但尚未发布完成 ({what})；重试前请先查看账号",
            code=code,
        )
    if known.error is TransientError:
        return TransientError(f"微博暂时出错 ({what})", code=code)
    return PermanentError(f"微博拒绝: {said} ({code} {known.meaning})", code=code)
