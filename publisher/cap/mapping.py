"""A CAP alert as a ``weather_warning`` notice, or one line saying why it is not published.

Which ``info``: the first in Chinese (``language`` zh, zh-CN, zh-Hans…); else the first whose
headline or description is written in Chinese (a producer that left ``language`` out gets
CAP's default en-US); a message with no Chinese text is refused: the bureau's channels
publish in Chinese, and a machine translation is not ours to make.

What is published (issue 11):

* ``status`` Actual; Exercise and Test are drills (part C, :mod:`publisher.drills`: labelled
  【演练】, sent only to sandbox/drill accounts); System and Draft are never published.
* ``msgType`` Alert as a warning; Update as the new content of the warning its ``references``
  name (``publisher.cap.intake`` hands it to :mod:`publisher.lifecycle` as an update). A
  Cancel is never mapped to a notice: it lifts (解除) the referenced warning through the
  lifecycle, since posting it as a warning would announce the very warning it lifts. Ack and
  Error are messages between systems, not warnings.
* An ``expires`` already past is refused.

Fields: ``headline`` (else ``event``) -> title; ``description`` (else the headline) -> body;
``senderName`` -> issuer; each ``area/areaDesc`` -> ``area``; ``effective`` (else ``sent``)
-> ``issued_at``; ``expires`` -> ``valid_until``; ``instruction`` -> ``advice``, one item per
line or ``；``; ``contact``, ``urgency``, ``certainty``, ``status`` -> ``cap_status`` as they
are; signal, colour and level by :mod:`publisher.cap.signals`. The message itself (identifier,
sender, sent, msgType, status, references, onset, language) is kept as ``fields.cap``; the
idempotency key is ``cap:<sender>:<identifier>``, so the same message is one notice.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from pydantic import ValidationError

from publisher.cap.parse import CapAlert, CapInfo
from publisher.cap.signals import read_signal
from publisher.documents import DocumentError, check_shape
from publisher.drills import CAP_STATUSES as DRILL_STATUSES
from publisher.errors import CapRefused, NoticeFormatError
from publisher.kinds import INTERNAL, Kind, WarningFields
from publisher.notice import NoticeInput, describe_validation_error

KEY_MAX = 200
ADVICE_MAX = 50
_HAN = re.compile("[\u4e00-\u9fff]")
_ADVICE_SPLIT = re.compile(r"[\r\n；;]+")
_NUMBER = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
_NUMBERING = re.compile(rf"^\s*(?:[(（]\s*{_NUMBER}\s*[)）]|{_NUMBER}\s*[、.．)）])\s*")

REFUSED_STATUS = {
    "System": "系统消息不发布 (CAP status System)",
    "Draft": "草稿不发布 (CAP status Draft)",
}
REFUSED_TYPE = {
    "Cancel": "解除 (CAP msgType Cancel) 不是新预警: 它解除所引用的预警",
    "Ack": "确认消息 (CAP msgType Ack) 不是预警，不发布",
    "Error": "错误报告 (CAP msgType Error) 不是预警，不发布",
}


def idempotency_key(alert: CapAlert) -> str:
    """``cap:<sender>:<identifier>``; a digest of it when longer than a key may be."""
    key = f"cap:{alert.sender}:{alert.identifier}"
    if len(key) <= KEY_MAX:
        return key
    return "cap:sha256:" + hashlib.sha256(key.encode()).hexdigest()


def choose_info(alert: CapAlert) -> CapInfo:
    """The block to publish: Chinese by language, else by its text; CapRefused otherwise."""
    if not alert.infos:
        raise CapRefused("CAP 消息没有 info，没有可发布的预警内容")
    for info in alert.infos:
        if info.language.lower().split("-")[0] == "zh":
            return info
    for info in alert.infos:
        if _HAN.search(f"{info.headline or ''}{info.description or ''}{info.event}"):
            return info
    languages = "、".join(dict.fromkeys(i.language for i in alert.infos))
    raise CapRefused(f"CAP 消息没有中文内容 (language 为 {languages})，不发布")


def check_publishable(alert: CapAlert, now: datetime) -> CapInfo:
    """The info block to publish, after the status, msgType and expiry rules."""
    if alert.status in REFUSED_STATUS:
        raise CapRefused(REFUSED_STATUS[alert.status])
    if alert.msg_type in REFUSED_TYPE:
        raise CapRefused(REFUSED_TYPE[alert.msg_type])
    info = choose_info(alert)
    if info.expires is not None and info.expires <= now:
        raise CapRefused(f"CAP 预警已于 {info.expires.isoformat()} 失效 (expires)，不再发布")
    return info


def advice_items(instruction: str | None) -> list[str] | None:
    """Instruction text as advice items: one per line or ``；``, numbering dropped."""
    if not instruction:
        return None
    items = [_NUMBERING.sub("", part).strip() for part in _ADVICE_SPLIT.split(instruction)]
    items = [i for i in items if i]
    if len(items) > ADVICE_MAX:  # keep everything: the rest joined into the last item
        items = [*items[: ADVICE_MAX - 1], "；".join(items[ADVICE_MAX - 1 :])]
    return items or None


def to_notice(alert: CapAlert, now: datetime) -> NoticeInput:
    """The ``weather_warning`` for ``alert``; CapRefused or NoticeFormatError in one line."""
    info = check_publishable(alert, now)
    title = info.headline or info.event
    found = read_signal(
        info.event_codes, info.parameters, info.severity, (info.headline, info.event)
    )
    fields = {
        "issuer": info.sender_name,
        "signal": found.signal,
        "color": found.colour,
        "level": found.level,
        "area": list(dict.fromkeys(info.areas)) or None,
        "issued_at": (info.effective or alert.sent).isoformat(),
        "valid_until": info.expires.isoformat() if info.expires else None,
        "advice": advice_items(info.instruction),
        "contact": info.contact,
        "urgency": info.urgency,
        "certainty": info.certainty,
        "cap_status": alert.status,
        "cap": {
            "identifier": alert.identifier,
            "sender": alert.sender,
            "sent": alert.sent.isoformat(),
            "msgType": alert.msg_type,
            "status": alert.status,
            "references": list(alert.references),
            "onset": info.onset.isoformat() if info.onset else None,
            "language": info.language,
        },
    }
    data = {
        "kind": Kind.WEATHER_WARNING.value,
        "title": title,
        "body": info.description or title,
        "fields": {k: v for k, v in fields.items() if v is not None},
        "idempotency_key": idempotency_key(alert),
        "drill": alert.status in DRILL_STATUSES,  # drills (issue 11 C)
    }
    try:
        check_shape(data, text=True)  # what a notice file is held to: no bidi overrides...
    except DocumentError as exc:
        raise NoticeFormatError(f"CAP 内容不能作为预警发布: {exc}") from None
    try:
        checked = WarningFields.model_validate(data["fields"], context=INTERNAL)
        return NoticeInput.model_validate({**data, "fields": checked})
    except ValidationError as exc:
        problem = describe_validation_error(exc, Kind.WEATHER_WARNING.value)
        raise NoticeFormatError(f"CAP 内容不能作为预警发布: {problem}") from None
