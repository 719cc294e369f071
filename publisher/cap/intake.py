"""Taking in one CAP document: parse, map, submit. The one path of ``warn``, the API and feeds.

``msgType`` Alert is a new warning. Update and Cancel are follow-ups (issue 11, part B) of
the warning their ``references`` name (``sender,identifier,sent``; the newest one this
publisher took in wins, and an already-updated warning is followed at its newest version):
an Update updates it (:meth:`publisher.lifecycle.Lifecycle.update`), a Cancel lifts it
(解除). A reference to nothing taken in is refused in one line. The same CAP message again
returns the same notice, also for Update and Cancel.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from publisher.cap.mapping import REFUSED_STATUS, choose_info, idempotency_key, to_notice
from publisher.cap.parse import CapAlert, parse_cap
from publisher.errors import CapRefused
from publisher.lifecycle import Lifecycle
from publisher.queue.intake import Intake, Submitted

SOURCES = {"cli": "cap:cli", "api": "cap:api", "feed": "cap:feed", "console": "cap:console"}
FOLLOW_UPS = {"Update": "更新", "Cancel": "解除"}


@dataclass(frozen=True)
class TakenIn:
    submitted: Submitted
    note: str | None  # what the person should know (which warning an Update/Cancel followed)
    action: str = "notice.submit"  # the audit action: notice.update / notice.lift for follow-ups


async def take_in(
    intake: Intake, raw: bytes, *, via: str, actor: str, channels: Sequence[str] | None = None
) -> TakenIn:
    """Publish the warning in ``raw``; the same CAP message again returns the same notice.

    Raises CapFormatError (not safe or not valid CAP 1.2), CapRefused (expired, a drill, an
    Update or Cancel of a warning never taken in, no Chinese text) or any error of
    ``Intake.submit`` or of the lifecycle; nothing is stored then.
    """
    alert = parse_cap(raw)
    if alert.msg_type in FOLLOW_UPS:
        return await _follow_up(intake, alert, via=via, actor=actor[:100])
    notice = to_notice(alert, intake.clock.now())
    if channels:  # named accounts instead of the kind's route, as a notice's ``channels``
        notice = notice.model_copy(update={"channels": list(dict.fromkeys(channels))})
    done = await intake.submit(notice, source=SOURCES[via], actor=actor[:100])
    return TakenIn(done, None)


async def _referenced(intake: Intake, alert: CapAlert) -> int:
    """The newest version of the warning ``alert`` references; CapRefused otherwise."""
    what = FOLLOW_UPS[alert.msg_type]
    if not alert.references:
        raise CapRefused(f"CAP {what} ({alert.msg_type}) 没有 references，无法确定{what}哪条预警")
    assert intake.store is not None
    store = Lifecycle(intake).store
    for ref in reversed(alert.references):
        parts = ref.split(",")
        if len(parts) < 2:
            continue
        key = idempotency_key(dataclasses.replace(alert, sender=parts[0], identifier=parts[1]))
        found = await store.notice_by_key(key)
        if found is not None:
            return await store.current_version(found)
    named = "、".join(r.split(",")[1] if "," in r else r for r in alert.references)
    raise CapRefused(f"CAP {what} ({alert.msg_type}) 引用的预警 {named} 未曾收到，无法{what}")


async def _follow_up(intake: Intake, alert: CapAlert, *, via: str, actor: str) -> TakenIn:
    lifecycle = Lifecycle(intake)
    key = idempotency_key(alert)
    action = "notice.update" if alert.msg_type == "Update" else "notice.lift"
    existing = await lifecycle.store.notice_by_key(key)
    if existing is not None:  # the same Update/Cancel again: the same follow-up
        return TakenIn(Submitted(existing, False), None, action)
    if alert.status in REFUSED_STATUS:
        raise CapRefused(REFUSED_STATUS[alert.status])
    original = await _referenced(intake, alert)
    note = f"CAP {FOLLOW_UPS[alert.msg_type]} ({alert.msg_type}) 已作为通知 #{original} 的后续发布"
    if alert.msg_type == "Update":
        notice = to_notice(alert, intake.clock.now())
        done = await lifecycle.update(original, notice, source=SOURCES[via], actor=actor)
        return TakenIn(done, note, action)
    info = choose_info(alert)
    cap = {
        "identifier": alert.identifier,
        "sender": alert.sender,
        "sent": alert.sent.isoformat(),
        "msgType": alert.msg_type,
        "status": alert.status,
        "references": list(alert.references),
        "language": info.language,
    }
    reason = alert.note or info.description or info.headline
    done = await lifecycle.lift(
        original, reason, source=SOURCES[via], actor=actor, key=key, cap=cap
    )
    return TakenIn(done, note, action)


def cap_json(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What ``warn --json`` and ``POST /api/warnings`` add: the CAP message's own names."""
    cap = fields.get("cap") or {}
    return {
        "identifier": cap.get("identifier"),
        "msgType": cap.get("msgType"),
        "status": cap.get("status"),
        "references": list(cap.get("references") or []),
    }
