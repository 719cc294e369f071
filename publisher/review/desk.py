"""Deciding, revising and listing reviews; telling the next reviewer; the record.

Used by the API (publisher/web/reviews.py), the CLI (publisher/cli/review.py) and intake.
Every check that races (the step still open, the content unchanged, one decision per person
per round) is made again by the store under a row lock; the checks here give the clear
answer first: who may decide this step at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from publisher import kinds
from publisher.errors import ChannelError, StateError
from publisher.notice import NoticeInput
from publisher.notify import NobodyToTell, tell
from publisher.registry import Account
from publisher.review.intake import prepare, roles_of
from publisher.review.steps import Step, steps_for, steps_of
from publisher.settings import Settings
from publisher.store import Store
from publisher.store.people import AuditEntry, Source
from publisher.store.reviews import Decided, Decision, ReviewRecord, ReviewRefused, ReviewState

if TYPE_CHECKING:
    from publisher.queue.intake import Intake

log = logging.getLogger("publisher.review")

FLAG = "待补审"


def _source(source: str) -> Source:
    return Source(source) if source in set(Source) else Source.API


class Desk:
    def __init__(self, store: Store, settings: Settings, channels: Iterable[Account]) -> None:
        self.store = store
        self.settings = settings
        self.channels = channels

    # -- who may decide ------------------------------------------------------------------

    async def eligible(self, review: ReviewRecord, step: Step) -> list[str]:
        """Who may still decide the open step: its people, less the author and anyone who
        decided in this round already."""
        names = await self.store.holders(step.role.value) if step.role else list(step.users)
        decided = {d.actor for d in review.current()}
        return [n for n in names if n != review.drafted_by and n not in decided]

    async def _required(self, review: ReviewRecord, step: Step) -> frozenset[str]:
        """An "all" step: everyone of it who can approve it (not the author, not someone who
        decided another step of this round)."""
        names = await self.store.holders(step.role.value) if step.role else list(step.users)
        elsewhere = {d.actor for d in review.current() if d.step != review.step}
        return frozenset(n for n in names if n != review.drafted_by and n not in elsewhere)

    async def decide(
        self,
        notice_id: int,
        who: str,
        approve: bool,
        comment: str | None,
        *,
        fingerprint: str | None = None,
        source: str = "api",
    ) -> Decided:
        """``who`` approves or rejects the open step. ReviewRefused (403) for the author, a
        person without the step's role, or someone not a user; StateError (409) when the step
        is already decided; NotFoundError."""
        review = await self._review(notice_id)
        if review.state != ReviewState.AWAITING or review.step >= len(review.steps):
            done = "已驳回" if review.state == ReviewState.REJECTED else "已审核完毕"
            raise StateError(f"通知 #{notice_id} {done}，没有待审核的步骤")
        step = steps_of(review.steps)[review.step]
        roles = await roles_of(self.store, who)
        if not roles:
            raise ReviewRefused(f"{who} 无权执行此操作：审核须以已启用的个人用户身份进行")
        if who == review.drafted_by:
            raise ReviewRefused(f"{who} 无权执行此操作：不能审核自己起草的通知 #{notice_id}")
        if not step.may_decide(who, roles):
            raise ReviewRefused(
                f"{who} 无权执行此操作：第 {review.step + 1} 步由 {step.label()} 审核"
            )
        required = await self._required(review, step) if step.all else None
        decided = await self.store.decide_review(
            notice_id,
            step=review.step,
            actor=who,
            decision=Decision.APPROVE if approve else Decision.REJECT,
            comment=comment,
            required=required,
            fingerprint=fingerprint,
        )
        after = decided.review
        if not approve:
            await self._tell_author(after, who, comment or "", source)
        elif decided.advanced and after.state == ReviewState.AWAITING:
            await self.tell_next(after, actor=who, source=source)
        return decided

    async def _review(self, notice_id: int) -> ReviewRecord:
        review = await self.store.review_of(notice_id)
        if review is None:
            await self.store.get_notice(notice_id)  # NotFoundError
            raise StateError(f"通知 #{notice_id} 不需要审核")
        return review

    async def resubmit(
        self, notice_id: int, who: str, notice: NoticeInput, intake: Intake, *, source: str
    ) -> ReviewRecord:
        """The author's revised notice replaces the held one, checked and rendered again; the
        approvals so far are void and the chain starts over at its first step."""
        review = await self._review(notice_id)
        if who != review.drafted_by:
            raise ReviewRefused(f"{who} 无权执行此操作：只有起草人 {review.drafted_by} 可以修改")
        if review.released_at is not None or review.state == ReviewState.APPROVED:
            raise StateError(f"通知 #{notice_id} 已发布，不能再修改")
        steps = steps_for(self.settings.review_steps, notice.kind) or steps_of(review.steps)
        checked, new, warnings = await prepare(intake, notice)
        fresh = await self.store.revise_review(
            notice_id,
            actor=who,
            notice=intake._row(checked),
            held=new,
            steps=[s.as_json() for s in steps],
            warnings=warnings,
        )
        await self.tell_next(fresh, actor=who, source=source)
        return fresh

    # -- telling people over OA ----------------------------------------------------------

    async def tell_next(self, review: ReviewRecord, *, actor: str, source: str) -> dict[str, Any]:
        """Tell the open step's people (over OA, by their OA ids) that a notice awaits them.
        Never raises: what happened (or why nobody could be told) is kept on the review,
        shown by ``review list``, and audited."""
        if review.state != ReviewState.AWAITING or review.step >= len(review.steps):
            return {}
        step = steps_of(review.steps)[review.step]
        people = await self.eligible(review, step)
        notice = await self.store.get_notice(review.notice_id)
        title = f"待审核：{notice.title}"
        text = (
            f"{kinds.label(notice.kind)}通知 #{notice.id} 等待第 {review.step + 1} 步审核"
            f"（{step.label()}），起草人 {review.drafted_by}。"
        )
        return await self._tell(review, people, title, text, actor, source)

    async def _tell_author(
        self, review: ReviewRecord, who: str, comment: str, source: str
    ) -> dict[str, Any]:
        notice = await self.store.get_notice(review.notice_id)
        text = f"通知 #{notice.id} 被 {who} 驳回：{comment}。请修改后重新提交。"
        return await self._tell(
            review, [review.drafted_by], f"已驳回：{notice.title}", text, who, source
        )

    async def _tell(
        self,
        review: ReviewRecord,
        people: list[str],
        title: str,
        text: str,
        actor: str,
        source: str,
    ) -> dict[str, Any]:
        told: dict[str, Any] = {
            "round": review.round,
            "step": review.step + 1,
            "people": people,
            "at": self.store.clock.now().isoformat(),
        }
        try:
            ids = await self.store.oa_ids(people)
            told["missing"] = [p for p in people if p not in ids]
            if not people:
                told["error"] = "没有可以审核这一步的人"
            elif not ids:
                told["error"] = "这些人都没有登记 OA 账号 (publisher user add --oa-id)"
            else:
                url = f"{self.settings.public_base_url}/api/notices/{review.notice_id}"
                done = await tell(self.channels, list(ids.values()), title, text, url=url)
                told["told"] = sorted(ids)
                told["account"] = done.account
        except (NobodyToTell, ChannelError) as exc:
            told["error"] = str(exc)
        except Exception as exc:  # telling must never undo or fail a decision
            log.warning("telling reviewers of notice %s failed", review.notice_id, exc_info=True)
            told["error"] = f"{type(exc).__name__}: {exc}"[:300]
        told["ok"] = "error" not in told
        try:
            await self.store.note_review_told(review.notice_id, told)
            await self.store.append_audit(
                AuditEntry(
                    actor=actor,
                    action="review.notify",
                    source=_source(source),
                    notice_id=review.notice_id,
                    detail=told,
                )
            )
        except Exception:
            log.warning("could not record telling of notice %s", review.notice_id, exc_info=True)
        return told

    # -- reading -------------------------------------------------------------------------

    async def listing(self, who: str | None, everything: bool = False) -> list[dict[str, Any]]:
        """Open reviews: those ``who`` may decide now and their own (drafted by them);
        everything when ``everything`` (admins, the server's operator)."""
        roles = await roles_of(self.store, who) if who else frozenset()
        out = []
        for review in await self.store.open_reviews():
            item = await self.describe(review)
            steps = steps_of(review.steps)
            yours = (
                who is not None
                and review.state == ReviewState.AWAITING
                and review.step < len(steps)
                and who in item["waiting_for"]
                and steps[review.step].may_decide(who, roles)
            )
            item["yours"] = yours
            if everything or yours or review.drafted_by == who:
                out.append(item)
        return out

    async def describe(self, review: ReviewRecord) -> dict[str, Any]:
        notice = await self.store.get_notice(review.notice_id)
        steps = steps_of(review.steps)
        current = review.current()
        waiting: list[str] = []
        if review.state == ReviewState.AWAITING and review.step < len(steps):
            waiting = await self.eligible(review, steps[review.step])
        rejected = next((d for d in reversed(current) if d.decision == Decision.REJECT), None)
        return {
            "notice_id": review.notice_id,
            "kind": notice.kind,
            "title": notice.title,
            "state": review.state,
            "drafted_by": review.drafted_by,
            "round": review.round,
            "step": min(review.step, len(steps)) + (0 if review.step >= len(steps) else 1),
            "fingerprint": review.fingerprint,
            "publish_at": notice.publish_at.isoformat() if notice.publish_at else None,
            "steps": [
                {
                    "step": i + 1,
                    "who": s.label(),
                    "role": s.role.value if s.role else None,
                    "users": list(s.users),
                    "all": s.all,
                    "status": (
                        "approved" if i < review.step else "open" if i == review.step else "later"
                    ),
                    "decisions": [
                        {
                            "actor": d.actor,
                            "decision": d.decision,
                            "comment": d.comment,
                            "at": d.at.isoformat(),
                        }
                        for d in current
                        if d.step == i
                    ],
                }
                for i, s in enumerate(steps)
            ],
            "waiting_for": waiting,
            "warnings": list(review.warnings),
            "rejected": (
                {"by": rejected.actor, "comment": rejected.comment, "at": rejected.at.isoformat()}
                if rejected and review.state == ReviewState.REJECTED
                else None
            ),
            "flagged": review.flagged,
            "flag": FLAG if review.flagged else None,
            "released_by": review.released_by,
            "released_at": review.released_at.isoformat() if review.released_at else None,
            "told": dict(review.told) if review.told else None,
        }


async def record_of(store: Store, notice_id: int) -> dict[str, Any]:
    """Who drafted, reviewed (each step), signed and released the notice, for ``notice show``,
    the API and the portal. A notice that needed no review was released by its submitter."""
    notice = await store.get_notice(notice_id)
    review = await store.review_of(notice_id)
    if review is None:
        return {
            "drafted_by": notice.created_by,
            "reviewed_by": [],
            "signed_by": [],
            "released_by": notice.created_by,
            "released_at": notice.created_at.isoformat(),
            "review": None,
        }
    steps = steps_of(review.steps)
    approvals = [d for d in review.current() if d.decision == Decision.APPROVE]
    reviewed = [
        {"step": d.step + 1, "actor": d.actor, "at": d.at.isoformat()}
        for d in approvals
        if d.step < len(steps) and not steps[d.step].signs
    ]
    signed = [
        {"step": d.step + 1, "actor": d.actor, "at": d.at.isoformat()}
        for d in approvals
        if d.step < len(steps) and steps[d.step].signs
    ]
    return {
        "drafted_by": review.drafted_by,
        "reviewed_by": reviewed,
        "signed_by": signed,
        "released_by": review.released_by,
        "released_at": review.released_at.isoformat() if review.released_at else None,
        "review": {
            "state": review.state,
            "round": review.round,
            "step": review.step + 1 if review.step < len(steps) else len(steps),
            "steps": len(steps),
            "fast_path": review.fast_path,
            "flagged": review.flagged,
            "flag": FLAG if review.flagged else None,
        },
    }


def notice_status(record: dict[str, Any], status: str) -> str:
    """A notice's status with its review: held ones are ``awaiting_review`` or ``rejected``."""
    review = record.get("review")
    if review and record.get("released_at") is None:
        return "rejected" if review["state"] == ReviewState.REJECTED else "awaiting_review"
    return status


__all__ = ["Desk", "notice_status", "prepare", "record_of", "steps_for"]


async def with_record(store: Store, data: dict[str, Any]) -> dict[str, Any]:
    """A notice's JSON (``serialize.notice_json``) with its record (drafted, reviewed, signed,
    released) and its status under review: what the API and ``notice show`` answer."""
    record = await record_of(store, int(data["id"]))
    data["status"] = notice_status(record, data["status"])
    data["record"] = record
    return data


async def portal_names(store: Store, notice_id: int) -> dict[str, str] | None:
    """责任编辑 / 审核 / 签发 of a reviewed notice as its portal page prints them (None: the
    notice had no review)."""
    if await store.review_of(notice_id) is None:
        return None
    record = await record_of(store, notice_id)
    return {
        "editor": record["drafted_by"],
        "reviewers": "、".join(r["actor"] for r in record["reviewed_by"]),
        "signers": "、".join(r["actor"] for r in record["signed_by"]),
    }
