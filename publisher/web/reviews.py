"""The review chain over HTTP: what awaits me, approve, reject, resubmit a revision.

``GET /api/reviews``: the reviews the caller may decide now and their own notices under
review or rejected (admins and the service token: every open review), each with its steps,
decisions, the content checks' warnings and, for a warning released on the fast path, the
flag 待补审. ``POST /api/notices/{id}/approve`` and ``/reject`` (``{"comment": ...}``,
required to reject; optional ``fingerprint``: the content the reviewer read): 403 for the
author, a caller without the step's role or not a named user, or one who already decided in
this chain; 409 when the step was already decided or the content changed.
``POST /api/notices/{id}/resubmit``: the author's revised notice (the fields of
``POST /api/notices``); the approvals so far are void and the chain starts over.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from publisher.auth.roles import Role
from publisher.review.desk import Desk, with_record
from publisher.runtime import Runtime
from publisher.serialize import notice_json
from publisher.store.reviews import ReviewRefused
from publisher.web.api import RowId, _notice_body, notice_from_body
from publisher.web.auth import Caller, acting, audit, authorize

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(authorize)])

Comment = Annotated[str, Field(min_length=1, max_length=2000)]


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Comment | None = Field(default=None, description="审核意见 (可选)")
    fingerprint: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="审阅时的内容指纹 (GET /api/reviews)；内容已变时 409"
    )


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Comment = Field(description="驳回意见 (必填)，退回起草人修改")
    fingerprint: Annotated[str, Field(min_length=1, max_length=64)] | None = None


def _desk(request: Request) -> tuple[Runtime, Desk]:
    rt: Runtime = request.app.state.runtime
    return rt, Desk(rt.store, rt.settings, rt.channels)


def _forbidden(exc: ReviewRefused) -> HTTPException:
    return HTTPException(status_code=403, detail=str(exc))


@router.get("/reviews")
async def list_reviews(request: Request) -> list[dict[str, Any]]:
    """What awaits the caller (admins: every open review)."""
    _, desk = _desk(request)
    caller: Caller = request.state.caller
    return await desk.listing(caller.name, everything=Role.ADMIN in caller.roles)


async def _decide(
    request: Request, notice_id: int, approve: bool, comment: str | None, fp: str | None
) -> dict[str, Any]:
    rt, desk = _desk(request)
    try:
        decided = await desk.decide(
            notice_id, acting(request), approve, comment, fingerprint=fp, source="api"
        )
    except ReviewRefused as exc:
        await audit(
            request, "review.refused", notice_id=notice_id, approve=approve, reason=str(exc)
        )
        raise _forbidden(exc) from None
    review = decided.review
    await audit(
        request,
        "review.approve" if approve else "review.reject",
        notice_id=notice_id,
        round=review.round,
        step=review.step if approve and decided.advanced else review.step + 1,
        comment=comment,
        released=decided.released,
    )
    if decided.released and rt.worker is not None:
        rt.worker.wake()
    return {
        **(await desk.describe(review)),
        "advanced": decided.advanced,
        "released": decided.released,
    }


@router.post("/notices/{notice_id}/approve")
async def approve_notice(
    request: Request, notice_id: RowId, body: Approval | None = None
) -> dict[str, Any]:
    """Approve the open step; the last approval releases the notice (not before publish_at)."""
    body = body or Approval()
    return await _decide(request, notice_id, True, body.comment, body.fingerprint)


@router.post("/notices/{notice_id}/reject")
async def reject_notice(request: Request, notice_id: RowId, body: Rejection) -> dict[str, Any]:
    """Reject the open step with a comment: the notice goes back to its author."""
    return await _decide(request, notice_id, False, body.comment, body.fingerprint)


@router.post("/notices/{notice_id}/resubmit", openapi_extra={"requestBody": _notice_body()})
async def resubmit_notice(request: Request, notice_id: RowId) -> dict[str, Any]:
    """The author's revision of a notice under review or rejected; the chain starts over."""
    rt, desk = _desk(request)
    notice = await notice_from_body(request)
    try:
        await desk.resubmit(notice_id, acting(request), notice, rt.intake, source="api")
    except ReviewRefused as exc:
        raise _forbidden(exc) from None
    await audit(request, "review.resubmit", notice_id=notice_id)
    return await with_record(rt.store, notice_json(await rt.store.get_notice(notice_id)))
