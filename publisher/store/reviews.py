"""What the store gives back about the review chain (publisher/review): plain records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from publisher.errors import StateError


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
