"""审核队列: what awaits me (admins: every open review), each notice with its per-channel
previews and the content checks' warnings; approve, or reject with a comment. The review
rules (who may decide, self-approval, content binding) are the chain's own
(``publisher.review.desk``); this page only asks it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from publisher.auth.roles import Role
from publisher.console.pages import audit, guard, guard_post, missing, page
from publisher.errors import PublisherError
from publisher.notice import NoticeInput
from publisher.previews import preview_items
from publisher.review.desk import Desk
from publisher.store.reviews import ReviewRefused

router = APIRouter(include_in_schema=False)
STATES = {"awaiting_review": "待审核", "rejected": "已驳回", "approved": "已通过"}


def _desk(request: Request) -> Desk:
    rt = request.app.state.runtime
    return Desk(rt.store, rt.settings, rt.channels)


async def previews_of(request: Request, notice_id: int) -> list[dict[str, Any]]:
    """The stored notice through the preview, as its reviewers should read it."""
    rt = request.app.state.runtime
    record = await rt.store.get_notice(notice_id)
    data = {
        "kind": record.kind,
        "title": record.title,
        "body": record.body,
        "summary": record.summary,
        "table": record.table,
        "fields": dict(record.fields),
        "urgent": record.urgent,
        "allow_duplicate": True,
    }
    try:
        notice = NoticeInput.model_validate(data, context={"publisher_internal": True})
        return preview_items(rt.intake, notice)
    except (ValueError, PublisherError):
        return []


@router.get("/reviews")
async def review_queue(request: Request) -> Response:
    session = await guard(request, "reviews")
    items = await _desk(request).listing(session.name, everything=Role.ADMIN in session.roles)
    for item in items:
        item["previews"] = await previews_of(request, item["notice_id"]) if item["yours"] else []
    mine = [i for i in items if i["yours"]]
    others = [i for i in items if not i["yours"]]
    return page(
        request, "reviews.html", session, title="审核队列", mine=mine, others=others, states=STATES
    )


@router.post("/reviews/{notice_id}/{decision}")
async def decide(request: Request, notice_id: int, decision: str) -> Response:
    session, form = await guard_post(request, "reviews")
    if decision not in ("approve", "reject"):
        return missing(request, session, decision, "没有这个操作")
    comment = str(form.get("comment") or "").strip() or None
    approve = decision == "approve"
    if not approve and not comment:
        return page(
            request,
            "refused.html",
            session,
            title="请填写驳回意见",
            status_code=422,
            message="驳回时必须填写意见，说明需要如何修改。",
            back="/reviews",
        )
    rt = request.app.state.runtime
    try:
        decided = await _desk(request).decide(
            notice_id,
            session.name,
            approve,
            comment,
            fingerprint=str(form.get("fingerprint") or "") or None,
            source="console",
        )
    except ReviewRefused as exc:
        await audit(request, session.name, "review.refused", notice_id=notice_id, reason=str(exc))
        return page(
            request,
            "refused.html",
            session,
            title="不能审核",
            status_code=403,
            message=str(exc),
            back="/reviews",
        )
    except PublisherError as exc:
        return page(
            request,
            "refused.html",
            session,
            title="操作未完成",
            status_code=409,
            message=str(exc),
            back="/reviews",
        )
    await audit(
        request,
        session.name,
        f"review.{decision}",
        notice_id=notice_id,
        comment=comment,
        released=decided.released,
    )
    if decided.released and rt.worker is not None:
        rt.worker.wake()
    return RedirectResponse(f"/reviews?done={decision}d", status_code=303)
