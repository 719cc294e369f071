"""渠道状态, per account: what ``doctor`` says (issue 15 §10). The breaker as the worker keeps
it, WeChat's mass-send quota left today and this month, how reach collection is going (a
failing account in red, never silent), and the freshness watchdog (days since the last post,
正常 / 已提醒 / 告警). Every read is small: one row per account, never a scan of notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from publisher.metrics.health import doctor_lines
from publisher.obligations import freshness
from publisher.store import StoreTokens
from publisher.store.obligations import LastPost
from publisher.store.records import AccountState, Breaker


def _breaker(state: AccountState | None, now: datetime, zone: Any) -> dict[str, Any]:
    """(text, bad?) for an account's breaker; no row yet means it never failed."""
    if state is None or (state.breaker == Breaker.CLOSED and not state.failures):
        return {"text": "正常（未熔断）", "bad": False, "error": None}
    if state.breaker == Breaker.OPEN:
        until = state.open_until.astimezone(zone).strftime("%H:%M") if state.open_until else "—"
        text = f"已熔断：连续失败 {state.failures} 次，{until} 前暂停发送"
        if state.open_until is not None and state.open_until <= now:
            text = f"已熔断：连续失败 {state.failures} 次，冷却已过，下次发送时试探"
        return {"text": text, "bad": True, "error": state.last_error}
    if state.breaker == Breaker.HALF_OPEN:
        return {"text": "试探中：一条发布正在验证渠道是否恢复", "bad": True, "error": None}
    return {
        "text": f"正常，最近连续失败 {state.failures} 次",
        "bad": False,
        "error": state.last_error,
    }


async def _quota(store: Any, name: str, options: Any, now: datetime) -> str | None:
    """WeChat mass-send quota left, or None for accounts that do not mass-send."""
    from channels.wechat.options import WechatOptions
    from channels.wechat.policy import quota

    if not isinstance(options, WechatOptions):
        return None
    if not options.mass_send:
        return "未开启群发"
    left = await quota(StoreTokens(store), name, options, now)
    if left.day_exhausted:
        text = f"今日已用完（共 {left.day_limit} 次）"
    else:
        text = f"今日剩余 {left.day_left} / {left.day_limit} 次"
    if left.month_limit is not None:
        text += f"；本月剩余 {left.month_left} / {left.month_limit} 次"
    return text


async def account_health(
    rt: Any, last_posts: dict[str, datetime | None]
) -> dict[str, dict[str, Any]]:
    """Per account name: breaker, quota, reach collection and freshness, for the page.
    ``last_posts``: each account's newest post (one indexed read each, made by the page):
    the watchdog's rule applied to it, not its scan of every kind and category."""
    now = rt.clock.now()
    zone = rt.settings.zone
    states = {s.account: s for s in await rt.store.account_states()}
    collecting = [a.name for a in rt.channels if a.capabilities.metrics]
    reach: dict[str, tuple[bool, str]] = {}
    if collecting:
        lines = await doctor_lines(rt.store, collecting, now, zone)
        for name, (fine, line) in zip(collecting, lines, strict=True):
            reach[name] = (fine, line.split(": ", 1)[-1])
    today = now.astimezone(zone).date()
    posts = [
        LastPost(account.name, account.type_name, "", at)
        for account in rt.channels
        if (at := last_posts.get(account.name)) is not None
    ]
    watches = freshness.watch(rt.settings, posts, today)
    fresh = {w.name: w for w in watches if w.target == "account"}
    out: dict[str, dict[str, Any]] = {}
    for account in rt.channels:
        name = account.name
        watch = fresh.get(name)
        fine, said = reach.get(name, (True, "不采集"))
        out[name] = {
            "breaker": _breaker(states.get(name), now, zone),
            "quota": await _quota(rt.store, name, account.adapter.options, now),
            "reach": {"fine": fine, "text": said},
            "days": watch.days if watch else None,  # calendar days, as the watchdog counts
            "fresh": {
                "state": watch.state if watch else "off",
                "label": freshness.STATE_LABELS[watch.state if watch else "off"],
                "alarm_at": watch.thresholds[-1] if watch and watch.thresholds else None,
            },
        }
    return out
