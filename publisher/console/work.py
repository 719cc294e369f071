"""The duty pages: the 工作台 (home), the delivery monitor and one notice in full."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from publisher import kinds
from publisher.console.compose import field_inputs
from publisher.console.pages import STATUS_LABELS, audit, guard, guard_post, missing, page
from publisher.errors import NotFoundError, PublisherError
from publisher.lifecycle.present import links_json
from publisher.queue import manual
from publisher.review.desk import Desk, with_record
from publisher.serialize import notice_json
from publisher.states import CANCELLABLE, RETRYABLE, Status
from publisher.store.monitor import MonitorFilter

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
ATTENTION = (Status.FAILED, Status.NEEDS_REVIEW)


@router.get("/")
async def home(request: Request) -> Response:
    session = await guard(request, "home")
    store = request.app.state.runtime.store
    counts = await store.count_by_status()
    attention = []
    for status in ATTENTION:
        attention += await store.monitor_rows(MonitorFilter(status=status), limit=10)
    attention.sort(key=lambda r: r.delivery_id, reverse=True)
    recent = await store.monitor_rows(MonitorFilter(), limit=10)
    return page(
        request,
        "home.html",
        session,
        title="工作台",
        counts=[(s, STATUS_LABELS[s], counts.get(s, 0)) for s in STATUS_LABELS],
        attention=attention[:10],
        recent=recent,
    )


def _day(value: str | None, zone: Any, *, end: bool = False) -> datetime | None:
    """A date field of the filter form (YYYY-MM-DD) as the start of that day, or of the
    next day for an ``until`` (so the day itself is included); None when empty or malformed."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(), zone)


def _filters(request: Request) -> tuple[MonitorFilter, dict[str, str]]:
    q = request.query_params
    zone = request.app.state.settings.zone
    chosen = {k: q.get(k, "") for k in ("status", "account", "kind", "since", "until")}
    status = chosen["status"] if chosen["status"] in STATUS_LABELS else None
    kind = chosen["kind"] if chosen["kind"] in kinds.NAMES else None
    accounts = {a.name for a in request.app.state.runtime.channels}
    account = chosen["account"] if chosen["account"] in accounts else None
    before = q.get("before", "")
    where = MonitorFilter(
        status=status,
        account=account,
        kind=kind,
        since=_day(chosen["since"], zone),
        until=_day(chosen["until"], zone, end=True),
        before=int(before) if before.isdigit() else None,
    )
    return where, chosen


@router.get("/monitor")
async def monitor(request: Request) -> Response:
    session = await guard(request, "monitor")
    rt = request.app.state.runtime
    where, chosen = _filters(request)
    rows = await rt.store.monitor_rows(where, limit=PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    query = "&".join(f"{k}={v}" for k, v in chosen.items() if v)
    next_url = f"/monitor?{query}&before={rows[-1].delivery_id}" if more and rows else None
    template = "monitor_rows.html" if request.query_params.get("partial") else "monitor.html"
    return page(
        request,
        template,
        session,
        title="投递监控",
        rows=rows,
        chosen=chosen,
        next_url=next_url,
        first_page=where.before is None,
        statuses=list(STATUS_LABELS.items()),
        accounts=[(a.name, a.adapter.options.display_name or a.name) for a in rt.channels],
        kinds=[(k, kinds.label(k)) for k in kinds.NAMES],
        retryable={str(s) for s in RETRYABLE},
        cancellable={str(s) for s in CANCELLABLE},
    )


@router.get("/notices/{notice_id}")
async def notice_page(request: Request, notice_id: int) -> Response:
    session = await guard(request, "notice")
    store = request.app.state.runtime.store
    try:
        record = await store.get_notice(notice_id)
    except NotFoundError:
        return missing(request, session, f"通知 {notice_id}", "没有这条通知")
    metrics = await store.latest_metrics([d.id for d in record.deliveries])
    shown = notice_json(record, events=True, metrics=metrics)
    shown.update(links_json(await store.notice_links(notice_id)))  # what it follows, and after
    shown = await with_record(store, shown)  # drafted, reviewed, signed, released
    audit = await store.audit_entries(notice_id=notice_id, limit=200)
    review = await store.review_of(notice_id)
    rt = request.app.state.runtime
    detail = await Desk(store, rt.settings, rt.channels).describe(review) if review else None
    return page(
        request,
        "notice.html",
        session,
        title=record.title,
        notice=shown,
        record=record,
        audit=audit,
        review_detail=detail,
        field_labels={e["name"]: e["label"] for e in field_inputs(record.kind)},
        retryable={str(s) for s in RETRYABLE},
        cancellable={str(s) for s in CANCELLABLE},
    )


@router.post("/deliveries/{delivery_id}/{action}")
async def act_on_delivery(request: Request, delivery_id: int, action: str) -> Response:
    """Retry or cancel one delivery (the monitor's and the notice page's buttons)."""
    session, form = await guard_post(request, "deliveries_act")
    rt = request.app.state.runtime
    back = str(form.get("back") or "/monitor")
    back = back if back.startswith("/") and not back.startswith("//") else "/monitor"
    if action not in ("retry", "cancel"):
        return missing(request, session, action, "没有这个操作")
    try:
        if action == "retry":
            record = await manual.retry(
                rt.store, rt.channels, delivery_id, session.name, force=form.get("force") == "1"
            )
            if rt.worker is not None:
                rt.worker.wake()
        else:
            record = await rt.store.cancel(delivery_id, actor=session.name)
    except PublisherError as exc:
        return page(
            request,
            "refused.html",
            session,
            title="操作未完成",
            status_code=409,
            message=str(exc),
            back=back,
        )
    await audit(
        request,
        session.name,
        f"delivery.{action}",
        notice_id=record.notice_id,
        delivery_id=record.id,
    )
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done={action}", status_code=303)
