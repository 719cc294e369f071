"""What a follow-up says: its ``follows`` mapping, and the notices a lift or withdrawal is.

An update is the person's own new notice. A lift (解除) and a withdrawal (撤回) are written
here from the original: ``【解除】<title>`` and ``【撤回】<title>``, a short body, and the
original's facts a channel needs to say what is lifted (a warning's signal, colour, level,
area, issuer). Every channel's template also gets ``notice.follows``::

    {"relation": "updates" | "lifts" | "withdraws",
     "notice_id": 5,                    # the original
     "title": "暴雨红色预警",           # the original's title
     "reason": "雨势减弱" | None,       # required for a withdrawal
     "changes": "由红色调整为橙色" | None,  # an update of a warning: what changed
     "posted_at": "2026-07-01T14:00:00+08:00" | None,  # the original's first post
     "url": "http://…/portal/notices/5"}  # the original's portal page
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from publisher import kinds, links
from publisher.errors import NoticeFormatError
from publisher.notice import NoticeInput, describe_validation_error
from publisher.store.lifecycle import LIFTS, UPDATES, WITHDRAWS
from publisher.store.portal import parse_time
from publisher.store.records import NoticeRecord

TITLE_MAX = 500
TAGS = {UPDATES: "【更新】", LIFTS: "【解除】", WITHDRAWS: "【撤回】"}
# What a lift carries over from the warning it lifts (a channel says what is lifted).
LIFT_KEEPS = ("issuer", "department", "signal", "color", "level", "area")


def first_posted(original: NoticeRecord) -> datetime | None:
    times = [d.posted_at for d in original.deliveries if d.posted_at is not None]
    return min(times) if times else None


def follows_mapping(
    relation: str,
    original: NoticeRecord,
    base_url: str,
    reason: str | None = None,
    changes: str | None = None,
) -> dict[str, Any]:
    """The ``follows`` mapping (module docstring); JSON-ready."""
    posted = first_posted(original)
    return {
        "relation": relation,
        "notice_id": original.id,
        "title": original.title,
        "reason": reason,
        "changes": changes,
        "posted_at": posted.isoformat() if posted else None,
        "url": links.notice_url(base_url, original.id),
    }


def _when(value: Any, zone: ZoneInfo) -> str | None:
    moment = parse_time(value, zone)
    return moment.astimezone(zone).strftime("%Y年%m月%d日%H时%M分") if moment else None


def _areas(value: Any) -> str:
    return "、".join(value) if isinstance(value, list) else str(value or "")


def warning_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], zone: ZoneInfo
) -> str | None:
    """What changed between two versions of a warning, in words (``由红色调整为橙色``)."""
    said: list[str] = []
    if before.get("signal") and after.get("signal") and before["signal"] != after["signal"]:
        said.append(f"信号由{before['signal']}调整为{after['signal']}")
    if before.get("color") and after.get("color") and before["color"] != after["color"]:
        said.append(f"由{before['color']}调整为{after['color']}")
    elif before.get("level") and after.get("level") and before["level"] != after["level"]:
        said.append(f"等级由{before['level']}级调整为{after['level']}级")
    if after.get("area") and _areas(before.get("area")) != _areas(after.get("area")):
        said.append(f"范围调整为{_areas(after['area'])}")
    until = _when(after.get("valid_until"), zone)
    if until and _when(before.get("valid_until"), zone) != until:
        said.append(f"有效期调整至{until}")
    return "，".join(said) or None


def _title(tag: str, title: str) -> str:
    room = TITLE_MAX - len(tag)
    return tag + (title if len(title) <= room else title[: room - 1] + "…")


def _build(data: dict[str, Any]) -> NoticeInput:
    try:
        checked = kinds.spec(data["kind"]).fields.model_validate(
            data["fields"], context=kinds.INTERNAL
        )
        return NoticeInput.model_validate({**data, "fields": checked})
    except ValidationError as exc:
        raise NoticeFormatError(describe_validation_error(exc, data["kind"])) from None


def lift_notice(
    original: NoticeRecord,
    reason: str | None,
    now: datetime,
    zone: ZoneInfo,
    cap: Mapping[str, Any] | None = None,
) -> NoticeInput:
    """The lift (解除) of a warning, as a notice of its own."""
    issuer = original.fields.get("issuer") or original.fields.get("department")
    posted = first_posted(original) or original.created_at
    who = f"{issuer}" if issuer else ""
    body = (
        f"{who}{posted.astimezone(zone).strftime('%Y年%m月%d日%H时%M分')}发布的"
        f"{original.title}于{now.astimezone(zone).strftime('%Y年%m月%d日%H时%M分')}解除。"
    )
    if reason:
        body += f"\n\n解除原因：{reason}"
    fields = {k: original.fields[k] for k in LIFT_KEEPS if original.fields.get(k)}
    fields["issued_at"] = now.astimezone(zone).isoformat()
    if cap is not None:  # a CAP Cancel: the message it came from (CAP intake only)
        fields["cap"] = dict(cap)
    return _build(
        {
            "kind": original.kind,
            "title": _title(TAGS[LIFTS], original.title),
            "body": body,
            "fields": fields,
            "urgent": original.urgent,
            "allow_duplicate": True,
        }
    )


def withdraw_notice(
    original: NoticeRecord, reason: str, now: datetime, zone: ZoneInfo
) -> NoticeInput:
    """The withdrawal (撤回) of any notice, as a notice of its own."""
    posted = first_posted(original) or original.created_at
    body = (
        f"{posted.astimezone(zone).strftime('%Y年%m月%d日%H时%M分')}发布的《{original.title}》"
        f"已于{now.astimezone(zone).strftime('%Y年%m月%d日%H时%M分')}撤回，原信息作废。"
        f"\n\n撤回原因：{reason}"
    )
    keeps = ("issuer", "department")
    fields = {k: original.fields[k] for k in keeps if original.fields.get(k)}
    return _build(
        {
            "kind": original.kind,
            "title": _title(TAGS[WITHDRAWS], original.title),
            "body": body,
            "fields": fields,
            "urgent": original.urgent,
            "allow_duplicate": True,
        }
    )
