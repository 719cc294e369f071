"""Reminders over OA (``publisher.notify.tell``), each sent once.

For an obligation not yet met: the responsible person ``obligations_remind_days`` working days
before the due date and on the day; once it is a working day late, the department head; once
it is ``obligations_leader_after`` working days late, the leader. Every attempt is recorded
(``obligation_reminders``): a sent reminder is never sent again, a failed one is tried again at
the next run and is listed by ``doctor`` until then. Occurrences due before the obligation
was recorded (a fresh install's past periods) are listed as overdue but never chased.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from publisher.errors import ChannelError, UnknownHolidayYear
from publisher.notify import NobodyToTell, tell
from publisher.obligations import status as status_mod
from publisher.obligations import workdays
from publisher.obligations.status import Status
from publisher.registry import Account
from publisher.settings import Settings
from publisher.store import Store

log = logging.getLogger("publisher.obligations")


@dataclass(frozen=True)
class Attempt:
    subject: str
    period: str
    step: str
    recipients: tuple[str, ...]
    error: str | None


async def send_once(
    store: Store,
    accounts: Iterable[Account],
    subject: str,
    period: str,
    step: str,
    recipients: Sequence[str],
    title: str,
    text: str,
    url: str | None,
) -> Attempt | None:
    """Send unless already sent (or nobody to tell); record the attempt either way."""
    people = tuple(dict.fromkeys(recipients))
    if not people:
        return None
    done = await store.get_reminder(subject, period, step)
    if done is not None and done.status == "sent":
        return None
    error: str | None = None
    try:
        await tell(accounts, people, title, text, url=url, key=f"{subject}|{period}|{step}")
    except (ChannelError, NobodyToTell) as exc:
        error = str(exc)[:500] or type(exc).__name__
    except Exception as exc:  # one bad message must not stop the others
        log.exception("reminder %s %s %s failed", subject, period, step)
        error = f"{type(exc).__name__}: {exc}"[:500]
    await store.record_reminder(subject, period, step, people, error)
    return Attempt(subject, period, step, people, error)


def _names(settings: Settings, accounts: Sequence[str]) -> str:
    return "、".join(str(settings.accounts.get(a, {}).get("display_name") or a) for a in accounts)


def _day(d: date) -> str:
    return f"{d.month}月{d.day}日（{workdays.weekday_name(d)}）"


def steps(row: Status, today: date, settings: Settings) -> list[tuple[str, list[str], str, str]]:
    """(step, recipients, title, text) due for ``row`` today."""
    if row.due is None or row.state not in ("pending", "due_today", "overdue"):
        return []
    s, due = row.spec, row.due
    what = f"{row.period_label}「{s.title}」" if s.every != "notice" else f"「{row.period_label}」"
    where = _names(settings, row.channels)
    found: list[tuple[str, list[str], str, str]] = []
    if row.state == "pending" and settings.obligations_remind_days:
        try:
            start = workdays.add_working_days(due, -settings.obligations_remind_days)
            left = workdays.working_days_between(today, due)
        except UnknownHolidayYear:
            start, left = due, 0
        if start <= today:
            text = (
                f"{what}应于 {_day(due)} 前在 {where} 发布，还有 {left} 个工作日。"
                f"责任科室：{s.department}。"
            )
            found.append(("before", list(s.responsible), f"信息公开提醒：{s.title}", text))
    if row.state == "due_today":
        text = f"{what}今天（{_day(due)}）到期，尚未在 {where} 全部发布。责任科室：{s.department}。"
        found.append(("due", list(s.responsible), f"今日到期：{s.title}", text))
    late = row.days_late or 0
    if row.state == "overdue" and late >= 1:
        text = (
            f"{s.department}：{what}已逾期 {late} 个工作日（应于 {_day(due)} 前发布），"
            f"尚未在 {where} 全部发布。"
        )
        found.append(("head", list(s.head), f"已逾期：{s.title}", text))
        if late >= settings.obligations_leader_after:
            over = settings.obligations_leader_after
            found.append(("leader", list(s.leader), f"逾期超过 {over} 个工作日：{s.title}", text))
    return found


async def remind(
    store: Store, accounts: Iterable[Account], settings: Settings, today: date
) -> list[Attempt]:
    """Send what is due today and not sent yet; returns the attempts made."""
    accounts = list(accounts)
    attempts: list[Attempt] = []
    url = f"{settings.public_base_url}/api/obligations"
    loaded = await status_mod.load(store, settings, strict=False)
    owed_from = {o.name: o.created for o in loaded}
    for row in await status_mod.current(store, settings, today, loaded):
        if row.due is not None and row.due < owed_from[row.name]:
            continue  # due before the obligation was recorded: listed, never chased
        for step, people, title, text in steps(row, today, settings):
            attempt = await send_once(
                store,
                accounts,
                f"obligation:{row.name}",
                row.period,
                step,
                people,
                title,
                text,
                url,
            )
            if attempt is not None:
                attempts.append(attempt)
    return attempts
