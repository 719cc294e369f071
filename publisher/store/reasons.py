"""What the event log says, in Chinese: the ``reason`` of each transition the store writes.

Kept apart from the SQL so the words can be read, changed and tested in one place; the action
codes themselves (``claimed``, ``sending``, ...) stay English and are labelled by
:mod:`publisher.labels`.
"""

from __future__ import annotations

from datetime import datetime

from publisher import labels
from publisher.states import Status


def submitted(source: str) -> str:
    return f"来源 {source}"


def queued(not_before: datetime, priority: int, now: datetime) -> str:
    if not_before > now:
        return f"定时发布: {not_before.isoformat()}"
    return "紧急" if priority > 0 else "排队"


def attempt(number: int) -> str:
    return f"第 {number} 次尝试"


def claimed(before: str) -> str:
    """Why a claim took a delivery, from the state it was found in."""
    if before == Status.LEASED:
        return "上次领取已过期，尚未发送"
    if before == Status.SENDING:
        return "上次尝试结果未知，先核对再决定是否重发"
    return "已领取"


def breaker_open(account: str, failures: int, pause_seconds: float) -> str:
    return f"{account}: 连续失败 {failures} 次，暂停 {pause_seconds:.0f} 秒"


def leases_released(count: int, why: str) -> str:
    return f"释放了 {count} 个租约：{why}"


MANUAL_RETRY = "人工要求重试"
MANUAL_CANCEL = "人工取消"


def manual_refused(delivery_id: int, before: str, allowed: list[str], action: str) -> str:
    return (
        f"投递 #{delivery_id} 当前状态为 {before}，"
        f"只有 {'、'.join(sorted(allowed))} 状态的投递可以{labels.action(action)}"
    )


def changed_meanwhile(delivery_id: int) -> str:
    return f"投递 #{delivery_id} 刚刚被改动过，请重试"


def idempotency_conflict(key: str, notice_id: int) -> str:
    return f"idempotency_key {key!r} 已被通知 #{notice_id} 用过，且内容不同"


def no_notice(notice_id: int) -> str:
    return f"没有 id 为 {notice_id} 的通知"


def no_delivery(delivery_id: int) -> str:
    return f"没有 id 为 {delivery_id} 的投递"
