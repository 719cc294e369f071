"""Which notices a WeChat account pushes to its followers, and how much quota is left
(issue 11 part D).

Mass send (``message/mass/sendall``) is scarce: a verified subscription account (订阅号) has one
successful send a day, a service account (服务号) four a month per follower (reference §1.5
[S19][S23]). Spending the day's one send on an orange warning left the red one after it
without a push, so the account says which warnings are pushed:

* a kind outside ``mass_send_kinds`` (default: only weather warnings) is never pushed;
* a weather warning is pushed only if its colour is in ``mass_send_colors`` (default
  ["红色"]; an account opts in to orange by adding "橙色");
* a follow-up (update, lift, withdrawal: ``notice.follows``) is not pushed unless
  ``mass_send_followups``;
* and only while the day's (``mass_sends_per_day``) and the month's (``mass_sends_per_month``,
  if set) quota lasts. The counts are the books ``masssend.py`` keeps in ``ctx.tokens``:
  ``masssend:<Beijing date>`` and ``masssend-month:<YYYY-MM>``.

A notice that is not pushed is still published (``freepublish``); its ``PublishResult.note``
says why, in Chinese. ``publisher preview`` prints :func:`preview_lines`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.wechat.errors import CHINA
from channels.wechat.options import WechatOptions
from publisher.contract import TokenStore
from publisher.kinds import Kind

FOLLOWUP_REASON = (
    "按本账号设置，后续通知（更新、解除、撤回）不群发推送（mass_send_followups = false）"
)
NOT_PUSHED = "本条已发布但未推送给关注者"
DAY_QUOTA_NOTE = "今日群发次数已用完，本条已发布但未推送给关注者"
MONTH_QUOTA_NOTE = "本月群发次数已用完，本条已发布但未推送给关注者"


@dataclass(frozen=True)
class Decision:
    push: bool
    reason: str | None = None  # why not, when the notice is of a kind that is pushed

    @property
    def note(self) -> str | None:
        """What the sender is told after publishing without a push."""
        return f"{self.reason}，{NOT_PUSHED}" if self.reason else None


def decide(
    options: WechatOptions, kind: str, fields: Mapping[str, Any], follows: Any = None
) -> Decision:
    """Whether the account's policy pushes this notice to followers (quota aside)."""
    if not options.mass_send or kind not in options.mass_send_kinds:
        return Decision(False)
    if follows and not options.mass_send_followups:
        return Decision(False, FOLLOWUP_REASON)
    if kind == Kind.WEATHER_WARNING:
        colour = fields.get("color")
        if colour not in options.mass_send_colors:
            allowed = "、".join(options.mass_send_colors) or "任何颜色"
            which = f"{colour}预警" if isinstance(colour, str) and colour else "未注明颜色的预警"
            return Decision(
                False, f"按本账号设置只群发推送{allowed}预警（mass_send_colors），本条是{which}"
            )
    return Decision(True)


def day_key(now: datetime) -> str:
    return now.astimezone(CHINA).date().isoformat()


def month_key(now: datetime) -> str:
    return "masssend-month:" + now.astimezone(CHINA).strftime("%Y-%m")


async def read_book(tokens: TokenStore, account: str, name: str) -> dict[str, Any]:
    stored = await tokens.get(account, name)
    try:
        book = json.loads(stored[0]) if stored else {}
    except ValueError:
        book = {}
    return book if isinstance(book, dict) else {}


@dataclass(frozen=True)
class Quota:
    day_sent: int
    day_limit: int
    day_exhausted: bool  # WeChat said so (45028)
    month_sent: int
    month_limit: int | None

    @property
    def day_left(self) -> int:
        return 0 if self.day_exhausted else max(0, self.day_limit - self.day_sent)

    @property
    def month_left(self) -> int | None:
        return None if self.month_limit is None else max(0, self.month_limit - self.month_sent)

    @property
    def spent(self) -> str | None:
        """The note for a notice not pushed because the quota is used, or None."""
        if self.day_left == 0:
            return DAY_QUOTA_NOTE
        if self.month_left == 0:
            return MONTH_QUOTA_NOTE
        return None


async def quota(tokens: TokenStore, account: str, options: WechatOptions, now: datetime) -> Quota:
    day = await read_book(tokens, account, f"masssend:{day_key(now)}")
    month = await read_book(tokens, account, month_key(now))
    return Quota(
        day_sent=int(day.get("sent", 0)),
        day_limit=options.mass_sends_per_day,
        day_exhausted=bool(day.get("exhausted")),
        month_sent=int(month.get("sent", 0)),
        month_limit=options.mass_sends_per_month,
    )


def preview_lines(decision: Decision, options: WechatOptions, left: Quota | None) -> list[str]:
    """What ``publisher preview`` says about pushing this notice (Chinese lines)."""
    if not options.mass_send:
        lines = ["群发推送：本账号未开启群发（mass_send = false），只发布不推送"]
    elif decision.push:
        lines = ["群发推送：会推送给关注者"]
    elif decision.reason:
        lines = [f"群发推送：不推送（{decision.reason}），只发布"]
    else:
        lines = ["群发推送：此类通知不群发（mass_send_kinds），只发布不推送"]
    if left is None:
        lines.append("群发配额：无法读取（数据库不存在或不可用）")
        return lines
    if left.day_exhausted:
        lines.append(f"今日群发配额：已用完（微信已提示无配额），共 {left.day_limit} 次")
    else:
        lines.append(f"今日群发配额：剩余 {left.day_left} 次（共 {left.day_limit} 次）")
    if left.month_limit is not None:
        lines.append(f"本月群发配额：剩余 {left.month_left} 次（共 {left.month_limit} 次）")
    if decision.push and left.spent:
        lines.append("群发配额已用完：本条将发布，但不会推送给关注者")
    return lines
