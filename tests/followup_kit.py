"""What the follow-up channel tests (issue 11: tests/channels/test_followups_*.py) share: the
notice a post carries and the ``follows`` mapping a follow-up carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from publisher.contract import NoticeView

PORTAL = "https://www.ajj.example.gov.cn"
NOW = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
POSTED_AT = "2026-07-01T14:00:00+08:00"  # when the original went out (NOW, Beijing time)


def follows_of(
    relation: str, notice_id: int, title: str, reason: str | None = None
) -> dict[str, Any]:
    """``NoticeView.follows`` of a follow-up of notice ``notice_id`` (posted at NOW)."""
    return {
        "relation": relation,
        "notice_id": notice_id,
        "title": title,
        "reason": reason,
        "changes": None,
        "posted_at": POSTED_AT,
        "url": f"{PORTAL}/portal/notices/{notice_id}",
    }


def notice_view(
    notice_id: int,
    kind: str,
    title: str,
    *,
    body: str = "正文",
    fields: dict[str, Any] | None = None,
    follows: dict[str, Any] | None = None,
) -> NoticeView:
    """A notice made at NOW, urgent when it is a weather warning."""
    return NoticeView(
        id=notice_id,
        kind=kind,
        title=title,
        body=body,
        summary=None,
        table=None,
        fields=fields or {},
        urgent=kind == "weather_warning",
        publish_at=None,
        created_at=NOW,
        follows=follows,
    )
