"""``GET /api/notices/{id}/readers``: who has read or acknowledged an OA warning and who has
not, per OA account (``publisher reach readers`` over the API; ``publisher.reach.readers``);
``GET /api/reach/collection``: how reach collection is going per account (for the console)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from publisher.reach import readers as oa_readers
from publisher.runtime import Runtime
from publisher.store import MAX_ROW_ID
from publisher.web.auth import authorize

router = APIRouter(prefix="/api", tags=["reach"], dependencies=[Depends(authorize)])


@router.get("/notices/{notice_id}/readers")
async def notice_readers(
    request: Request, notice_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
) -> dict[str, Any]:
    """Per OA account with read receipts (DingTalk work notice, Feishu app, WeCom 已知悉):
    ``read`` (who, when, how) and ``unread`` (who, whether reminded). ``error`` names a
    platform that could not answer now (the lists are then what was known before)."""
    rt: Runtime = request.app.state.runtime
    record, accounts = await oa_readers.readers_of(rt.store, rt.channels, notice_id)
    return oa_readers.as_json(record, accounts)


@router.get("/reach/collection")
async def reach_collection(request: Request) -> dict[str, Any]:
    """How reach collection is going per channel account (what ``doctor`` checks): last run,
    last success, last error, consecutive failures, and until when a quota holds it back."""
    from publisher.metrics.health import health_json

    rt: Runtime = request.app.state.runtime
    return {"accounts": [health_json(h) for h in await rt.store.collection_health()]}
