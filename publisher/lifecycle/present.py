"""A notice's links as ``notice show`` and ``GET /api/notices/{id}`` give them.

JSON: ``"follows"`` (what this follow-up follows) and ``"followed_by"`` (its follow-up), each
``{"notice_id", "relation", "title", "reason", "at"}`` or null. Text: one line each.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from publisher import labels
from publisher.store.lifecycle import VERBS, FollowLink, NoticeLinks


def link_json(link: FollowLink | None) -> dict[str, Any] | None:
    if link is None:
        return None
    return {
        "notice_id": link.notice_id,
        "relation": link.relation,
        "title": link.title,
        "reason": link.reason,
        "at": link.at.isoformat(),
    }


def links_json(links: NoticeLinks) -> dict[str, Any]:
    return {"follows": link_json(links.follows), "followed_by": link_json(links.followed_by)}


def links_lines(data: dict[str, Any], zone: tzinfo) -> list[str]:
    """The text lines of ``data["follows"]`` / ``data["followed_by"]`` (none when absent)."""
    lines = []
    follows = data.get("follows")
    if follows:
        why = f"  原因: {follows['reason']}" if follows.get("reason") else ""
        lines.append(
            f"{VERBS.get(follows['relation'], follows['relation'])}通知 "
            f"#{follows['notice_id']} {follows['title']}{why}"
        )
    after = data.get("followed_by")
    if after:
        why = f"  原因: {after['reason']}" if after.get("reason") else ""
        lines.append(
            f"已于 {labels.when(after['at'], zone)} 被通知 #{after['notice_id']} "
            f"{VERBS.get(after['relation'], after['relation'])}{why}"
        )
    return lines
