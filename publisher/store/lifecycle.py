"""Follow-ups of published notices (issue 11, part B): updates, lifts (解除), withdrawals (撤回).

A follow-up is a notice of its own, stored with the notice it follows (``follows_id``), how
(:data:`RELATIONS`) and the ``follows`` mapping its templates and adapters see. A notice has
at most one follow-up: an updated notice is superseded (the next change follows the newer
one), a lifted or withdrawn one is final. The original's state is read from its follow-up:
superseded by it, lifted at its time, or withdrawn at its time with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from publisher.errors import StateError
from publisher.store.records import NewDelivery, NoticeRecord, Submission

UPDATES = "updates"
LIFTS = "lifts"
WITHDRAWS = "withdraws"
RELATIONS = (UPDATES, LIFTS, WITHDRAWS)
# What a relation is called, in a sentence about the original ("已被 #7 更新").
VERBS = {UPDATES: "更新", LIFTS: "解除", WITHDRAWS: "撤回"}


@dataclass(frozen=True)
class FollowLink:
    """One side of a link: the other notice, the relation, and the follow-up's time."""

    notice_id: int  # the other notice (the original, or the follow-up)
    relation: str
    title: str  # the other notice's title
    at: datetime  # when the follow-up was made
    reason: str | None = None


@dataclass(frozen=True)
class NoticeLinks:
    """What a notice follows, and what follows it (each at most one)."""

    follows: FollowLink | None = None
    followed_by: FollowLink | None = None

    @property
    def final(self) -> bool:
        """Lifted or withdrawn: nothing may follow it any more."""
        return self.followed_by is not None and self.followed_by.relation != UPDATES


class FollowedAlready(StateError):
    """The notice already has a follow-up (found inside the store's transaction)."""

    def __init__(self, notice_id: int, link: FollowLink) -> None:
        self.notice_id = notice_id
        self.link = link
        super().__init__(
            f"通知 #{notice_id} 已于 {link.at.isoformat(timespec='seconds')} 被 "
            f"#{link.notice_id} {VERBS.get(link.relation, link.relation)}"
        )


class LifecycleStore(Protocol):
    """Follow-ups in, and the links between notices."""

    async def follow_up(
        self,
        *,
        original_id: int,
        relation: str,
        notice: Mapping[str, Any],
        follows: Mapping[str, Any],
        new_deliveries: Sequence[NewDelivery],
        source: str,
        actor: str,
        cancel_waiting: bool,
    ) -> Submission:
        """Store a follow-up of ``original_id`` (``notice`` as for ``submit``, plus the
        ``follows`` mapping) with its deliveries and events in one transaction, and an event
        on the original. With ``cancel_waiting``, the original's deliveries that have not
        started (pending, waiting to retry) are cancelled in the same transaction.

        Idempotent by ``notice["idempotency_key"]`` like ``submit``. Raises NotFoundError
        (no such original), :class:`FollowedAlready` when the original already has a
        follow-up (also when two follow-ups race), StateError when the original is itself a
        lift or a withdrawal, ValueError for an unknown relation."""

    async def notice_links(self, notice_id: int) -> NoticeLinks:
        """The notice's links. Raises NotFoundError."""

    async def notice_by_key(self, key: str) -> int | None:
        """The notice stored under this idempotency key, or None."""

    async def current_version(self, notice_id: int) -> int:
        """The newest notice of the update chain starting at ``notice_id`` (itself when it
        was never updated). Raises NotFoundError."""

    async def open_warnings(self, kind: str, created_after: datetime) -> list[NoticeRecord]:
        """Notices of ``kind`` made after ``created_after`` that nothing follows and that
        are not themselves lifts or withdrawals, with their deliveries, oldest first."""
