"""What the portal reads from the store: live notices as their pages show them, page views.

A notice is *live* on the portal once a delivery of channel type ``portal`` has been posted.
A delivery cancelled after it was posted (``posted_at`` set) keeps its page, marked withdrawn,
so a link already shared on Weibo or WeChat still explains what happened. With several portal
deliveries, the first one posted holds the page (its time places the notice in the lists).

Lists show real notices or drills, never both, and leave out pages whose display period is
over (:class:`PortalScope`). Lists are newest first by (``posted_at``, notice id). Every read
costs what it shows, however large the archive: lists are read from indexes a page at a time
(keyset: a :class:`PortalCursor` names the last item seen; a small ``offset`` is allowed for
the first pages), and counts stop at a bound the caller gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo


def parse_time(value: Any, zone: ZoneInfo) -> datetime | None:
    """A time from a notice field: ISO 8601; without an offset it is local time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@dataclass(frozen=True)
class PortalNotice:
    """A notice as its portal page shows it."""

    id: int
    kind: str
    title: str  # the portal's rendered title
    body_html: str  # the portal's rendered body (sanitised again before it is served)
    body: str  # the notice's own text (CAP description)
    summary: str | None
    table: Mapping[str, Any] | None
    fields: Mapping[str, Any]
    urgent: bool
    created_at: datetime
    posted_at: datetime
    all_cancelled: bool
    withdrawn_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Lifecycle (issue 11): this notice's own ``follows`` (it is an update or a lift of
    # another), and its follow-up: ``{"notice_id", "relation", "title", "at", "reason"}``.
    follows: Mapping[str, Any] | None = None
    followed_by: Mapping[str, Any] | None = None

    def _followed(self, relation: str) -> bool:
        return self.followed_by is not None and self.followed_by.get("relation") == relation

    drill: bool = False  # drills (issue 11 C): shown on the drills page only

    @property
    def withdrawn(self) -> bool:
        """Withdrawn (撤回) by a follow-up, every delivery was cancelled, or the notice says
        it was withdrawn."""
        return (
            self._followed("withdraws") or self.all_cancelled or bool(self.fields.get("withdrawn"))
        )

    @property
    def lifted(self) -> bool:
        """Explicitly lifted (解除) by a later message."""
        return self._followed("lifts") or bool(self.fields.get("lifted"))

    @property
    def superseded(self) -> bool:
        """Updated: a newer notice replaces it (its page links there)."""
        return self._followed("updates")

    def valid_until(self, zone: ZoneInfo) -> datetime | None:
        """When the notice stops being in force (``fields.valid_until``), if it says."""
        return parse_time(self.fields.get("valid_until"), zone)

    def issued_at(self, zone: ZoneInfo) -> datetime:
        """When the issuer issued it (``fields.issued_at``), else when the page went live."""
        return parse_time(self.fields.get("issued_at"), zone) or self.posted_at

    def state(self, now: datetime, zone: ZoneInfo) -> str:
        """``withdrawn``, ``lifted``, ``superseded``, ``expired`` or ``active``."""
        if self.withdrawn:
            return "withdrawn"
        if self.lifted:
            return "lifted"
        if self.superseded:
            return "superseded"
        until = self.valid_until(zone)
        if until is not None and until <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class PortalScope:
    """Which live notices a list shows (drills, issue 11 C; display periods, issue 13).

    ``drills``: drills only (the drills page) instead of real notices only. ``shown_since``:
    per kind, the earliest ``posted_at`` still on display; older pages have left the lists.
    """

    drills: bool = False
    shown_since: Mapping[str, datetime] = field(default_factory=dict)


REAL = PortalScope()  # what every list shows unless told otherwise: no drills


@dataclass(frozen=True, order=True)
class PortalCursor:
    """A place in a list: the (``posted_at``, notice id) of an item. Items are ordered by it."""

    posted_at: datetime
    notice_id: int

    @classmethod
    def of(cls, notice: PortalNotice) -> PortalCursor:
        return cls(notice.posted_at, notice.id)


@dataclass(frozen=True)
class PortalPage:
    """One page of a list, newest first, and whether there are newer or older items."""

    items: list[PortalNotice]
    newer: bool  # items before the first one (a previous page)
    older: bool  # items after the last one (a next page)


class PortalReads(Protocol):
    """The store as the portal sees it. Reads are one consistent snapshot each."""

    async def portal_notice(self, notice_id: int) -> PortalNotice | None:
        """The live notice with this id, or None (never posted to a portal, or no such id)."""

    async def portal_version(self, notice_id: int) -> str | None:
        """A short token that changes whenever the notice's page may change (any of its
        deliveries, any event about it; a change to the notice itself must record an event),
        or None when there is no such notice. Cheap: asked on every request to key cached
        pages."""

    async def portal_notices(
        self,
        *,
        kinds: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 20,
        scope: PortalScope = REAL,
    ) -> list[PortalNotice]:
        """Live notices, newest page first, optionally of some kinds only. ``offset`` is
        read past in an index: keep it small (deep pages use :meth:`portal_page`)."""

    async def portal_page(
        self,
        *,
        kinds: Sequence[str] | None = None,
        before: PortalCursor | None = None,
        after: PortalCursor | None = None,
        offset: int = 0,
        limit: int = 20,
        scope: PortalScope = REAL,
    ) -> PortalPage:
        """``limit`` live notices, newest first: the newest ones older than ``before``, or
        the oldest ones newer than ``after`` (the page before), or from the newest on,
        skipping ``offset``. Pages following each other's cursors neither skip nor repeat."""

    async def portal_count(
        self,
        *,
        kinds: Sequence[str] | None = None,
        at_most: int | None = None,
        scope: PortalScope = REAL,
    ) -> int:
        """How many live notices (of these kinds); with ``at_most``, counting stops there
        (the answer is ``at_most`` when there are at least that many)."""

    async def portal_front_page(
        self, kinds: Iterable[str], per_kind: int, scope: PortalScope = REAL
    ) -> dict[str, list[PortalNotice]]:
        """The newest ``per_kind`` live notices of each kind, read in one snapshot."""

    async def portal_withdrawal_of(self, notice_id: int) -> int | None:
        """For a withdrawal (撤回, issue 11), the notice it withdrew (whose page says so);
        None for any other notice or id."""

    async def record_page_view(
        self, notice_id: int, day: date, visitor_hash: str, now: datetime
    ) -> bool:
        """Count one visitor on one notice for one day; False if already counted. Idempotent."""

    async def page_view_counts(self, notice_ids: Iterable[int]) -> dict[int, int]:
        """Counted page views per notice; notices without any (or unknown) are 0."""
