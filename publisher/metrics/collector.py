"""The metrics collector: ask every channel for the numbers of its posts, on a decaying
schedule (``publisher.metrics.schedule``).

Runs on the scheduler (``publisher serve``, hourly by default) and at once with ``publisher
reach collect``. Per account that declares metrics: the posted deliveries old enough for the
channel's lag (WeChat: T+1) and young enough for the schedule's last step are read with when
each was last asked for; those due are asked for, the most overdue first, at most
``max_posts`` per account per run (the rest wait for the next run), in batches of
:data:`BATCH`. Samples are appended (never changed), each with its source and as-of time.

Never silent: every account's run is recorded (:meth:`record_collection`: last success, last
error, consecutive failures), logged, returned to the caller and shown by ``doctor``. A
failed batch stops that account for this run; what it did not reach stays due, so the next
run retries it. A channel that says "slow down" (``RateLimited``: WeChat 45009, the daily
quota; Weibo 10022-10024) is left alone until the time it named. One account's failure never
stops the others. A post the channel no longer knows (a deleted Weibo post is silently left
out of ``statuses/count``) gets no sample — never a zero — and is counted as ``silent``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from publisher.contract import Clock
from publisher.errors import ChannelError, RateLimited
from publisher.metrics.samples import add_samples
from publisher.metrics.schedule import (
    DEFAULT_SCHEDULE,
    Step,
    is_due,
    max_age,
    overdue,
    parse_schedule,
)
from publisher.registry import Account, Channels
from publisher.store.base import Store

log = logging.getLogger("publisher.metrics")
BATCH = 100
MAX_POSTS = 1000


@dataclass(frozen=True)
class Collected:
    account: str
    posts: int  # asked for this run
    samples: int  # stored
    error: str | None = None
    silent: int = 0  # asked for, but the channel had no numbers (deleted, not yet counted)
    deferred: int = 0  # due, left for the next run (max_posts, or the failure stopped us)
    failures: int = 0  # consecutive failed runs, this one included
    waiting_until: datetime | None = None  # a quota said: not before then (nothing asked)


async def collect_once(
    store: Store,
    channels: Channels,
    clock: Clock,
    window_days: float | None = None,
    *,
    schedule: str | Sequence[Step] = DEFAULT_SCHEDULE,
    max_posts: int = MAX_POSTS,
) -> list[Collected]:
    """One collection run over every account that declares metrics; one result each.

    ``window_days`` (optional) stops asking for posts older than that even if the schedule
    goes further."""
    steps = parse_schedule(schedule) if isinstance(schedule, str) else tuple(schedule)
    oldest = max_age(steps)
    if window_days is not None:
        oldest = min(oldest, timedelta(days=window_days))
    now = clock.now()
    health = {h.account: h for h in await store.collection_health()}
    results = []
    for account in channels:
        if not account.capabilities.metrics:
            continue
        state = health.get(account.name)
        if state is not None and state.retry_after is not None and state.retry_after > now:
            results.append(
                Collected(
                    account.name,
                    0,
                    0,
                    state.last_error,
                    failures=state.failures,
                    waiting_until=state.retry_after,
                )
            )
            continue
        results.append(await _collect_account(store, account, now, steps, oldest, max_posts))
    return results


async def _collect_account(
    store: Store,
    account: Account,
    now: datetime,
    steps: Sequence[Step],
    oldest: timedelta,
    max_posts: int,
) -> Collected:
    lag = timedelta(seconds=account.capabilities.metrics_lag_seconds)
    polled = await store.polled_refs(account.name, now - oldest, now - lag)
    due = [
        p
        for p in polled
        if p.ref.posted_at is None or is_due(p.ref.posted_at, p.polled_at, now, steps, lag)
    ]
    due.sort(key=lambda p: overdue(p.ref.posted_at or now, p.polled_at, now, steps), reverse=True)
    asked = stored = silent = 0
    error: str | None = None
    retry_after: datetime | None = None
    for start in range(0, min(len(due), max_posts), BATCH):
        refs = [p.ref for p in due[start : min(start + BATCH, max_posts)]]
        try:
            samples = await account.adapter.fetch_metrics(refs)
        except RateLimited as exc:
            error = f"{type(exc).__name__}: {exc}"
            retry_after = now + timedelta(seconds=max(exc.retry_after, 0.0))
            log.warning("metrics for %s: quota: %s (until %s)", account.name, exc, retry_after)
            break
        except ChannelError as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("metrics for %s: %s", account.name, error)
            break
        except Exception as exc:  # an adapter bug: named, and the other accounts go on
            error = f"{type(exc).__name__}: {exc}"
            log.exception("metrics for %s failed", account.name)
            break
        stored += await add_samples(store, samples)
        got = Counter(s.delivery_id for s in samples)
        await store.mark_polled({r.delivery_id: got.get(r.delivery_id, 0) for r in refs}, now)
        asked += len(refs)
        silent += sum(1 for r in refs if not got.get(r.delivery_id))
    state = await store.record_collection(account.name, now, error, retry_after)
    if error is None and silent:
        log.info("metrics for %s: %d posts had no numbers", account.name, silent)
    return Collected(
        account.name,
        asked,
        stored,
        error,
        silent=silent,
        deferred=len(due) - asked,
        failures=state.failures,
        waiting_until=retry_after,
    )
