"""The words people read for states, events, reach and times (zh-CN).

Stored values and the JSON API keep the English codes (``posted``, ``needs_review``); these are
what the CLI's text output (and later the web console) shows instead. A code without a label
is shown as it is, so a new state is never hidden.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

STATUS = {
    # a delivery
    "pending": "待发送",
    "leased": "已领取",
    "sending": "发送中",
    "confirming": "待确认",
    "posted": "已发布",
    "retry_wait": "等待重试",
    "failed": "失败",
    "needs_review": "待人工核查",
    "cancelled": "已取消",
    # a notice, derived from its deliveries
    "empty": "无投递",
    "queued": "排队中",
    "partial": "部分发布",
    # review chain (publisher/review)
    "awaiting_review": "待审核",
    "rejected": "已驳回",
    "approved": "已审核",
}

ACTION = {
    "submitted": "提交",
    "queued": "入队",
    "claimed": "领取",
    "sending": "发送",
    "reconcile": "核对",
    "reconciled": "核对后确认已发布",
    "posted": "已发布",
    "confirming": "等待渠道确认",
    "confirm_retry": "稍后再确认",
    "retry": "重试",
    "rate_limited": "限流等待",
    "unknown_outcome": "结果未知",
    "failed": "失败",
    "needs_review": "转人工核查",
    "cancelled": "取消",
    "breaker_open": "熔断暂停",
    "recovered": "恢复",
    # issue 11: the original's event when a follow-up is made
    "updates": "被更新",
    "lifts": "被解除",
    "withdraws": "被撤回",
    # review chain (publisher/review)
    "awaiting_review": "送审",
    "approved": "审核通过",
    "rejected": "驳回",
    "revised": "修改后重新送审",
    "released": "签发放行",
}

METRIC = {
    # reach, as channels report it (``Capabilities.metrics``)
    "reads": "阅读",
    "views": "浏览",
    "likes": "点赞",
    "reposts": "转发",
    "comments": "评论",
    "shares": "分享",
    "clicks": "点击",
}


def status(code: str | None) -> str:
    """``已发布(posted)``: the word, with the code that ``--status`` and the API use."""
    if not code:
        return ""
    word = STATUS.get(code)
    return f"{word}({code})" if word else code


def action(code: str) -> str:
    return ACTION.get(code, code)


def metric(code: str) -> str:
    """``阅读``: the word for a reach figure's code (``reads``)."""
    return METRIC.get(code, code)


def when(value: str | datetime | None, zone: tzinfo) -> str:
    """An instant as a person in ``zone`` reads it: ``2026-11-27 10:09:16``."""
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
