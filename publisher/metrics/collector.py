"""The metrics collector: ask every channel for the numbers of its recent posts.

Runs on the scheduler (``publisher serve``). Per account, only posts old enough for the
channel's declared lag (WeChat: T+1) and young enough to still change (``metrics_window_days``)
are asked for, in batches; one account's failure never stops the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from publisher.contract import Clock
from publisher.errors import ChannelError
from publisher.metrics.samples import add_samples, posted_refs
from publisher.registry import Channels
from publisher.store.base import ReachStore

log = logging.getLogger("publisher.metrics")
BATCH = 100


@dataclass(frozen=True)
class Collected:
    account: str
    posts: int
    samples: int
    error: str | None = None


async def collect_once(
    store: ReachStore, channels: Channels, clock: Clock, window_days: float = 30.0
) -> list[Collected]:
    now = clock.now()
    results = []
    for account in channels:
        caps = account.capabilities
        if not caps.metrics:
            continue
        refs = await posted_refs(
            store,
            account.name,
            posted_after=now - timedelta(days=window_days),
            posted_before=now - timedelta(seconds=caps.metrics_lag_seconds),
        )
        stored = 0
        error = None
        for start in range(0, len(refs), BATCH):
            try:
                samples = await account.adapter.fetch_metrics(refs[start : start + BATCH])
            except ChannelError as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning("metrics for %s: %s", account.name, error)
                break
            stored += await add_samples(store, samples)
        results.append(Collected(account.name, len(refs), stored, error))
    return results
