"""JSON API for scripts and other systems (OpenAPI at /docs)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from publisher.documents import DocumentError, decode
from publisher.errors import NoticeFormatError
from publisher.lifecycle.present import links_json
from publisher.metrics.samples import latest as latest_metrics
from publisher.notice import NoticeInput, notice_schema, parse_notice
from publisher.queue import manual
from publisher.queue.states import Status
from publisher.review.desk import with_record  # review chain
from publisher.runtime import Runtime
from publisher.serialize import delivery_json, notice_json
from publisher.store import MAX_ROW_ID
from publisher.web.auth import acting, audit, authorize

# Every route: who calls, and whether their role may (publisher/auth/permissions.py).
router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(authorize)])

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every ``#/$defs/X`` written in place (OpenAPI has no ``$defs`` here)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k not in ("$defs", "mapping")}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _notice_body() -> dict[str, Any]:
    schema = notice_schema()
    return {
        "required": True,
        "content": {"application/json": {"schema": _inline(schema, schema.get("$defs", {}))}},
    }


async def notice_from_body(request: Request) -> NoticeInput:
    """The request's body read the way a notice file is: one line naming the field for any
    problem, NaN and over-long numbers refused by name (submit, update, resubmit)."""
    try:
        body = decode(await request.body(), "JSON")
    except DocumentError as exc:
        at = f" (第 {exc.line} 行)" if exc.syntax and exc.line is not None else ""
        problem = f"请求体不是有效的 JSON: {exc.problem}{at}" if exc.syntax else str(exc)
        raise NoticeFormatError(problem) from None
    return parse_notice(body)


@router.post("/notices", status_code=201, openapi_extra={"requestBody": _notice_body()})
async def submit_notice(request: Request) -> JSONResponse:
    """Submit a notice (the same fields as a notice file). 201 created, 200 replayed key.

    The body is read here, not by FastAPI, so that it is read the way a notice file is:
    one line naming the field for any problem, NaN and over-long numbers refused by name.
    """
    rt = runtime(request)
    notice = await notice_from_body(request)
    done = await rt.intake.submit(notice, source="api", actor=acting(request))
    await audit(request, "notice.submit", notice_id=done.notice_id, replayed=not done.created)
    record = await rt.store.get_notice(done.notice_id)
    data = await with_record(rt.store, notice_json(record))  # review chain: status, record
    return JSONResponse(data, status_code=201 if done.created else 200)


@router.get("/notices/{notice_id}")
async def show_notice(request: Request, notice_id: RowId) -> dict[str, Any]:
    store = runtime(request).store
    record = await store.get_notice(notice_id)
    reach = await latest_metrics(store, [d.id for d in record.deliveries])
    data = notice_json(record, events=True, metrics=reach)
    data.update(links_json(await store.notice_links(notice_id)))  # issue 11: both sides
    return await with_record(store, data)  # review chain


@router.get("/deliveries")
async def list_deliveries(
    request: Request,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    rows = await runtime(request).store.list_deliveries(status=status, limit=limit)
    return [delivery_json(d) for d in rows]


class RetryRequest(BaseModel):
    """What ``POST /api/deliveries/{id}/retry`` may carry (the body is optional)."""

    model_config = ConfigDict(extra="forbid")

    force: StrictBool = Field(
        default=False,
        description="待人工核查的投递在无法查询的渠道上也重新发送 (渠道上可能已有这条发布)",
    )


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(
    request: Request, delivery_id: RowId, body: RetryRequest | None = None
) -> dict[str, Any]:
    """Queue a delivery again, not before its notice's ``publish_at``. A needs-review one is
    first looked up on the channel where it can be; elsewhere it needs ``"force": true``
    (409 without: the channel may already have the post)."""
    rt = runtime(request)
    force = body is not None and body.force
    record = await manual.retry(rt.store, rt.channels, delivery_id, acting(request), force=force)
    await audit(request, "delivery.retry", notice_id=record.notice_id, delivery_id=record.id)
    if rt.worker is not None:
        rt.worker.wake()
    return delivery_json(record)


@router.post("/deliveries/{delivery_id}/cancel")
async def cancel_delivery(request: Request, delivery_id: RowId) -> dict[str, Any]:
    record = await runtime(request).store.cancel(delivery_id, actor=acting(request))
    await audit(request, "delivery.cancel", notice_id=record.notice_id, delivery_id=record.id)
    return delivery_json(record)
