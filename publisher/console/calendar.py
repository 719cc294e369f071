"""日程与时限: a month of scheduled posts (from each schedule's cron) and obligations' due
dates (in working days, from ``publisher.obligations``), with every overdue obligation first,
in red; ``?department=`` shows one department's duties, and the month's "who was late"
table (the 通报 summary of ``publisher.obligations.summary``) closes the page. Nothing here
decides anything: it shows what the schedules and obligations say."""

from __future__ import annotations

import calendar as months
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from publisher.console.pages import guard, page
from publisher.errors import PublisherError
from publisher.obligations.status import current, due_in, load
from publisher.obligations.summary import Department
from publisher.schedules.runner import ScheduleRunner, describe
from publisher.schedules.views import TROUBLE

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
    # what became of the month's fires so far (run-now ones too): 缺少数据文件 in red
    fired = {
        (f.schedule, f.fire_time): f
        for f in await rt.store.schedule_fires(since=start, limit=2000)
        if f.fire_time < end
    }
    for s in schedules:
        times = set(runner.fire_times(s, start, end)[:62])
        times |= {at for name, at in fired if name == s.name}
        for at in sorted(times):
            local = at.astimezone(zone)
            record = fired.get((s.name, at))
            days.setdefault(local.date(), []).append(
                {
                    "type": "schedule",
                    "time": local.strftime("%H:%M"),
                    "title": s.name,
                    "state": "scheduled" if s.enabled else "disabled",
                    "outcome": record.outcome if record else None,
                    "said": describe(record) if record else None,
                }
            )
    wanted = (request.query_params.get("department") or "").strip()[:100]
    overdue: list[Any] = []
    departments: set[str] = set()
    summary: dict[str, Department] = {}
    try:
        departments = {o.spec.department for o in await load(rt.store, rt.settings, strict=False)}
        for row in await due_in(rt.store, rt.settings, first, last, today, strict=False):
            departments.add(row.spec.department)
            if wanted and row.spec.department != wanted:
                continue
            summary.setdefault(row.spec.department, Department(row.spec.department)).add(row)
            if row.due is not None:
                days.setdefault(row.due, []).append(
                    {
                        "type": "obligation",
                        "title": row.spec.title,
                        "state": row.state,
                        "department": row.spec.department,
                        "responsible": "、".join(row.spec.responsible),
                        "period": row.period_label,
                        "late": row.days_late,
                    }
                )
        for r in await current(rt.store, rt.settings, today, strict=False):
            departments.add(r.spec.department)
            if r.state == "overdue" and (not wanted or r.spec.department == wanted):
                overdue.append(r)
    except PublisherError as exc:
        problems.append(str(exc))
    for entries in days.values():
        # overdue first within each day, then by time
        entries.sort(key=lambda e: (e["state"] != "overdue", e.get("time", "")))
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
        trouble=TROUBLE,
        today=today,
        previous=previous.strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
        month=first.strftime("%Y-%m"),
        department=wanted,
        departments=sorted(departments),
        summary=sorted(summary.values(), key=lambda d: (-(d.late + d.missing), d.name)),
    )
