"""JSON API for scripts and other systems (OpenAPI at /docs)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from publisher.documents import DocumentError, decode
from publisher.errors import NoticeFormatError
from publisher.metrics.samples import latest as latest_metrics
from publisher.notice import notice_schema, parse_notice
from publisher.queue.states import Status
from publisher.runtime import Runtime
from publisher.serialize import delivery_json, notice_json
from publisher.store import MAX_ROW_ID


def require_token(request: Request) -> None:
    """With ``api_token`` set, every API call carries it: ``Authorization: Bearer <token>``."""
    token = request.app.state.settings.api_token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise HTTPException(
            status_code=401,
            detail="缺少 API 令牌或令牌错误 (Authorization: Bearer <PUBLISHER_API_TOKEN>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(require_token)])

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


@router.post("/notices", status_code=201, openapi_extra={"requestBody": _notice_body()})
async def submit_notice(request: Request) -> JSONResponse:
    """Submit a notice (the same fields as a notice file). 201 created, 200 replayed key.

    The body is read here, not by FastAPI, so that it is read the way a notice file is:
    one line naming the field for any problem, NaN and over-long numbers refused by name.
    """
    rt = runtime(request)
    try:
        body = decode(await request.body(), "JSON")
    except DocumentError as exc:
        at = f" (第 {exc.line} 行)" if exc.syntax and exc.line is not None else ""
        problem = f"请求体不是有效的 JSON: {exc.problem}{at}" if exc.syntax else str(exc)
        raise NoticeFormatError(problem) from None
    notice = parse_notice(body)
    done = await rt.intake.submit(notice, source="api", actor="api")
    record = await rt.store.get_notice(done.notice_id)
    return JSONResponse(notice_json(record), status_code=201 if done.created else 200)


@router.get("/notices/{notice_id}")
async def show_notice(request: Request, notice_id: RowId) -> dict[str, Any]:
    store = runtime(request).store
    record = await store.get_notice(notice_id)
    reach = await latest_metrics(store, [d.id for d in record.deliveries])
    return notice_json(record, events=True, metrics=reach)


@router.get("/deliveries")
async def list_deliveries(
    request: Request,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    rows = await runtime(request).store.list_deliveries(status=status, limit=limit)
    return [delivery_json(d) for d in rows]


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(request: Request, delivery_id: RowId) -> dict[str, Any]:
    rt = runtime(request)
    record = await rt.store.retry(delivery_id, actor="api")
    if rt.worker is not None:
        rt.worker.wake()
    return delivery_json(record)


@router.post("/deliveries/{delivery_id}/cancel")
async def cancel_delivery(request: Request, delivery_id: RowId) -> dict[str, Any]:
    record = await runtime(request).store.cancel(delivery_id, actor="api")
    return delivery_json(record)
