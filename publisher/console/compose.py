"""撰写发布: one form per notice kind, a table from CSV/XLSX, the per-channel preview exactly
as ``publisher preview`` shows it, content-check findings and personal data in place, then
publish now, at a time, or (when review is configured) into the review queue."""

from __future__ import annotations

import json
import typing
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from publisher import kinds
from publisher.checks import check_notice
from publisher.console.pages import audit, fragment, guard, guard_post, missing, page
from publisher.errors import PersonalDataFound, PublisherError
from publisher.notice import NoticeInput, describe_validation_error
from publisher.previews import preview_items
from publisher.table_import import TableFileError, read_table

router = APIRouter(include_in_schema=False)
SKIPPED = {"cap", "attachments"}  # set by CAP intake / a list of objects: not a form field
MAX_TABLE_PREVIEW = 20


def _label(description: str | None, name: str) -> tuple[str, str]:
    """(label, hint) from a field's description: "预警级别 (红色 Ⅰ … 蓝色 Ⅳ)，须与颜色一致"
    gives ("预警级别", "红色 Ⅰ … 蓝色 Ⅳ，须与颜色一致")."""
    text = description or name
    cut = min((i for i in (text.find(" ("), text.find("，")) if i > 0), default=len(text))
    hint = text[cut:].strip(" ，").replace("(", "").replace(")", "").strip()
    return text[:cut], hint


def field_inputs(kind: str) -> list[dict[str, Any]]:
    """The form's inputs for the kind's own fields, from its schema in ``kinds``."""
    model = kinds.spec(kind).fields
    out = []
    for name, info in model.model_fields.items():
        if name in SKIPPED:
            continue
        label, hint = _label(info.description, name)
        args = [a for a in typing.get_args(info.annotation) if a is not type(None)]
        inner = args[0] if args else info.annotation
        entry: dict[str, Any] = {"name": name, "label": label, "hint": hint, "type": "text"}
        if typing.get_origin(inner) is typing.Literal:
            entry.update(type="select", options=list(typing.get_args(inner)))
        elif typing.get_origin(inner) is list:
            entry["type"] = "lines"
        elif inner is int:
            entry["type"] = "number"
        elif "时间" in label or "有效期" in label:
            entry["type"] = "datetime"
        out.append(entry)
    return out


def _moment(value: str, request: Request) -> str | None:
    """A datetime-local value (2026-12-04T15:00) as ISO text with the bureau's offset."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # the notice's own validation names the field
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=request.app.state.settings.zone)
    return moment.isoformat()


def notice_from_form(kind: str, form: Any, request: Request) -> dict[str, Any]:
    """The notice a form describes, as the JSON a notice file would hold."""
    data: dict[str, Any] = {
        "kind": kind,
        "title": str(form.get("title") or "").strip(),
        "body": str(form.get("body") or "").replace("\r\n", "\n").strip(),
    }
    summary = str(form.get("summary") or "").strip()
    if summary:
        data["summary"] = summary
    fields: dict[str, Any] = {}
    for entry in field_inputs(kind):
        raw = str(form.get(f"f_{entry['name']}") or "").strip()
        if not raw:
            continue
        if entry["type"] == "lines":
            fields[entry["name"]] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif entry["type"] == "number":
            fields[entry["name"]] = int(raw) if raw.lstrip("-").isdigit() else raw
        elif entry["type"] == "datetime":
            fields[entry["name"]] = _moment(raw, request)
        else:
            fields[entry["name"]] = raw
    data["fields"] = fields
    table = str(form.get("table_json") or "")
    if table:
        data["table"] = json.loads(table)
    when = _moment(str(form.get("publish_at") or ""), request)
    if when and form.get("action") == "schedule":
        data["publish_at"] = when
    if form.get("pii_mask") == "1":
        data["pii"] = "mask"
    return data


@router.get("/compose")
async def choose_kind(request: Request) -> Response:
    session = await guard(request, "compose")
    choices = [(k, kinds.label(k)) for k in kinds.NAMES]
    return page(request, "compose_kinds.html", session, title="撰写发布", choices=choices)


def _blank(kind: str) -> dict[str, Any]:
    return {"kind": kind, "title": "", "body": "", "fields": {}}


@router.get("/compose/{kind}")
async def compose_form(request: Request, kind: str) -> Response:
    session = await guard(request, "compose")
    if kind not in kinds.NAMES:
        return missing(request, session, kind, "没有这种通知")
    return form_page(request, session, kind, title=f"撰写：{kinds.label(kind)}")


def form_page(
    request: Request,
    session: Any,
    kind: str,
    *,
    title: str,
    values: dict[str, Any] | None = None,
    shown: dict[str, Any] | None = None,
    action_url: str | None = None,
) -> Response:
    """The compose form of ``kind`` (for a new notice, or an update when ``action_url`` names
    the update's route), filled with ``values`` and what :func:`evaluate` found."""
    shown = shown if shown is not None else _empty()
    extra = {"action_url": action_url} if action_url is not None else {}
    return page(
        request,
        "compose.html",
        session,
        title=title,
        kind=kind,
        inputs=field_inputs(kind),
        values=values or {},
        status_code=422 if shown["errors"] else 200,
        **extra,
        **shown,
    )


def _empty() -> dict[str, Any]:
    return {
        "errors": [],
        "warnings": [],
        "previews": [],
        "table": None,
        "table_problems": [],
        "table_json": "",
    }


def _table_from(values: dict[str, Any], shown: dict[str, Any]) -> None:
    """The table kept in the form (``table_json``), shown in part; a tampered one is an error."""
    shown["table_json"] = values.get("table_json", "")
    if not shown["table_json"]:
        return
    try:
        table = json.loads(shown["table_json"])
        columns, rows = list(table["columns"]), list(table["rows"])
    except (ValueError, TypeError, KeyError):
        shown["errors"].append("表格数据无效，请重新导入表格文件")
        values["table_json"] = shown["table_json"] = ""
        return
    shown["table"] = {"columns": columns, "rows": rows[:MAX_TABLE_PREVIEW], "total": len(rows)}


async def evaluate(
    request: Request, kind: str, form: Any, follows: dict[str, Any] | None = None
) -> tuple[NoticeInput | None, dict[str, Any], dict[str, Any]]:
    """What the form describes, checked: (the notice or None, what to show, the values to
    fill the form with again). Errors, check findings and per-channel previews in ``shown``.
    ``follows``: for an update form, what it follows (WeChat's follow-up push policy)."""
    rt = request.app.state.runtime
    shown = _empty()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    upload = form.get("table_file")
    raw, filename = b"", ""
    if upload is not None and not isinstance(upload, str):
        raw, filename = await upload.read(), upload.filename or ""
        await upload.close()
    if filename:
        try:
            imported = read_table(raw, filename)
        except TableFileError as exc:
            shown["errors"].append(f"表格文件: {exc}")
        else:
            shown["table_problems"] = imported.problems
            values["table_json"] = json.dumps(imported.as_table(), ensure_ascii=False)
    _table_from(values, shown)
    notice: NoticeInput | None = None
    if not shown["errors"] and not shown["table_problems"]:
        try:
            notice = NoticeInput.model_validate(notice_from_form(kind, form, request))
        except ValidationError as exc:
            shown["errors"].append(describe_validation_error(exc, kind))
    if notice is not None:
        report = await check_notice(notice, rt.settings, with_pii=False)
        shown["errors"] += [f.describe() for f in report.errors]
        shown["warnings"] += [f.describe() for f in report.warnings]
        try:
            shown["previews"] = preview_items(rt.intake, notice)
            await _mass_send(rt, notice, shown["previews"], follows)
        except PersonalDataFound as exc:
            shown["errors"] += [f"个人信息: {where}" for where in exc.locations]
        except PublisherError as exc:
            shown["errors"].append(str(exc))
    return (None if shown["errors"] else notice), shown, values


async def live_preview(
    request: Request, kind: str, form: Any, follows: dict[str, Any] | None = None
) -> Response:
    """The check result and per-channel previews alone, for console.js (never submits)."""
    _, shown, _ = await evaluate(request, kind, form, follows)
    return fragment(request, "_compose_live.html", live=True, **shown)


@router.post("/compose/{kind}/preview")
async def compose_preview(request: Request, kind: str) -> Response:
    _, form = await guard_post(request, "compose")
    if kind not in kinds.NAMES:
        return Response("没有这种通知", status_code=404, media_type="text/plain; charset=utf-8")
    return await live_preview(request, kind, form)


async def _mass_send(
    rt: Any, notice: NoticeInput, items: list[dict[str, Any]], follows: dict[str, Any] | None
) -> None:
    """WeChat's mass-send lines on each preview, as ``publisher preview`` prints them: pushed
    to followers or not (and why), and the day's and month's quota left (issue 11 part D)."""
    from publisher.cli.push_preview import push_lines_from

    accounts = [(i["channel"], rt.channels.get(i["channel"]).adapter.options) for i in items]
    data = notice.model_dump(mode="json")
    if follows:
        data["follows"] = follows
    pushes = await push_lines_from(rt.store, rt.clock, data, accounts)
    for item in items:
        if item["channel"] in pushes:
            item["mass_send"] = pushes[item["channel"]]


@router.post("/compose/{kind}")
async def compose_post(request: Request, kind: str) -> Response:
    session, form = await guard_post(request, "compose")
    if kind not in kinds.NAMES:
        return missing(request, session, kind, "没有这种通知")
    rt = request.app.state.runtime
    notice, shown, values = await evaluate(request, kind, form)
    if notice is not None and form.get("action") in ("submit", "schedule"):
        try:
            done = await rt.intake.submit(notice, source="console", actor=session.name)
        except PublisherError as exc:
            shown["errors"].append(str(exc))
        else:
            await audit(request, session.name, "notice.submit", notice_id=done.notice_id)
            if rt.worker is not None:
                rt.worker.wake()
            return RedirectResponse(f"/notices/{done.notice_id}?done=submitted", status_code=303)
    return form_page(
        request, session, kind, title=f"撰写：{kinds.label(kind)}", values=values, shown=shown
    )
