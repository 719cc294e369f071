"""The freshness watchdog: days since the last post of every channel account and portal
category, against thresholds (国办秘函〔2019〕19号: a government new-media account silent for
two weeks fails inspection; a portal's 动态/要闻 column likewise, a 通知公告 column after six
months).

Thresholds are lists of days, the last one the alarm: ``freshness_days`` (default 10, 12, 14:
remind the owner at day 10 and 12, alarm at 14), ``freshness_notice_days`` for the portal
categories named in ``freshness_notice_categories`` (default 160, 170, 180), and
``freshness_thresholds`` per account or category name (``[]``: not watched). States: ``ok``,
``reminded`` (a reminder threshold passed), ``alarm``, ``none`` (never posted: nothing to
count from), ``off``. Owners (``freshness_owners``) are reminded, the leaders
(``freshness_leaders``) and owners told of an alarm, each once per silence. The watchdog never
posts anything by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from publisher import kinds
from publisher.obligations.reminders import Attempt, send_once
from publisher.registry import Account
from publisher.settings import Settings
from publisher.store import Store
from publisher.store.obligations import LastPost

STATE_LABELS = {
    "ok": "正常",
    "reminded": "已提醒",
    "alarm": "告警",
    "none": "无发布记录",
    "off": "不监测",
}
PORTAL = "portal"


@dataclass(frozen=True)
class Watch:
    target: str  # account | category
    name: str
    label: str
    last_post: datetime | None
    days: int | None
    thresholds: tuple[int, ...]
    state: str

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "name": self.name,
            "label": self.label,
            "last_post": self.last_post.isoformat() if self.last_post else None,
            "days": self.days,
            "remind_at": list(self.thresholds[:-1]),
            "alarm_at": self.thresholds[-1] if self.thresholds else None,
            "state": self.state,
            "state_label": STATE_LABELS[self.state],
        }


def thresholds_for(settings: Settings, target: str, name: str) -> tuple[int, ...]:
    if name in settings.freshness_thresholds:
        return tuple(settings.freshness_thresholds[name])
    if target == "category" and name in settings.freshness_notice_categories:
        return tuple(settings.freshness_notice_days)
    return tuple(settings.freshness_days)


def _state(days: int | None, thresholds: Sequence[int]) -> str:
    if not thresholds:
        return "off"
    if days is None:
        return "none"
    if days >= thresholds[-1]:
        return "alarm"
    return "reminded" if days >= thresholds[0] else "ok"


def watch(settings: Settings, posts: Iterable[LastPost], today: date) -> list[Watch]:
    """Every account, then every portal category, with its days since the last post."""
    posts = list(posts)
    zone = settings.zone
    found: list[Watch] = []

    def one(target: str, name: str, label: str, times: list[datetime]) -> None:
        last = max(times) if times else None
        days = (today - last.astimezone(zone).date()).days if last else None
        limits = thresholds_for(settings, target, name)
        found.append(Watch(target, name, label, last, days, limits, _state(days, limits)))

    for name, raw in settings.accounts.items():
        label = f"渠道 {raw.get('display_name') or name}"
        one("account", name, label, [p.posted_at for p in posts if p.account == name])
    for spec in kinds.REGISTRY.values():
        label = f"门户栏目「{spec.label}」"
        times = [p.posted_at for p in posts if p.channel == PORTAL and p.kind == spec.kind.value]
        one("category", spec.category, label, times)
    return found


async def check(store: Store, settings: Settings, today: date) -> list[Watch]:
    return watch(settings, await store.last_posts(), today)


async def alert(
    store: Store, accounts: Iterable[Account], settings: Settings, today: date
) -> list[Attempt]:
    """Remind owners and tell leaders of alarms, once per threshold per silence."""
    accounts = list(accounts)
    attempts: list[Attempt] = []
    url = f"{settings.public_base_url}/api/freshness"
    for w in await check(store, settings, today):
        if w.state not in ("reminded", "alarm") or w.last_post is None or w.days is None:
            continue
        owners = settings.freshness_owners.get(w.name, [])
        last = w.last_post.astimezone(settings.zone).date()
        since = f"最后一次发布于 {last.month}月{last.day}日"
        alarm_at = w.thresholds[-1]
        if w.state == "alarm":
            step, people = "alarm", [*settings.freshness_leaders, *owners]
            title = f"告警：{w.label}已 {w.days} 天未更新"
            text = (
                f"{w.label}{since}，已 {w.days} 天未更新（{alarm_at} 天即告警，检查中判为不合格）。"
                "请安排发布实际工作内容；publisher 不会自动发布填充内容。"
            )
        else:
            crossed = max(t for t in w.thresholds[:-1] if w.days >= t)
            step, people = f"d{crossed}", list(owners)
            title = f"更新提醒：{w.label}已 {w.days} 天未更新"
            text = f"{w.label}{since}，已 {w.days} 天未更新，第 {alarm_at} 天将告警。"
        subject = f"freshness:{w.target}:{w.name}"
        attempt = await send_once(
            store, accounts, subject, w.last_post.isoformat(), step, people, title, text, url
        )
        if attempt is not None:
            attempts.append(attempt)
    return attempts
