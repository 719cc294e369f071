"""The portal's side of follow-ups (issue 11): what a page says about updates, lifts and
withdrawals, and how CAP messages name them.

* The original's page: 已更新 with a link to the newer notice; 已解除 with the time;
  已撤回 with the reason and the time, and none of its content (the store hands a withdrawn
  notice without it; ``publisher.store.sql.portal_lifecycle``).
* An update's page links back ("本预警更新了…"); a lift's page is short (its templates) and
  links to the warning it lifts. A withdrawal has no page of its own: the portal adapter
  answers with the original's page, and the store keeps both out of every list and feed.
* CAP: an update is ``msgType`` Update and a lift is Cancel, each with ``references``
  (``sender,identifier,sent``) to the message of the notice it follows. An original lifted by
  a follow-up stays the Alert it was (urgency Past): the Cancel is the lift's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from publisher.store.portal import PortalNotice, parse_time

FOLLOW_WORDS = {"updates": "更新了", "lifts": "解除了"}


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def page_values(notice: PortalNotice, page: Callable[[int], str], zone: ZoneInfo) -> dict[str, Any]:
    """What ``pages/notice.html`` shows of the notice's links (``page``: a notice's URL)."""
    after = notice.followed_by or {}
    relation = after.get("relation")
    follows = notice.follows or {}
    values: dict[str, Any] = {
        "newer_url": page(after["notice_id"]) if relation == "updates" else None,
        "newer_title": after.get("title") if relation == "updates" else None,
        "lifted_at": _local(after.get("at"), zone)
        if relation == "lifts"
        else str(notice.fields.get("lifted_at") or ""),
        "withdrawn_reason": after.get("reason")
        if relation == "withdraws"
        else str(notice.fields.get("withdrawn_reason") or ""),
        "withdrawn_at": _local(after.get("at"), zone) if relation == "withdraws" else "",
        "hide_content": relation == "withdraws",
        "follows_word": FOLLOW_WORDS.get(str(follows.get("relation"))),
        "follows_url": page(int(follows["notice_id"])) if follows.get("notice_id") else None,
        "follows_title": follows.get("title"),
        "follows_changes": follows.get("changes"),
    }
    return values


def in_force_now(notice: PortalNotice, now: datetime, zone: ZoneInfo) -> bool:
    """In the front page's "warnings in force": active (not withdrawn, lifted, superseded or
    expired) and not itself a lift."""
    lift = (notice.follows or {}).get("relation") == "lifts"
    return not lift and notice.state(now, zone) == "active"


def cap_kind(
    notice: PortalNotice, state: str, original_id: Callable[[int], str]
) -> tuple[str | None, str | None, str | None]:
    """For a follow-up: its ``msgType``, the referenced message's identifier and its
    ``sent`` (as stored, ISO); (None, None, None) for any other notice."""
    follows = notice.follows or {}
    relation = follows.get("relation")
    if relation not in ("updates", "lifts") or not follows.get("notice_id"):
        return None, None, None
    msg_type = "Update" if relation == "updates" else "Cancel"
    return msg_type, original_id(int(follows["notice_id"])), follows.get("posted_at")


def lifted_by_follow_up(notice: PortalNotice) -> bool:
    """Lifted by a lift notice of its own (whose CAP message is the Cancel)."""
    return (notice.followed_by or {}).get("relation") == "lifts"


def sent_time(value: Any, zone: ZoneInfo) -> datetime | None:
    return parse_time(value, zone)
