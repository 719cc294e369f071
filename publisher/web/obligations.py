"""``/api/obligations`` (the late list, the monthly summary, editing the definitions) and
``/api/freshness`` (days since each account's and portal category's last post)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from publisher.errors import InputError
from publisher.obligations import freshness as fresh
from publisher.obligations import spec as specs
from publisher.obligations import workdays
from publisher.obligations.status import current, load
from publisher.obligations.summary import month_summary
from publisher.runtime import Runtime
from publisher.web.auth import acting, audit, authorize

router = APIRouter(prefix="/api", tags=["obligations"], dependencies=[Depends(authorize)])

Name = Annotated[str, Path(min_length=1, max_length=64)]


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _today(rt: Runtime) -> Any:
    return rt.clock.now().astimezone(rt.settings.zone).date()


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InputError("请求体不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise InputError("请求体应为 JSON 对象 (义务的各项设置)")
    return body


def _body_schema(with_name: bool) -> dict[str, Any]:
    """The request body in the OpenAPI document: an entry of config/obligations.toml."""
    schema = specs.Obligation.model_json_schema()
    if with_name:
        schema["properties"] = {
            "name": {"type": "string", "pattern": specs.NAME.pattern, "title": "Name"},
            **schema["properties"],
        }
        schema["required"] = ["name", *schema.get("required", [])]
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


def _definition(name: str, spec: specs.Obligation, updated_by: str | None = None) -> dict[str, Any]:
    out = {"name": name, **specs.dump(spec), "rule": spec.rule_text()}
    if updated_by is not None:
        out["updated_by"] = updated_by
    return out


@router.get("/obligations")
async def list_obligations(
    request: Request,
    overdue: Annotated[bool, Query(description="只列出已逾期的")] = False,
    department: Annotated[str | None, Query(description="只列出这个科室的")] = None,
) -> JSONResponse:
    """Each obligation's current period, due date, state (met / met_late / pending /
    due_today / overdue / unknown) and working days late."""
    rt = _rt(request)
    today = _today(rt)
    rows = await current(rt.store, rt.settings, today, strict=False)
    if overdue:
        rows = [r for r in rows if r.state == "overdue"]
    if department is not None:
        rows = [r for r in rows if r.spec.department == department.strip()]
    return JSONResponse(
        {
            "today": today.isoformat(),
            "calendar": workdays.calendar_version(),
            "obligations": [r.as_json() for r in rows],
        }
    )


@router.get("/obligations/summary")
async def obligations_summary(
    request: Request, month: Annotated[str, Query(description="YYYY-MM")]
) -> JSONResponse:
    """Per department: what fell due in the month, on time, late, still missing."""
    rt = _rt(request)
    return JSONResponse(await month_summary(rt.store, rt.settings, month, _today(rt), strict=False))


@router.get("/obligations/{name}")
async def show_obligation(request: Request, name: Name) -> JSONResponse:
    """One obligation's definition and its current period(s)."""
    rt = _rt(request)
    await load(rt.store, rt.settings, strict=False)
    record = await rt.store.get_obligation(name)
    spec = specs.Obligation.model_validate(record.spec)
    rows = await current(rt.store, rt.settings, _today(rt), strict=False)
    return JSONResponse(
        {
            "definition": _definition(name, spec, record.updated_by),
            "status": [r.as_json() for r in rows if r.name == name],
        }
    )


@router.post("/obligations", status_code=201, openapi_extra=_body_schema(True))
async def add_obligation(request: Request) -> JSONResponse:
    """Add an obligation: ``name`` plus the keys of an entry of config/obligations.toml."""
    rt = _rt(request)
    body = await _body(request)
    name = specs.check_name(body.pop("name", None))
    spec = specs.parse(name, body, rt.settings)
    # The file's names first, so that a later seeding never lands on top of this one.
    await load(rt.store, rt.settings, strict=False)
    await rt.store.add_obligation(name, specs.dump(spec), acting(request))
    await audit(request, "obligation_add", name=name)
    return JSONResponse(_definition(name, spec, acting(request)), status_code=201)


@router.put("/obligations/{name}", openapi_extra=_body_schema(False))
async def replace_obligation(request: Request, name: Name) -> JSONResponse:
    """Replace an obligation's definition (the body: every key, as for POST, without name)."""
    rt = _rt(request)
    body = await _body(request)
    if body.pop("name", name) != name:
        raise InputError("请求体中的 name 与地址中的不一致")
    spec = specs.parse(name, body, rt.settings)
    await load(rt.store, rt.settings, strict=False)
    await rt.store.replace_obligation(name, specs.dump(spec), acting(request))
    await audit(request, "obligation_replace", name=name)
    return JSONResponse(_definition(name, spec, acting(request)))


@router.delete("/obligations/{name}", status_code=204)
async def delete_obligation(request: Request, name: Name) -> Response:
    """Delete an obligation (the file does not bring it back)."""
    rt = _rt(request)
    await load(rt.store, rt.settings, strict=False)
    await rt.store.delete_obligation(name, acting(request))
    await audit(request, "obligation_delete", name=name)
    return Response(status_code=204)


@router.get("/freshness")
async def freshness(request: Request) -> JSONResponse:
    """Days since the last post of every channel account and portal category, with its state
    (ok / reminded / alarm / none / off)."""
    rt = _rt(request)
    today = _today(rt)
    watches = await fresh.check(rt.store, rt.settings, today)
    return JSONResponse({"today": today.isoformat(), "watches": [w.as_json() for w in watches]})
