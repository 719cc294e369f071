"""What happens after a failed attempt, decided by the error's class.

Duplicate          -> posted (the channel already has it)
RateLimited        -> retry_wait for the channel's retry-after; the attempt does not count
TransientError     -> retry_wait with exponential backoff and full jitter, until max attempts
OutcomeUnknown     -> reconcile (lookup / re-post with key) after a backoff, or needs_review
(a failed lookup while reconciling: ask again after a backoff, or needs_review; see
``after_lookup_error``)
AuthExpired        -> (the worker refreshed once already) retry_wait with backoff
PermanentError     -> failed at once, keeping the channel's own message
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from publisher.contract import Idempotency
from publisher.errors import (
    AuthExpired,
    ChannelError,
    Duplicate,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
)
from publisher.states import Status
from publisher.store.records import Outcome


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog, 2015)."""

    base: float = 2.0
    cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        return self.rng.uniform(0, ceiling)


NOT_ASKED = "无法向渠道查询之前的尝试是否已送达"
REVIEW_HINT = "；请到渠道上核实，然后重试或取消"


def describe(exc: ChannelError) -> str:
    code = f" [{exc.code}]" if exc.code is not None else ""
    return f"{exc.label}{code}: {exc}"


@dataclass(frozen=True)
class RetryPolicy:
    backoff: Backoff

    def after_error(
        self,
        exc: ChannelError,
        *,
        attempts: int,
        max_attempts: int,
        idempotency: Idempotency,
        now: datetime,
    ) -> Outcome:
        message = describe(exc)
        if isinstance(exc, Duplicate):
            return Outcome(
                to_status=Status.POSTED,
                action="posted",
                remote_id=exc.remote_id,
                url=exc.url,
                reason=f"渠道上已有这条发布（{message}）",
                success=True,
            )
        if isinstance(exc, PermanentError):
            return Outcome(
                to_status=Status.FAILED,
                action="failed",
                reason=message,
                error=str(exc),
            )
        if isinstance(exc, RateLimited):
            return Outcome(
                to_status=Status.RETRY_WAIT,
                action="rate_limited",
                reason=message,
                error=str(exc),
                not_before=now + timedelta(seconds=max(0.0, exc.retry_after)),
                refund_attempt=True,
            )
        wait = now + timedelta(seconds=self.backoff.delay(attempts))
        if isinstance(exc, OutcomeUnknown):
            if idempotency is Idempotency.NONE or attempts >= max_attempts:
                return Outcome(
                    to_status=Status.NEEDS_REVIEW,
                    action="needs_review",
                    error=str(exc),
                    reason=f"{message}；"
                    + (
                        "该渠道无法查询是否已送达"
                        if idempotency is Idempotency.NONE
                        else f"尝试 {attempts} 次后仍不确定是否送达"
                    )
                    + REVIEW_HINT,
                    failure=True,
                )
            return Outcome(
                to_status=Status.SENDING,
                action="unknown_outcome",
                reason=message,
                error=str(exc),
                not_before=wait,
                failure=True,
            )
        if attempts >= max_attempts:
            return Outcome(
                to_status=Status.FAILED,
                action="failed",
                error=str(exc),
                failure=True,
                reason=f"尝试 {attempts} 次后放弃：{message}",
            )
        if isinstance(exc, AuthExpired):
            message = f"凭据已刷新，仍被拒绝：{message}"
        return Outcome(
            to_status=Status.RETRY_WAIT,
            action="retry",
            reason=message,
            error=str(exc),
            not_before=wait,
            failure=True,
        )

    def after_lookup_error(
        self, exc: ChannelError, *, lookups: int, max_attempts: int, now: datetime
    ) -> Outcome:
        """The channel could not say whether an earlier attempt arrived (``lookups`` failed
        before this one). Each failed lookup waits longer than the one before; after
        ``max_attempts`` of them the delivery goes to review rather than asking forever.
        """
        if isinstance(exc, RateLimited):
            # The channel says when it can tell: no failure, no breaker, not counted.
            return Outcome(
                to_status=Status.SENDING,
                action="unknown_outcome",
                reason=f"查询失败：{describe(exc)}",
                not_before=now + timedelta(seconds=exc.retry_after),
            )
        failed = lookups + 1
        if failed >= max_attempts:
            return Outcome(
                to_status=Status.NEEDS_REVIEW,
                action="needs_review",
                error=str(exc),
                reason=f"{NOT_ASKED}（{failed} 次查询失败，最后一次：{describe(exc)}）"
                + REVIEW_HINT,
                failure=True,
                lookup_failed=True,
            )
        return Outcome(
            to_status=Status.SENDING,
            action="unknown_outcome",
            reason=f"查询失败：{describe(exc)}",
            error=str(exc),
            not_before=now + timedelta(seconds=self.backoff.delay(failed)),
            failure=True,
            lookup_failed=True,
        )
