"""Reading and writing metric samples (the store side of reach), through the store's API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from publisher.contract import MetricSample, PostRef
from publisher.store.base import ReachStore


async def posted_refs(
    store: ReachStore, account: str, posted_after: datetime, posted_before: datetime
) -> list[PostRef]:
    """Posts of an account whose numbers are worth asking for now."""
    return await store.posted_refs(account, posted_after, posted_before)


async def add_samples(store: ReachStore, samples: Sequence[MetricSample]) -> int:
    """Store samples; returns how many."""
    return await store.add_metric_samples(samples)


async def latest(store: ReachStore, delivery_ids: Sequence[int]) -> dict[int, dict[str, object]]:
    """The newest value of each metric per delivery, with when it was observed."""
    return await store.latest_metrics(delivery_ids)
