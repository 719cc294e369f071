"""``/api/schedules``: recurring schedules over the API (``publisher schedule ...``).

``POST /api/schedules`` takes the template itself (``notice``: the fields of a notice file);
``POST /api/schedules/{name}/data?format=csv|xlsx`` uploads the next fire's data file (the
body is the file). Bad input: 400 with one line, nothing stored.
"""

from __future__ import annotations

import socket
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from publisher.documents import DocumentError, decode
from publisher.errors import InputError, NotFoundError
from publisher.runtime import Runtime
from publisher.schedules import uploads, views
from publisher.schedules.runner import ScheduleRunner, describe
from publisher.web.auth import acting, audit, authorize

router = APIRouter(prefix="/api/schedules", tags=["schedules"], dependencies=[Depends(authorize)])
FIELDS = {"name", "cron", "notice", "notice_file", "data", "enabled"}


def _runner(request: Request) -> ScheduleRunner:
    rt: Runtime = request.app.state.runtime
    who = rt.worker.id if rt.worker is not None else f"api-{socket.gethostname()[:60]}"
    return ScheduleRunner(rt.settings, rt.store, rt.intake, rt.clock, who)


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


@router.get("")
async def list_schedules(request: Request) -> dict[str, Any]:
    """Every schedule: its next fire, its last fire and outcome, its recent misses."""
    return await views.listing(_runner(request))


@router.post("", status_code=201)
async def add_schedule(request: Request) -> JSONResponse:
    """Add a schedule: ``{"name", "cron", "notice": {template}, "data": glob?, "enabled"?}``."""
    runner = _runner(request)
    try:
        body = decode(await request.body(), "JSON")
    except DocumentError as exc:
        return _bad(f"请求体不是有效的 JSON: {exc.problem if exc.syntax else exc}")
    if not isinstance(body, dict):
        return _bad("请求体应为对象：name、cron、notice、data、enabled")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return _bad(f"{unknown[0]}: 未知字段，可用 {'、'.join(sorted(FIELDS))}")
    for key in ("name", "cron"):
        if not isinstance(body.get(key), str):
            return _bad(f"{key}: 必填，应为文本")
    if "notice" not in body:
        return _bad("notice: 必填，应为通知模板 (与通知文件相同的字段)")
    glob, enabled, label = body.get("data"), body.get("enabled", True), body.get("notice_file")
    if glob is not None and not isinstance(glob, str):
        return _bad("data: 应为文本 (收件箱内的文件模式)")
    if not isinstance(enabled, bool):
        return _bad("enabled: 应为 true 或 false")
    if label is not None and not isinstance(label, str):
        return _bad("notice_file: 应为文本")
    try:
        row = await views.add(
            runner,
            body["name"],
            body["cron"],
            label or "(API)",
            body["notice"],
            glob,
            enabled,
            acting(request),
        )
    except InputError as exc:
        return _bad(str(exc))
    await audit(request, "schedule.add", schedule=row.name, cron=row.cron)
    data = await views.listing(runner)
    added = next(s for s in data["schedules"] if s["name"] == row.name)
    return JSONResponse(added, status_code=201)


@router.delete("/{name}")
async def remove_schedule(request: Request, name: str) -> dict[str, Any]:
    """Remove a schedule added through the CLI or the API (its fires stay on record)."""
    await views.remove(_runner(request), name)
    await audit(request, "schedule.remove", schedule=name)
    return {"removed": name}


@router.post("/{name}/run")
async def run_schedule(request: Request, name: str) -> JSONResponse:
    """Fire the schedule now, once. 201 when a notice was submitted, 200 with the reason
    when nothing was posted (no data file, refused data)."""
    runner = _runner(request)
    done = await runner.run_now(name, acting(request))
    await audit(
        request, "schedule.run", notice_id=done.notice_id, schedule=name, outcome=done.outcome
    )
    body = {
        "schedule": name,
        "fire_time": done.fire_time.astimezone(runner.zone).isoformat(),
        "outcome": done.outcome,
        "detail": done.detail,
        "notice_id": done.notice_id,
        "data_file": done.data_file,
        "said": describe(done),
    }
    return JSONResponse(body, status_code=201 if done.notice_id is not None else 200)


@router.post("/{name}/data", status_code=201)
async def upload_schedule_data(
    request: Request,
    name: str,
    format: Annotated[str, Query(description="csv|xlsx")] = "csv",
) -> JSONResponse:
    """Upload the data file of the schedule's next fire (the body is the CSV or XLSX file);
    it replaces an upload not used yet. Checked now: a bad file is refused (400)."""
    runner = _runner(request)
    try:
        done = await uploads.store_upload(runner, name, format, await request.body())
    except NotFoundError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    except InputError as exc:
        return _bad(str(exc))
    await audit(request, "schedule.data", schedule=name, rows=done.rows)
    return JSONResponse({"schedule": name, "file": done.file, "rows": done.rows}, status_code=201)
