"""Delivery states and the notice status derived from them.

    pending ──claim──> leased ──mark──> sending ──> posted
       ^                 │                 │  └──> confirming ──> posted   (two-phase channels)
       │            lease expired          ├──> retry_wait ──(due)──> leased
       └─────────────────┘                 ├──> failed        (permanent, or attempts exhausted)
                                           └──> needs_review  (unknown outcome, can't ask)
    any non-final state ──> cancelled;  failed / needs_review ──retry──> pending

A delivery found in ``sending`` with an expired lease is reconciled before anything else.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Status(enum.StrEnum):
    PENDING = "pending"
    LEASED = "leased"
    SENDING = "sending"
    CONFIRMING = "confirming"
    POSTED = "posted"
    RETRY_WAIT = "retry_wait"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"
    CANCELLED = "cancelled"


FINAL = frozenset({Status.POSTED, Status.FAILED, Status.NEEDS_REVIEW, Status.CANCELLED})
RETRYABLE = frozenset({Status.FAILED, Status.NEEDS_REVIEW, Status.CANCELLED})
CANCELLABLE = frozenset(
    {Status.PENDING, Status.RETRY_WAIT, Status.LEASED, Status.NEEDS_REVIEW, Status.FAILED}
)
IN_FLIGHT = frozenset({Status.LEASED, Status.SENDING})


def notice_status(statuses: Iterable[str]) -> str:
    """What a person would call the state of a notice, from its deliveries' states."""
    values = set(statuses)
    if not values:
        return "empty"
    if values == {Status.POSTED}:
        return "posted"
    if values <= FINAL:
        if Status.POSTED in values:
            return "partial"
        if Status.NEEDS_REVIEW in values:
            return "needs_review"
        if values == {Status.CANCELLED}:
            return "cancelled"
        return "failed"
    if values & {Status.LEASED, Status.SENDING, Status.CONFIRMING, Status.POSTED}:
        return "sending"
    return "queued"
