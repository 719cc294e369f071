"""What the store promises for reach collection and OA read receipts (issue 14).

Part of :class:`publisher.store.base.Store`; ``publisher/store/sql/collection.py``
implements it and ``tests/contract/test_collection_store.py`` checks it over both backends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from publisher.contract import PostRef


@dataclass(frozen=True)
class Polled:
    """A posted delivery and when the collector last asked for its numbers (None: never)."""

    ref: PostRef
    polled_at: datetime | None


@dataclass(frozen=True)
class CollectionHealth:
    """How reach collection went for one channel account."""

    account: str
    last_run_at: datetime
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failures: int  # consecutive failed runs; 0 after a success
    retry_after: datetime | None  # a quota said: not before then


@dataclass(frozen=True)
class Reader:
    """One recipient of an OA message: read (or acknowledged) when, nudged when."""

    user_id: str
    read_at: datetime | None
    how: str | None  # "read" | "acknowledged"
    nudged_at: datetime | None


class CollectionStore(Protocol):
    """The collector's schedule state, its per-account health, and OA readers."""

    async def polled_refs(
        self, account: str, posted_after: datetime, posted_before: datetime
    ) -> list[Polled]:
        """The account's posted deliveries with ``posted_at`` in the closed range, oldest
        first, each with when it was last asked for (see :meth:`mark_polled`)."""

    async def mark_polled(self, polled: Mapping[int, int], at: datetime) -> None:
        """Record that the deliveries (id -> how many samples came back) were asked for at
        ``at``, in one transaction. Idempotent."""

    async def record_collection(
        self, account: str, at: datetime, error: str | None, retry_after: datetime | None = None
    ) -> CollectionHealth:
        """One collection run of ``account`` ended: a success (``error`` None) resets the
        failure count and the retry time; a failure counts one more. Returns the new state."""

    async def collection_health(self) -> list[CollectionHealth]:
        """Every account's collection state, by account name."""

    async def record_reads(self, delivery_id: int, reads: Mapping[str, datetime], how: str) -> int:
        """Record that these recipients read (``how`` "read") or acknowledged the delivery's
        message, each as of its time; the first time seen is kept (a later report changes
        nothing). Returns how many were new. Raises NotFoundError for an unknown delivery."""

    async def add_recipients(self, delivery_id: int, users: Sequence[str]) -> None:
        """Make sure every recipient has a row (unread until a read is recorded). Idempotent."""

    async def readers(self, delivery_ids: Sequence[int]) -> dict[int, list[Reader]]:
        """Per delivery, its recipients by user id (deliveries without any are absent)."""

    async def claim_nudges(self, delivery_id: int, users: Sequence[str], at: datetime) -> list[str]:
        """Mark as nudged at ``at`` those of ``users`` who have neither read nor been nudged,
        in one transaction; returns them. Each recipient is returned at most once, ever,
        also when two callers race."""
