"""The portal's reads of follow-ups (issue 11): what follows each notice shown, and a
withdrawn notice as its page shows it (the state, the reason, the time, not the content)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from publisher.store.portal import PortalNotice
from publisher.store.schema import notices

WITHDRAWS = "withdraws"
N = notices.c
# What a withdrawn notice's page may still show of its fields: what it was, not what it said.
KEPT_FIELDS = ("issuer", "department", "signal", "color", "level")


def followed_by(conn: Connection, notice_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each notice's follow-up, by the notice's id (notices without one are absent)."""
    if not notice_ids:
        return {}
    rows = conn.execute(
        select(N.id, N.follows_id, N.relation, N.title, N.created_at, N.follows).where(
            N.follows_id.in_(list(notice_ids))
        )
    ).all()
    return {
        int(r.follows_id): {
            "notice_id": int(r.id),
            "relation": r.relation,
            "title": r.title,
            "at": r.created_at,
            "reason": (r.follows or {}).get("reason"),
        }
        for r in rows
    }


def withdrawn_notice(
    m: Mapping[str, Any], parts: Mapping[str, Any], after: dict[str, Any]
) -> PortalNotice:
    """A withdrawn notice: its title and state only; its text, table and attachments are
    no longer shown anywhere (page, downloads, CAP)."""
    fields = m["fields"] or {}
    return PortalNotice(
        id=int(m["id"]),
        kind=m["kind"],
        title=str(parts.get("title") or m["title"]),
        body_html="",
        body="",
        summary=None,
        table=None,
        fields={k: fields[k] for k in KEPT_FIELDS if k in fields},
        urgent=bool(m["urgent"]),
        created_at=m["created_at"],
        posted_at=m["posted_at"],
        all_cancelled=False,
        withdrawn_at=after["at"],
        follows=m["follows"],
        followed_by=after,
    )


def withdrawal_of(conn: Connection, notice_id: int) -> int | None:
    found = conn.execute(
        select(N.follows_id).where(N.id == notice_id, N.relation == WITHDRAWS)
    ).scalar()
    return None if found is None else int(found)
