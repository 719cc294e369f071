"""What the store gives back about the review chain (publisher/review): plain records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from publisher.errors import StateError

if TYPE_CHECKING:
    from publisher.store.records import NewDelivery, Submission


class ReviewState(StrEnum):
    AWAITING = "awaiting_review"  # a step is open (held, or released on the fast path)
    REJECTED = "rejected"  # back with its author, who may revise and resubmit
    APPROVED = "approved"  # every step approved


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ReviewRefused(StateError):
    """This person may not decide this step: their own notice, or they decided already in
    this chain (HTTP 403; StateError elsewhere, so the CLI exits 2)."""


@dataclass(frozen=True)
class DecisionRecord:
    round: int
    step: int
    actor: str
    decision: str
    comment: str | None
    fingerprint: str
    at: datetime


@dataclass(frozen=True)
class ReviewRecord:
    notice_id: int
    state: str
    steps: list[Mapping[str, Any]]  # each {"role": R} or {"users": [...]}, with "all"
    step: int  # the open step (== len(steps) once approved)
    round: int  # 1, and one more for each revision
    fingerprint: str  # the content approvals bind to
    drafted_by: str
    fast_path: bool  # released at once by a duty officer: reviewed after the fact
    released_by: str | None
    released_at: datetime | None
    told: Mapping[str, Any] | None  # whom the open step's people were told, or why not
    updated_at: datetime
    held: int = 0  # deliveries waiting for the last approval
    warnings: list[str] = field(default_factory=list)  # content checks, for the reviewers
    decisions: list[DecisionRecord] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        """Released before its review was done (待补审)."""
        return self.released_at is not None and self.state != ReviewState.APPROVED

    def current(self) -> list[DecisionRecord]:
        """The decisions of this round (a revision voids the earlier rounds')."""
        return [d for d in self.decisions if d.round == self.round]


@dataclass(frozen=True)
class Decided:
    """What a decision did: the review after it, and whether it released the notice now."""

    review: ReviewRecord
    advanced: bool  # the step closed (the next one is open, or the chain is done)
    released: bool  # this decision released the held deliveries


class ReviewStore(Protocol):
    """Notices held for review, their decisions, release at the last approval, revision;
    and the people the chain needs (OA ids, holders of a role). See
    ``publisher/store/sql/reviews.py``; ``tests/contract/test_reviews_store.py`` checks it."""

    async def submit_for_review(
        self,
        *,
        notice: Mapping[str, Any],
        held: Sequence[NewDelivery],
        source: str,
        actor: str,
        steps: Sequence[Mapping[str, Any]],
        release_now: bool = False,
        duplicate_window: timedelta | None = None,
        warnings: Sequence[str] = (),
    ) -> Submission:
        """Store the notice with its review and no delivery (held until the last approval),
        in one transaction; ``release_now``: the deliveries are inserted at once (fast path).
        Idempotency and the duplicate guard as :meth:`NoticeStore.submit`."""

    async def decide_review(
        self,
        notice_id: int,
        *,
        step: int,
        actor: str,
        decision: Decision,
        comment: str | None,
        required: frozenset[str] | None,
        fingerprint: str | None = None,
    ) -> Decided:
        """Approve or reject the open ``step`` (exactly one of concurrent deciders wins; the
        last approval releases the held deliveries in the same transaction). Raises
        NotFoundError, ReviewRefused (own notice, decided already this round), StateError
        (step no longer open, content changed)."""

    async def revise_review(
        self,
        notice_id: int,
        *,
        actor: str,
        notice: Mapping[str, Any],
        held: Sequence[NewDelivery],
        steps: Sequence[Mapping[str, Any]],
        warnings: Sequence[str] = (),
    ) -> ReviewRecord:
        """The author replaces an unreleased notice's content: approvals void, next round."""

    async def review_of(self, notice_id: int) -> ReviewRecord | None:
        """The notice's review, None when it had none."""

    async def open_reviews(self, limit: int = 500) -> list[ReviewRecord]:
        """Reviews not yet approved, oldest first."""

    async def note_review_told(self, notice_id: int, told: Mapping[str, Any]) -> None:
        """Remember whom the open step's people were told, or why nobody could be."""

    async def set_oa_id(self, name: str, oa_id: str | None) -> None:
        """Set or clear a user's OA id. Raises NotFoundError."""

    async def oa_ids(self, names: Iterable[str]) -> dict[str, str]:
        """The OA ids of the named users that have one."""

    async def holders(self, role: str) -> list[str]:
        """Enabled users holding ``role``, by name."""
