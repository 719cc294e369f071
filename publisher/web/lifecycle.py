"""Follow-ups over the API (issue 11): update, lift (解除) and withdraw (撤回) a notice.

``PUT /api/notices/{id}`` (a body like ``POST /api/notices``) updates; ``POST
/api/notices/{id}/lift`` and ``POST /api/notices/{id}/withdraw`` take ``{"reason": ...}``
(required to withdraw); ``DELETE /api/notices/{id}`` withdraws too, the reason in
``?reason=`` or the body. Each answers like ``POST /api/notices`` with the follow-up (201
new, 200 the same key again) plus its links; 404 for an unknown notice, 409 when it was
already updated, lifted or withdrawn, 422 for any other refusal (one line).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from publisher.lifecycle import Lifecycle
from publisher.lifecycle.present import links_json
from publisher.queue.intake import Submitted
from publisher.runtime import Runtime
from publisher.serialize import notice_json
from publisher.web.api import RowId, _notice_body, notice_from_body
from publisher.web.auth import acting, audit, authorize

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(authorize)])


class ReasonBody(BaseModel):
    """What a lift or a withdrawal carries."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500, description="原因 (撤回时必填)")


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def _answer(request: Request, action: str, original: int, done: Submitted) -> JSONResponse:
    rt = _runtime(request)
    await audit(
        request, action, notice_id=done.notice_id, follows=original, replayed=not done.created
    )
    data = notice_json(await rt.store.get_notice(done.notice_id))
    data.update(links_json(await rt.store.notice_links(done.notice_id)))
    return JSONResponse(data, status_code=201 if done.created else 200)


@router.put("/notices/{notice_id}", status_code=201, openapi_extra={"requestBody": _notice_body()})
async def update_notice(request: Request, notice_id: RowId) -> JSONResponse:
    """Update a notice: the body is the new notice (as for ``POST /api/notices``)."""
    new = await notice_from_body(request)
    lifecycle = Lifecycle(_runtime(request).intake)
    done = await lifecycle.update(notice_id, new, source="api", actor=acting(request))
    return await _answer(request, "notice.update", notice_id, done)


async def _lift_or_withdraw(
    request: Request, relation: Literal["lift", "withdraw"], notice_id: int, reason: str | None
) -> JSONResponse:
    lifecycle = Lifecycle(_runtime(request).intake)
    act = lifecycle.lift if relation == "lift" else lifecycle.withdraw
    done = await act(notice_id, reason, source="api", actor=acting(request))
    return await _answer(request, f"notice.{relation}", notice_id, done)


@router.post("/notices/{notice_id}/lift", status_code=201)
async def lift_notice(
    request: Request, notice_id: RowId, body: ReasonBody | None = None
) -> JSONResponse:
    """Lift (解除) a warning."""
    reason = body.reason if body is not None else None
    return await _lift_or_withdraw(request, "lift", notice_id, reason)


@router.post("/notices/{notice_id}/withdraw", status_code=201)
async def withdraw_notice(
    request: Request, notice_id: RowId, body: ReasonBody | None = None
) -> JSONResponse:
    """Withdraw (撤回) a notice of any kind; ``reason`` is required."""
    reason = body.reason if body is not None else None
    return await _lift_or_withdraw(request, "withdraw", notice_id, reason)


@router.delete("/notices/{notice_id}", status_code=201)
async def delete_notice(
    request: Request,
    notice_id: RowId,
    reason: Annotated[str | None, Query(max_length=500, description="撤回原因")] = None,
    body: ReasonBody | None = None,
) -> JSONResponse:
    """Withdraw (撤回) a notice: the reason in ``?reason=`` or the body (required)."""
    why = reason if reason is not None else (body.reason if body is not None else None)
    return await _lift_or_withdraw(request, "withdraw", notice_id, why)
