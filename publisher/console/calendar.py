"""日程与时限: a month of scheduled posts (from each schedule's cron) and obligations' due
dates (in working days, from ``publisher.obligations``), with every overdue obligation first,
in red. Nothing here decides anything: it shows what the schedules and obligations say."""

from __future__ import annotations

import calendar as months
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from publisher.console.pages import guard, page
from publisher.errors import PublisherError
from publisher.obligations.status import current, due_in
from publisher.schedules.runner import ScheduleRunner

router = APIRouter(include_in_schema=False)
STATES = {
    "met": "已按时完成",
    "met_late": "逾期后完成",
    "pending": "待完成",
    "due_today": "今天到期",
    "overdue": "已逾期",
    "unknown": "无法计算",
}
WEEKDAYS = "一二三四五六日"


def _month(value: str | None, today: date) -> date:
    try:
        year, month = (int(p) for p in (value or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


@router.get("/calendar")
async def month_view(request: Request) -> Response:
    session = await guard(request, "calendar")
    rt = request.app.state.runtime
    zone = rt.settings.zone
    today = rt.clock.now().astimezone(zone).date()
    first = _month(request.query_params.get("month"), today)
    last = first.replace(day=months.monthrange(first.year, first.month)[1])
    days: dict[date, list[dict[str, Any]]] = {}
    problems: list[str] = []
    runner = ScheduleRunner(rt.settings, rt.store, rt.intake, rt.clock, "console")
    schedules, bad = await runner.schedules()
    problems += bad
    start = datetime.combine(first, time(), zone) - timedelta(seconds=1)
    end = datetime.combine(last + timedelta(days=1), time(), zone)
    for s in schedules:
        for at in runner.fire_times(s, start, end)[:62]:
            local = at.astimezone(zone)
            days.setdefault(local.date(), []).append(
                {
                    "type": "schedule",
                    "time": local.strftime("%H:%M"),
                    "title": s.name,
                    "state": "scheduled" if s.enabled else "disabled",
                }
            )
    overdue: list[Any] = []
    try:
        for row in await due_in(rt.store, rt.settings, first, last, today, strict=False):
            if row.due is not None:
                days.setdefault(row.due, []).append(
                    {
                        "type": "obligation",
                        "title": row.spec.title,
                        "state": row.state,
                        "department": row.spec.department,
                        "period": row.period_label,
                        "late": row.days_late,
                    }
                )
        overdue = [
            r
            for r in await current(rt.store, rt.settings, today, strict=False)
            if r.state == "overdue"
        ]
    except PublisherError as exc:
        problems.append(str(exc))
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    return page(
        request,
        "calendar.html",
        session,
        title=f"日程与时限（{first.year}年{first.month}月）",
        days=sorted(days.items()),
        overdue=overdue,
        problems=problems,
        states=STATES,
        weekdays=WEEKDAYS,
        today=today,
        previous=previous.strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
    )
