"""预警: the warnings in force, a CAP message pasted or uploaded, and what a duty officer does
to a notice after it is out — update (更新), lift (解除, warnings) and withdraw (撤回, any kind).
Each follow-up is the lifecycle's own (``publisher.lifecycle``): a notice of its own, linked
to the original and delivered once on every channel the original reached."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from channels.portal.lifecycle import in_force_now
from publisher.cap.intake import take_in
from publisher.console.compose import evaluate, field_inputs, form_page, live_preview
from publisher.console.pages import audit, guard, guard_post, missing, page
from publisher.errors import NotFoundError, PublisherError
from publisher.lifecycle import Lifecycle

router = APIRouter(include_in_schema=False)
WARNING = "weather_warning"
MAX_CAP_BYTES = 1024 * 1024


def _refused(request: Request, session: Any, exc: PublisherError, back: str) -> Response:
    status = 404 if isinstance(exc, NotFoundError) else 409
    return page(
        request,
        "refused.html",
        session,
        title="操作未完成",
        status_code=status,
        message=str(exc),
        back=back,
    )


@router.get("/warnings")
async def warnings_board(request: Request) -> Response:
    session = await guard(request, "warnings")
    rt = request.app.state.runtime
    now, zone = rt.clock.now(), rt.settings.zone
    found = await rt.store.portal_notices(kinds=[WARNING], limit=50)
    in_force = [n for n in found if in_force_now(n, now, zone)]
    board = [
        {
            "id": n.id,
            "title": n.title,
            "color": n.fields.get("color"),
            "level": n.fields.get("level"),
            "area": "、".join(n.fields.get("area") or []),
            "until": n.valid_until(zone),
            "issued": n.issued_at(zone),
        }
        for n in in_force
    ]
    return page(request, "warnings.html", session, title="预警", board=board, error=None)


@router.post("/warnings/cap")
async def cap_in(request: Request) -> Response:
    session, form = await guard_post(request, "compose")
    rt = request.app.state.runtime
    raw = str(form.get("cap") or "").encode("utf-8")
    upload = form.get("cap_file")
    if upload is not None and not isinstance(upload, str):
        data = await upload.read(MAX_CAP_BYTES + 1)
        await upload.close()
        raw = data or raw
    if not raw.strip():
        return page(
            request,
            "refused.html",
            session,
            title="没有 CAP 内容",
            status_code=422,
            message="请粘贴 CAP 1.2 预警消息或上传 .xml 文件。",
            back="/warnings",
        )
    try:
        taken = await take_in(rt.intake, raw, via="console", actor=session.name)
    except PublisherError as exc:
        return page(
            request,
            "refused.html",
            session,
            title="CAP 未接收",
            status_code=422,
            message=str(exc),
            back="/warnings",
        )
    notice_id = taken.submitted.notice_id
    await audit(request, session.name, "warning.cap", notice_id=notice_id)
    if rt.worker is not None:
        rt.worker.wake()
    return RedirectResponse(f"/notices/{notice_id}?done=submitted", status_code=303)


async def _follow_up(request: Request, notice_id: int, relation: str) -> Response:
    """Lift (解除) or withdraw (撤回) ``notice_id`` with the form's reason."""
    session, form = await guard_post(request, "lifecycle_act")
    rt = request.app.state.runtime
    reason = str(form.get("reason") or "").strip() or None
    lifecycle = Lifecycle(rt.intake)
    act = lifecycle.lift if relation == "lift" else lifecycle.withdraw
    try:
        done = await act(notice_id, reason, source="console", actor=session.name)
    except PublisherError as exc:
        return _refused(request, session, exc, f"/notices/{notice_id}")
    await audit(
        request, session.name, f"notice.{relation}", notice_id=done.notice_id, follows=notice_id
    )
    if rt.worker is not None:
        rt.worker.wake()
    said = "lifted" if relation == "lift" else "withdrawn"
    return RedirectResponse(f"/notices/{done.notice_id}?done={said}", status_code=303)


@router.post("/notices/{notice_id}/lift")
async def lift(request: Request, notice_id: int) -> Response:
    return await _follow_up(request, notice_id, "lift")


@router.post("/notices/{notice_id}/withdraw")
async def withdraw(request: Request, notice_id: int) -> Response:
    return await _follow_up(request, notice_id, "withdraw")


def _moment_value(value: Any, zone: Any) -> str:
    """A stored ISO time as a datetime-local input shows it, in the bureau's zone."""
    try:
        return datetime.fromisoformat(str(value)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    except ValueError:
        return ""


@router.get("/notices/{notice_id}/update")
async def update_form(request: Request, notice_id: int) -> Response:
    session = await guard(request, "lifecycle_act")
    rt = request.app.state.runtime
    try:
        record = await rt.store.get_notice(notice_id)
    except NotFoundError:
        return missing(request, session, f"通知 {notice_id}", "没有这条通知")
    zone = rt.settings.zone
    values: dict[str, Any] = {
        "title": record.title,
        "body": record.body,
        "summary": record.summary or "",
    }
    for entry in field_inputs(record.kind):
        value = record.fields.get(entry["name"])
        if value is None:
            continue
        if entry["type"] == "lines":
            values[f"f_{entry['name']}"] = "\n".join(str(v) for v in value)
        elif entry["type"] == "datetime":
            values[f"f_{entry['name']}"] = _moment_value(value, zone)
        else:
            values[f"f_{entry['name']}"] = str(value)
    return form_page(
        request,
        session,
        record.kind,
        title=f"更新：{record.title}",
        values=values,
        action_url=f"/notices/{notice_id}/update",
    )


@router.post("/notices/{notice_id}/update/preview")
async def update_preview(request: Request, notice_id: int) -> Response:
    """The update form's live preview (console.js): the fragment alone, nothing submitted."""
    _, form = await guard_post(request, "lifecycle_act")
    try:
        record = await request.app.state.runtime.store.get_notice(notice_id)
    except NotFoundError:
        return Response("没有这条通知", status_code=404, media_type="text/plain; charset=utf-8")
    follows = {"relation": "updates", "notice_id": notice_id}
    return await live_preview(request, record.kind, form, follows)


@router.post("/notices/{notice_id}/update")
async def update(request: Request, notice_id: int) -> Response:
    session, form = await guard_post(request, "lifecycle_act")
    rt = request.app.state.runtime
    try:
        record = await rt.store.get_notice(notice_id)
    except NotFoundError:
        return missing(request, session, f"通知 {notice_id}", "没有这条通知")
    follows = {"relation": "updates", "notice_id": notice_id}
    notice, shown, values = await evaluate(request, record.kind, form, follows)
    if notice is not None and form.get("action") == "submit":
        try:
            done = await Lifecycle(rt.intake).update(
                notice_id, notice, source="console", actor=session.name
            )
        except PublisherError as exc:
            shown["errors"].append(str(exc))
        else:
            await audit(
                request, session.name, "notice.update", notice_id=done.notice_id, follows=notice_id
            )
            if rt.worker is not None:
                rt.worker.wake()
            return RedirectResponse(f"/notices/{done.notice_id}?done=updated", status_code=303)
    return form_page(
        request,
        session,
        record.kind,
        title=f"更新：{record.title}",
        values=values,
        shown=shown,
        action_url=f"/notices/{notice_id}/update",
    )
