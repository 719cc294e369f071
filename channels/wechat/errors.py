"""WeChat Official Account error codes, as data, and how each maps onto our error tree.

WeChat answers HTTP 200 with ``{"errcode": N, "errmsg": "..."}`` for every failure [S1]; the
table below decides what the worker does next (the class), and adds a short Chinese hint for
the user next to WeChat's own ``errmsg``. Sources: reference §1.7 [S3][S11][S20][S24][S29],
§1.4 (freepublish), §1.5 (mass send), §1.6 (datacube [S28]).

A code missing from the table is kept as a :class:`PermanentError` naming the code: WeChat
refused, and retrying an unknown refusal blindly is how accounts get rate-limited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from publisher.errors import (
    AuthExpired,
    ChannelError,
    CredentialsInvalid,
    Duplicate,
    PermanentError,
    RateLimited,
    TransientError,
)

CHINA = ZoneInfo("Asia/Shanghai")  # WeChat's day (daily quotas, datacube dates)

#: The access token was rejected: refresh it once and retry (wechatpy's auto_retry set) [S20].
TOKEN_INVALID_CODES = frozenset({40001, 40014, 42001})

#: The account's own configuration is wrong: no retry helps, ``doctor`` must say which.
CREDENTIAL_CODES: Mapping[int, str] = {
    40001: "AppSecret 错误，或与 AppID 不匹配",  # only when fetching a token
    40002: "grant_type 不正确",
    40013: "AppID 无效，请核对公众号的开发者 ID",
    40125: "AppSecret 无效，请在公众平台重置后更新配置",
    40164: "本机出口 IP 不在公众号的 IP 白名单中",
    61004: "本机出口 IP 不在公众号的 IP 白名单中",
    40243: "AppSecret 已被冻结，请在公众平台解冻或重置",
    41002: "缺少 appid 参数",
    41004: "缺少 secret 参数",
}

#: Mass send: today's quota is used (1 a day for verified subscription accounts) [S19][S24].
NO_MASS_SEND_QUOTA = 45028
#: Mass send: a message with this clientmsgid was already sent (reply carries its msg_id) [S24].
CLIENTMSGID_EXISTS = 45065
#: draft/add: the cover (thumb_media_id) is not a permanent material of this account [S9].
INVALID_MEDIA_ID = 40007


@dataclass(frozen=True)
class Code:
    """How one WeChat error code is handled."""

    error: type[ChannelError]
    hint: str
    retry_after: float | None = None  # RateLimited only; None = until WeChat's next day


ERRORS: Mapping[int, Code] = {
    -1: Code(TransientError, "微信系统繁忙，稍后重试"),
    40001: Code(AuthExpired, "access_token 无效或不是最新"),
    40014: Code(AuthExpired, "access_token 不合法"),
    42001: Code(AuthExpired, "access_token 已过期"),
    40005: Code(PermanentError, "图片文件类型无效（仅支持 jpg/png）"),
    40007: Code(PermanentError, "media_id 无效（封面素材不存在或不属于本公众号）"),
    40009: Code(PermanentError, "图片大小超出限制"),
    41001: Code(PermanentError, "缺少 access_token 参数"),
    43002: Code(PermanentError, "接口需要 POST 请求"),
    44002: Code(PermanentError, "POST 数据为空"),
    45002: Code(PermanentError, "正文超过长度限制"),
    45003: Code(PermanentError, "标题超过长度限制"),
    45004: Code(PermanentError, "摘要超过长度限制"),
    45008: Code(PermanentError, "图文篇数超过限制"),
    45009: Code(RateLimited, "接口调用次数已达今日上限", retry_after=None),
    45011: Code(RateLimited, "接口调用太频繁，请下一分钟再试", retry_after=60.0),
    45028: Code(PermanentError, "今日群发次数已用完"),
    45065: Code(Duplicate, "相同 clientmsgid 的群发已存在"),
    45066: Code(RateLimited, "相同 clientmsgid 重试太快，请一分钟后再试", retry_after=60.0),
    45067: Code(PermanentError, "clientmsgid 过长（最多 64 字节）"),
    45103: Code(PermanentError, "该接口已下线（请使用草稿箱接口）"),
    45166: Code(PermanentError, "正文内容无效（含不支持的标签或链接）"),
    47001: Code(PermanentError, "请求数据格式错误"),
    47009: Code(PermanentError, "该统计接口已下线，请使用新版数据接口"),
    48001: Code(PermanentError, "公众号没有该接口权限（需认证或开通相应能力）"),
    48004: Code(PermanentError, "接口因违规被封禁，请登录公众平台查看"),
    53500: Code(PermanentError, "发布功能被封禁"),
    53501: Code(RateLimited, "频繁请求发布，请稍后再试", retry_after=60.0),
    53502: Code(PermanentError, "publish_id 无效"),
    53503: Code(PermanentError, "该草稿未通过发布检查"),
    53504: Code(PermanentError, "需前往公众平台官网使用该草稿"),
    53505: Code(PermanentError, "请手动保存草稿后再发表"),
    53600: Code(PermanentError, "article_id 无效"),
    61500: Code(PermanentError, "统计日期格式或范围错误"),
    61501: Code(PermanentError, "统计日期跨度超出限制"),
    61503: Code(TransientError, "统计数据尚未生成"),
}

#: ``freepublish/get`` ``publish_status`` values [S14][S21].
PUBLISH_STATUS: Mapping[int, str] = {
    0: "发布成功",
    1: "发布中",
    2: "原创声明失败",
    3: "常规失败",
    4: "平台审核不通过",
    5: "发布成功后用户删除了所有文章",
    6: "发布成功后系统封禁了所有文章",
}
PUBLISHED, PUBLISHING = 0, 1

#: ``message/mass/get`` ``msg_status`` values [S22].
MASS_STATUS: Mapping[str, str] = {
    "SEND_SUCCESS": "群发成功",
    "SENDING": "群发中",
    "SEND_FAIL": "群发失败（可能未在 30 分钟内确认“API 群发保护”）",
    "DELETE": "群发消息已被删除",
}


def seconds_to_next_day(now: datetime) -> float:
    """Daily quotas reset at midnight Beijing time."""
    local = now.astimezone(CHINA)
    tomorrow = (local + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return max(60.0, (tomorrow - local).total_seconds())


def error_for(
    data: Mapping[str, Any], now: datetime, *, fetching_token: bool = False
) -> ChannelError:
    """The error a WeChat reply with a non-zero ``errcode`` stands for."""
    code = int(data.get("errcode", 0))
    errmsg = str(data.get("errmsg", "")).strip() or "(no message)"
    if code in CREDENTIAL_CODES and (fetching_token or code not in ERRORS):
        return CredentialsInvalid(
            f"微信错误 {code}: {errmsg}（{CREDENTIAL_CODES[code]}）", code=code
        )
    known = ERRORS.get(code)
    if known is None:
        return PermanentError(f"微信错误 {code}: {errmsg}", code=code)
    message = f"微信错误 {code}: {errmsg}（{known.hint}）"
    if known.error is RateLimited:
        wait = known.retry_after
        if wait is None:
            # 45009 is the daily quota, but WeChat also words it "api freq out of limit".
            wait = 60.0 if "freq" in errmsg else seconds_to_next_day(now)
        return RateLimited(message, retry_after=wait, code=code)
    if known.error is Duplicate:
        msg_id = data.get("msg_id")
        return Duplicate(message, remote_id=None if msg_id is None else str(msg_id), code=code)
    return known.error(message, code=code)


def raise_for_errcode(
    data: Mapping[str, Any], now: datetime, *, fetching_token: bool = False
) -> None:
    """Raise the mapped error if ``data`` carries a non-zero ``errcode``."""
    code = data.get("errcode")
    if code in (None, 0, "0"):
        return
    raise error_for(data, now, fetching_token=fetching_token)
