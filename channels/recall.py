"""Withdrawals (撤回, issue 11): take the original post down where the platform can, else post
a correction. Shared by the adapters that can delete or recall (Weibo, WeChat, WeCom app).

A withdrawal reaches an adapter as an ordinary post whose ``notice.follows["relation"]`` is
``"withdraws"``; ``post.recall`` is this account's post of the original (or None). The adapter
asks :func:`target` whether to try: it answers the post to take down, or the reason it will
not (Chinese, for the sender). A recall that worked is reported by :func:`recalled`
(``remote_id`` of the removed post, ``detail {"recalled": true}``); a recall that could not
be done becomes the correction post (the follow-up templates' 【撤回】 text), whose
``PublishResult.note`` says why, through :func:`with_correction_note`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from publisher.contract import OutgoingPost, PostRef, PublishResult

OPTION_OFF = "本账号设置为不撤回原帖（recall = false）"
NO_ORIGINAL = "本账号没有原通知的发布记录"
NO_REMOTE_ID = "原帖没有平台返回的消息 ID，无法撤回"


def is_withdrawal(post: OutgoingPost) -> bool:
    follows = post.notice.follows
    return follows is not None and follows.get("relation") == "withdraws"


def target(post: OutgoingPost, allowed: bool) -> PostRef | str:
    """The post to take down, or why not (option off, no original post, no remote id)."""
    if not allowed:
        return OPTION_OFF
    ref = post.recall
    if ref is None:
        return NO_ORIGINAL
    if not ref.remote_id:
        return NO_REMOTE_ID
    return ref


def outside_window(ref: PostRef, now: datetime, window: timedelta, what: str) -> str | None:
    """Why ``ref`` can no longer be recalled (sent more than ``window`` ago), or None."""
    if ref.posted_at is None or now - ref.posted_at <= window:
        return None
    hours = window.total_seconds() / 3600
    return f"{what}只能在发送后 {hours:g} 小时内撤回，原消息已发送 {_age(now - ref.posted_at)}"


def refused(exc: Exception) -> str:
    return f"平台拒绝撤回：{exc}"


def recalled(ref: PostRef, what: str, **detail: object) -> PublishResult:
    """The result of a recall that worked: the removed post's id, ``{"recalled": true}``."""
    return PublishResult(
        remote_id=ref.remote_id,
        url=ref.url,
        detail={"recalled": True, **detail},
        note=f"已撤回原{what}",
    )


def with_correction_note(result: PublishResult, why: str) -> PublishResult:
    """The correction post's result, its note saying why the original stays up."""
    note = f"未撤回原帖（{why}），已改发撤回说明"
    detail = {**result.detail, "recalled": False, "correction": True}
    return replace(result, note=f"{note}；{result.note}" if result.note else note, detail=detail)


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} 天" if hours >= 48 else f"{hours:.1f} 小时"
