"""``POST /api/warnings``: a CAP 1.2 document as the body, answered like ``POST /api/notices``.

201 with the notice (plus ``cap``) when it is new, 200 when the same CAP message was taken
in before (nothing posted again); 400 when the body is not safe, valid CAP 1.2 (one line
naming the problem); 415 for a body that is not ``application/cap+xml`` or
``application/xml``; 422 for a valid message that is not published (expired, a drill, a
Cancel) or that the channels refuse, as for notices. Nothing is stored on any refusal.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from publisher.cap.intake import cap_json, take_in
from publisher.cap.parse import CAP_MIME, MAX_CAP_BYTES
from publisher.errors import CapFormatError
from publisher.review.desk import with_record  # review chain
from publisher.runtime import Runtime
from publisher.serialize import notice_json
from publisher.web.auth import acting, audit, authorize

MEDIA_TYPES = (CAP_MIME, "application/xml")

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(authorize)])

_BODY: dict[str, Any] = {
    "required": True,
    "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in MEDIA_TYPES},
    "description": "CAP 1.2 文档 (UTF-8，不超过 1 MB)",
}


async def _read_capped(request: Request) -> bytes:
    """The body, at most one byte past the CAP limit (parse_cap refuses what is over)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_CAP_BYTES:
            break
    return b"".join(chunks)


@router.post("/warnings", status_code=201, openapi_extra={"requestBody": _BODY})
async def submit_warning(request: Request, channels: str = "") -> JSONResponse:
    """Publish a CAP 1.2 warning; the same CAP identifier again returns the same notice.
    ``?channels=a,b``: these accounts instead of the route of weather warnings."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise HTTPException(
            status_code=415,
            detail=f"请求体应为 CAP 1.2 XML (Content-Type: {' 或 '.join(MEDIA_TYPES)})，"
            f"实际是 {media[:80] or '未指明'}",
        )
    rt: Runtime = request.app.state.runtime
    raw = await _read_capped(request)
    try:
        named = [c.strip() for c in channels.split(",") if c.strip()] or None
        taken = await take_in(rt.intake, raw, via="api", actor=acting(request), channels=named)
    except CapFormatError as exc:
        return JSONResponse({"error": str(exc), "type": type(exc).__name__}, status_code=400)
    await audit(
        request,
        taken.action,
        notice_id=taken.submitted.notice_id,
        replayed=not taken.submitted.created,
        cap=True,
    )
    record = await rt.store.get_notice(taken.submitted.notice_id)
    body = {**(await with_record(rt.store, notice_json(record))), "cap": cap_json(record.fields)}
    if taken.note:
        body["note"] = taken.note
    return JSONResponse(body, status_code=201 if taken.submitted.created else 200)
