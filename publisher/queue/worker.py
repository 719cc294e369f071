"""The worker: claim due deliveries, send each through its adapter, record what happened.

One dispatcher loop claims work (woken at once by new work, else by the next due time or the
poll interval) and runs every delivery as its own task, so one slow or dead channel never
holds up another: per-account concurrency, rate limits and circuit breakers are decided at
claim time, in the database, and so hold across every worker process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from publisher.contract import Clock, Idempotency, PublishResult
from publisher.errors import (
    AuthExpired,
    ChannelError,
    OutcomeUnknown,
    PermanentError,
)
from publisher.queue.admission import AdmissionPolicy
from publisher.queue.retry import NOT_ASKED, REVIEW_HINT, RetryPolicy, describe
from publisher.registry import Account, Channels
from publisher.states import Status
from publisher.store.base import Store
from publisher.store.records import AccountLimits, Claimed, ClaimRequest, Job, Outcome

log = logging.getLogger("publisher.worker")


@dataclass(frozen=True)
class WorkerConfig:
    concurrency: int = 64
    poll_interval: float = 0.5
    lease_seconds: float = 30.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    # Under load, claims at most this often: work that arrives meanwhile (each PostgreSQL
    # NOTIFY wakes every worker) is taken by the next claim together, not one claim each.
    # A wake after a quiet spell still claims at once.
    claim_gap: float = 0.02


class Worker:
    def __init__(
        self,
        store: Store,
        channels: Channels,
        clock: Clock,
        policy: RetryPolicy,
        config: WorkerConfig,
    ) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.policy = policy
        self.config = config
        self.admission = AdmissionPolicy(config.breaker_threshold, config.breaker_cooldown)
        # At most 80 characters whatever the host's name (ids are stored in 100).
        self.id = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()
        self._limits = channels.limits()
        self._backlog = False
        self._stopping = False
        self.running = False

    # -- control --------------------------------------------------------------------------

    def wake(self) -> None:
        """New work exists: claim now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Run until cancelled or ``stop()``; in-flight deliveries finish before returning."""
        await self.store.register_worker(self.id, socket.gethostname()[:200], os.getpid())
        heartbeat = asyncio.create_task(self._heartbeat(), name="lease-heartbeat")
        self.running = True
        try:
            await self._loop()
        finally:
            self.running = False
            heartbeat.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self.config.lease_seconds)
            with contextlib.suppress(Exception):
                await self.store.unregister_worker(self.id)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    # -- the loop -------------------------------------------------------------------------

    async def _loop(self) -> None:
        limits = self._limits
        loop = asyncio.get_running_loop()
        last_claim = -1e9
        while not self._stopping:
            since = loop.time() - last_claim
            if since < self.config.claim_gap:
                await asyncio.sleep(self.config.claim_gap - since)
            last_claim = loop.time()
            self._wake.clear()
            asked = self.clock.now()
            free = self.config.concurrency - len(self._tasks)
            hint: float | None = None
            claimed: list[Claimed] = []
            eligible = {a: lim for a, lim in limits.items() if self._has_room(a, lim)}
            if free > 0 and eligible:
                try:
                    claimed, hint = await self.store.claim(self._request(eligible), free)
                except Exception:
                    log.exception("claiming failed; trying again shortly")
                    hint = self.config.poll_interval
                for item in claimed:
                    self._start(item)
            self._backlog = (
                bool(claimed) or hint is not None or free <= 0 or (len(eligible) < len(limits))
            )
            timeout = await self._sleep_for(hint, busy=bool(claimed), asked=asked)
            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)

    def claim_request(self, urgent: bool) -> ClaimRequest | None:
        """Offer to take a new notice's deliveries at submit, if that jumps no queue.

        Urgent work always may; routine work only when nothing is waiting here already.
        """
        if not self.running or self._stopping:
            return None
        if len(self._tasks) >= self.config.concurrency or (self._backlog and not urgent):
            return None
        limits = {a: lim for a, lim in self._limits.items() if self._has_room(a, lim)}
        if not limits:
            return None
        return self._request(limits)

    def _request(self, limits: Mapping[str, AccountLimits]) -> ClaimRequest:
        return ClaimRequest(self.id, limits, self.config.lease_seconds, self.admission)

    def adopt(self, claimed: Sequence[Claimed]) -> None:
        """Start deliveries claimed on this worker's behalf (at submit)."""
        for item in claimed:
            self._start(item)

    def _has_room(self, account: str, limit: AccountLimits) -> bool:
        """Claim for an account only when half its slots here are free (claims in batches)."""
        mine = self._in_flight[account]
        return mine == 0 or limit.max_concurrency - mine >= max(1, limit.max_concurrency // 2)

    def _start(self, item: Claimed) -> None:
        account = item.delivery.account
        self._in_flight[account] += 1
        task = asyncio.create_task(self._run(item), name=f"delivery-{item.delivery.id}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, account))

    def _done(self, task: asyncio.Task[None], account: str) -> None:
        self._tasks.discard(task)
        self._in_flight[account] -= 1
        if self._backlog:
            self._wake.set()

    async def _sleep_for(self, hint: float | None, busy: bool, asked: datetime) -> float:
        timeout = self.config.poll_interval
        if hint is not None:
            timeout = min(timeout, max(hint, 0.01))
        if busy:
            return timeout  # completions wake us; no need to ask for the next due time
        try:
            # Only what falls due after we asked: work due then but not claimed is held back
            # (rate limit, breaker, full slots) and the hint or a completion wakes us for it;
            # counting it would make the loop spin.
            due = await self.store.next_due(after=asked)
        except Exception:
            return timeout
        if due is not None:
            timeout = min(timeout, max((due - self.clock.now()).total_seconds(), 0.0))
        return timeout

    async def _heartbeat(self) -> None:
        interval = self.config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self.store.renew_leases(self.id, self.config.lease_seconds)
            except Exception:
                log.exception("could not renew leases")

    # -- one delivery ---------------------------------------------------------------------

    async def _run(self, item: Claimed) -> None:
        try:
            account = self.channels.get(item.delivery.account)
            if item.job is Job.CONFIRM:
                outcome = await self._confirm(account, item)
            elif item.job is Job.RECONCILE:
                outcome = await self._reconcile(account, item)
            else:
                outcome = await self._publish(account, item)
            if outcome is not None:
                await self._finish(item, outcome)
        except Exception:
            log.exception("delivery %s: unexpected error; its lease will expire", item.delivery.id)

    async def _finish(self, item: Claimed, outcome: Outcome) -> None:
        done = await self.store.finish(item.delivery, self.id, outcome, self.admission)
        if not done:
            log.warning("delivery %s: lease lost before the outcome was recorded", item.delivery.id)

    async def _publish(self, account: Account, item: Claimed) -> Outcome | None:
        attempts = item.delivery.attempts
        if not item.marked:
            if not await self.store.mark_sending(item.delivery, self.id):
                return None  # lease lost: someone else owns it now; do not send
            attempts += 1
        post = item.outgoing()
        adapter = account.adapter
        caps = account.capabilities
        try:
            try:
                result = await adapter.publish(post)
            except AuthExpired:
                await adapter.refresh_credentials()
                result = await adapter.publish(post)
        except ChannelError as exc:
            return self._after_error(exc, account, attempts, item)
        except Exception as exc:
            log.exception("delivery %s: adapter raised an unexpected error", item.delivery.id)
            return self._after_error(
                OutcomeUnknown(f"意外错误 {type(exc).__name__}: {exc}"), account, attempts, item
            )
        return self._success(result, "posted", caps.idempotency)

    async def _reconcile(self, account: Account, item: Claimed) -> Outcome | None:
        caps = account.capabilities
        if caps.idempotency is Idempotency.NONE:
            return Outcome(
                to_status=Status.NEEDS_REVIEW,
                action="needs_review",
                reason="之前的尝试可能已送达，而该渠道无法查询" + REVIEW_HINT,
            )
        if caps.idempotency is Idempotency.LOOKUP:
            try:
                found = await account.adapter.lookup(item.outgoing())
            except PermanentError as exc:
                return Outcome(
                    to_status=Status.NEEDS_REVIEW,
                    action="needs_review",
                    error=str(exc),
                    reason=f"{NOT_ASKED}（{describe(exc)}）" + REVIEW_HINT,
                )
            except ChannelError as exc:
                # Still unknown whether it arrived: ask again later. Publishing now (or from
                # retry_wait, which claims as a fresh publish) could post it twice.
                return self.policy.after_lookup_error(
                    exc,
                    lookups=item.delivery.lookups,
                    max_attempts=item.delivery.max_attempts,
                    now=self.clock.now(),
                )
            if found is not None:
                return self._success(found, "reconciled", caps.idempotency)
        # Not on the channel (lookup said so), or the channel honours our key: send again.
        return await self._publish(account, item)

    async def _confirm(self, account: Account, item: Claimed) -> Outcome | None:
        try:
            result = await account.adapter.confirm(item.delivery.as_ref())
        except PermanentError as exc:
            return self._after_error(exc, account, item.delivery.attempts, item)
        except ChannelError as exc:
            return Outcome(
                to_status=Status.CONFIRMING,
                action="confirm_retry",
                reason=describe(exc),
                not_before=self.clock.now() + _seconds(self.policy.backoff.delay(1)),
            )
        return self._success(result, "posted", account.capabilities.idempotency)

    def _success(self, result: PublishResult, action: str, _idem: Idempotency) -> Outcome:
        if result.confirming:
            return Outcome(
                to_status=Status.CONFIRMING,
                action="confirming",
                remote_id=result.remote_id,
                url=result.url,
                detail=dict(result.detail) or None,
                note=result.note,
                not_before=self.clock.now() + _seconds(result.confirm_after),
                reason="渠道已受理，等待其完成发布",
                success=True,
            )
        return Outcome(
            to_status=Status.POSTED,
            action=action,
            remote_id=result.remote_id,
            url=result.url,
            detail=dict(result.detail) or None,
            note=result.note,
            success=True,
            reason=result.note or ("在渠道上找到了之前的发布" if action == "reconciled" else None),
        )

    def _after_error(
        self, exc: ChannelError, account: Account, attempts: int, item: Claimed
    ) -> Outcome:
        return self.policy.after_error(
            exc,
            attempts=attempts,
            max_attempts=item.delivery.max_attempts,
            idempotency=account.capabilities.idempotency,
            now=self.clock.now(),
        )


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
