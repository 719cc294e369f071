"""Taking in one CAP document: parse, map, submit. The one path of ``warn``, the API and feeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from publisher.cap.mapping import UPDATE_NOTE, to_notice
from publisher.cap.parse import parse_cap
from publisher.queue.intake import Intake, Submitted

SOURCES = {"cli": "cap:cli", "api": "cap:api", "feed": "cap:feed"}


@dataclass(frozen=True)
class TakenIn:
    submitted: Submitted
    note: str | None  # what the person should know (an Update published as a new warning)


async def take_in(
    intake: Intake, raw: bytes, *, via: str, actor: str, channels: Sequence[str] | None = None
) -> TakenIn:
    """Publish the warning in ``raw``; the same CAP message again returns the same notice.

    Raises CapFormatError (not safe or not valid CAP 1.2), CapRefused (expired, a drill, a
    Cancel, no Chinese text) or any error of ``Intake.submit``; nothing is stored then.
    """
    alert = parse_cap(raw)
    notice = to_notice(alert, intake.clock.now())
    if channels:  # named accounts instead of the kind's route, as a notice's ``channels``
        notice = notice.model_copy(update={"channels": list(dict.fromkeys(channels))})
    done = await intake.submit(notice, source=SOURCES[via], actor=actor[:100])
    return TakenIn(done, UPDATE_NOTE if alert.msg_type == "Update" else None)


def cap_json(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What ``warn --json`` and ``POST /api/warnings`` add: the CAP message's own names."""
    cap = fields.get("cap") or {}
    return {
        "identifier": cap.get("identifier"),
        "msgType": cap.get("msgType"),
        "status": cap.get("status"),
        "references": list(cap.get("references") or []),
    }
