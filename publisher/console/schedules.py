"""计划管理 (``/calendar/schedules``): every recurring schedule with its next and last fire,
and, for those allowed to (``schedules_act`` in ``permissions.PAGES``: the roles of the
API's add/remove/run lines), adding one, removing one, running one now and uploading the
next fire's data file. The checks are the CLI's and the API's own
(``publisher.schedules.views.add/remove``, ``ScheduleRunner.run_now``,
``publisher.schedules.uploads``): bad input is one Chinese line in the page, HTTP 422, and
nothing stored. Every action is audited with source ``console``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from publisher.console.pages import audit, guard, guard_post, page
from publisher.console.session import Session
from publisher.documents import DocumentError, decode
from publisher.errors import InputError, NotFoundError, PublisherError
from publisher.schedules import uploads, views
from publisher.schedules.runner import ScheduleRunner, describe

router = APIRouter(include_in_schema=False)
PATH = "/calendar/schedules"
DONE = {"added": "已添加计划。", "removed": "已删除计划。"}
CRON_EXAMPLES = [
    ("0 9 1 * *", "每月 1 日 09:00"),
    ("30 8 * * 1-5", "周一至周五 08:30"),
    ("0 10 * * 1", "每周一 10:00"),
    ("0 9 5 1,4,7,10 *", "每季度首月 5 日 09:00"),
]
WEEKDAY_WORDS = {"0": "日", "1": "一", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六"}
WEEKDAY_WORDS["7"] = "日"


def cron_words(cron: str) -> str | None:
    """The common shapes of a 5-field cron in words; None for anything else."""
    fields = cron.split()
    if len(fields) != 5 or not all(f.isdigit() for f in fields[:2]):
        return None
    minute, hour, day, month, weekday = fields
    at = f"{int(hour):02d}:{int(minute):02d}"
    if day == "*" and month == "*" and weekday == "*":
        return f"每天 {at}"
    if day == "*" and month == "*" and weekday == "1-5":
        return f"周一至周五 {at}"
    if day == "*" and month == "*" and weekday in WEEKDAY_WORDS:
        return f"每周{WEEKDAY_WORDS[weekday]} {at}"
    if day.isdigit() and month == "*" and weekday == "*":
        return f"每月 {int(day)} 日 {at}"
    if day.isdigit() and month.isdigit() and weekday == "*":
        return f"每年 {int(month)} 月 {int(day)} 日 {at}"
    if day.isdigit() and weekday == "*" and all(m.isdigit() for m in month.split(",")):
        return f"每年 {'、'.join(str(int(m)) for m in month.split(','))} 月的 {int(day)} 日 {at}"
    return None


def _runner(request: Request, session: Session) -> ScheduleRunner:
    rt = request.app.state.runtime
    return ScheduleRunner(rt.settings, rt.store, rt.intake, rt.clock, f"console ({session.name})")


async def _audit(request: Request, session: Session, action: str, **detail: Any) -> None:
    await audit(request, session.name, action, **detail)


async def _page(
    request: Request,
    session: Session,
    *,
    error: str | None = None,
    message: str | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    runner = _runner(request, session)
    data = await views.listing(runner)
    for s in data["schedules"]:
        s["words"] = cron_words(s["cron"])
    done = DONE.get(request.query_params.get("ok", ""))
    return page(
        request,
        "schedules.html",
        session,
        title="定时发布计划",
        status_code=status,
        schedules=data["schedules"],
        problems=data["problems"],
        error=error,
        message=message or done,
        form=form or {},
        examples=CRON_EXAMPLES,
        inbox=str(runner.inbox),
    )


@router.get(PATH)
async def schedules_page(request: Request) -> Response:
    session = await guard(request, "calendar")
    return await _page(request, session)


def _text(form: Any, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


async def _read(form: Any, upload: UploadFile) -> bytes:
    """The uploaded file's bytes; the form's spooled files closed."""
    try:
        return await upload.read()
    finally:
        await form.close()


@router.post(PATH)
async def add_from_console(request: Request) -> Response:
    session, form = await guard_post(request, "schedules_act")
    kept = {k: _text(form, k) for k in ("name", "cron", "template", "data")}
    upload = form.get("template_file")
    label = "(控制台)"
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            raw = await _read(form, upload)
            label = f"(控制台上传 {upload.filename[:100]})"
        elif kept["template"].strip():
            raw = kept["template"].encode("utf-8")
        else:
            raise InputError("通知模板: 必填，请上传 JSON 文件或粘贴 JSON")
        try:
            template = decode(raw, "JSON")
        except DocumentError as exc:
            raise InputError(
                f"通知模板不是有效的 JSON: {exc.problem if exc.syntax else exc}"
            ) from None
        row = await views.add(
            _runner(request, session),
            kept["name"],
            kept["cron"],
            label,
            template,
            kept["data"].strip() or None,
            True,
            session.name,
        )
    except InputError as exc:
        return await _page(request, session, error=str(exc), form=kept, status=422)
    await _audit(request, session, "schedule.add", schedule=row.name, cron=row.cron)
    return RedirectResponse(f"{PATH}?ok=added", status_code=303)


@router.post(PATH + "/{name}/data")
async def upload_data(request: Request, name: str) -> Response:
    session, form = await guard_post(request, "schedules_act")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        await form.close()
        return await _page(request, session, error="请选择要上传的 CSV 或 XLSX 文件", status=422)
    fmt = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    try:
        done = await uploads.store_upload(
            _runner(request, session), name, fmt, await _read(form, upload)
        )
    except NotFoundError as exc:
        return await _page(request, session, error=str(exc), status=404)
    except InputError as exc:
        return await _page(request, session, error=str(exc), status=422)
    await _audit(request, session, "schedule.data", schedule=name, rows=done.rows)
    said = f"已上传计划 {name} 下次执行的数据文件（{done.rows} 行）。"
    return await _page(request, session, message=said, status=201)


@router.post(PATH + "/{name}/{action}")
async def act_on_schedule(request: Request, name: str, action: str) -> Response:
    session, _form = await guard_post(request, "schedules_act")
    runner = _runner(request, session)
    if action not in ("remove", "run"):
        return await _page(request, session, error=f"没有这个操作：{action[:20]}", status=404)
    try:
        if action == "remove":
            await views.remove(runner, name)
        else:
            done = await runner.run_now(name, session.name)
    except NotFoundError as exc:
        return await _page(request, session, error=str(exc), status=404)
    except PublisherError as exc:
        return await _page(request, session, error=str(exc), status=409)
    if action == "remove":
        await _audit(request, session, "schedule.remove", schedule=name)
        return RedirectResponse(f"{PATH}?ok=removed", status_code=303)
    await _audit(
        request,
        session,
        "schedule.run",
        notice_id=done.notice_id,
        schedule=name,
        outcome=done.outcome,
    )
    return await _page(request, session, message=f"已执行计划 {name}：{describe(done)}")
