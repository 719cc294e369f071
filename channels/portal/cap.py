"""CAP 1.2 messages for the portal's warnings (OASIS ``urn:oasis:names:tc:emergency:cap:1.2``).

Built with ElementTree in the element order of the official schema and written by
``plaintext.write_xml`` (every text escaped; characters XML forbids, non-characters and bidi
controls dropped, whatever is stored); ``tests/channels/test_portal.py`` and
``tests/channels/test_feeds.py`` validate the output against
``shared/reference/CAP-v1.2.xsd`` [S60][S61].

Mapping of a notice (kind ``weather_warning``) to CAP:

* ``identifier`` ``{prefix}{notice id}`` (``{prefix}{notice id}.cancel`` for a Cancel);
  ``sender`` the account's ``cap_sender`` (default ``portal@<host of the public address>``);
  ``sent`` when the page went live, local time with its offset: CAP forbids ``Z`` [S60].
* ``status`` ``fields.cap_status`` when it is a CAP status, else ``Test`` for a sandbox
  account, else ``Actual``; ``scope`` ``Public``.
* ``msgType`` ``Alert``; ``Cancel`` (with ``references`` to the alert) once the notice is
  withdrawn (已撤回) or lifted (已解除) by ``fields``. Follow-ups (issue 11,
  ``lifecycle.py``): an update is ``Update`` and a lift ``Cancel``, each with ``references``
  to the notice it follows; the warning a lift follows stays an Alert (urgency Past).
  A warning past ``valid_until`` stays an Alert whose
  ``expires`` has passed and whose urgency is ``Past``.
* ``info``: ``language`` zh-CN, ``category`` Met, ``event`` "{signal}{colour}预警" (e.g.
  暴雨橙色预警, the reference's example), ``urgency``/``severity``/``certainty`` from
  ``COLOURS``, ``eventCode`` ``CMA_SIGNAL`` = type and level code ``TTLL`` [S64],
  ``effective`` ``fields.issued_at``, ``expires`` ``fields.valid_until``, ``senderName``
  ``fields.issuer``, ``headline`` the title (≤160 characters), ``description`` the body,
  ``instruction`` ``fields.advice`` (these three as plain text, ``plaintext``: markdown and
  HTML markup removed, entities decoded, since CAP readers show them as text), ``web`` the
  notice page, ``parameter`` the CMA level, ``area/areaDesc`` ``fields.area`` (the
  account's ``default_area`` otherwise).

Colour -> severity follows the reference's table (channel-apis.md 4.2, "Mapping to CAP
1.2": 红 Extreme, 橙 Severe, 黄 Moderate, 蓝 Minor; marked there as conventional for national
alert hubs, UNCERTAIN for the Chinese profile GB/T 35965.1) [S63][S65]. Within the
reference's ranges we chose: urgency Immediate for red and orange (act now), Expected for
yellow and blue; certainty Likely, Possible for blue. ``fields.urgency`` and
``fields.certainty`` override them when they hold CAP values.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from channels.portal.lifecycle import cap_kind, lifted_by_follow_up, sent_time
from channels.portal.plaintext import plain_line, plain_text, write_xml
from publisher.store.portal import PortalNotice

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MIME = "application/cap+xml"
HEADLINE_MAX = 160


@dataclass(frozen=True)
class Signal:
    """One CMA warning colour: its level and our CAP reading of it."""

    level: str  # Ⅳ..Ⅰ
    grade: str  # 一般/较重/严重/特别严重 (Order No. 16) [S63]
    severity: str
    urgency: str
    certainty: str
    code: str  # the LL of the TTLL product code [S64]


COLOURS = {
    "蓝色": Signal("Ⅳ", "一般", "Minor", "Expected", "Possible", "01"),
    "黄色": Signal("Ⅲ", "较重", "Moderate", "Expected", "Likely", "02"),
    "橙色": Signal("Ⅱ", "严重", "Severe", "Immediate", "Likely", "03"),
    "红色": Signal("Ⅰ", "特别严重", "Extreme", "Immediate", "Likely", "04"),
}
COLOUR_ALIASES = {
    "蓝": "蓝色",
    "blue": "蓝色",
    "黄": "黄色",
    "yellow": "黄色",
    "橙": "橙色",
    "orange": "橙色",
    "红": "红色",
    "red": "红色",
}
# The TT of the TTLL product code (weather.com.cn / Caiyun scheme) [S64].
SIGNAL_CODES = {
    "台风": "01",
    "暴雨": "02",
    "暴雪": "03",
    "寒潮": "04",
    "大风": "05",
    "沙尘暴": "06",
    "高温": "07",
    "干旱": "08",
    "雷电": "09",
    "冰雹": "10",
    "霜冻": "11",
    "大雾": "12",
    "霾": "13",
    "道路结冰": "14",
    "森林火灾": "15",
    "雷雨大风": "16",
}
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")


def colour_of(value: object) -> str | None:
    text = str(value or "").strip()
    text = COLOUR_ALIASES.get(text.lower(), COLOUR_ALIASES.get(text, text))
    return text if text in COLOURS else None


def signal_of(notice: PortalNotice) -> tuple[str, str | None]:
    """The signal type (暴雨) and colour (橙色) of a warning notice."""
    signal = str(notice.fields.get("signal") or "").strip()
    signal = signal.removesuffix("预警").removesuffix("信号").removesuffix("预警")
    return signal, colour_of(notice.fields.get("color") or notice.fields.get("colour"))


def event_name(notice: PortalNotice) -> str:
    signal, colour = signal_of(notice)
    if signal and colour:
        return f"{signal}{colour}预警"
    if signal:
        return f"{signal}预警"
    return plain_line(notice.title)


def cap_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-11-26T09:00:00+08:00``: seconds, an explicit offset, never ``Z``."""
    text = moment.astimezone(zone).replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def advice_text(value: object) -> str:
    """The advice as plain text, one line per item."""
    if isinstance(value, (list, tuple)):
        return "\n".join(line for line in (plain_line(str(v)) for v in value) if line)
    return plain_text(str(value or ""))


def area_text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "、".join(str(v).strip() for v in value if str(v).strip())
    return str(value or "").strip()


@dataclass(frozen=True)
class CapSource:
    """Who speaks in the portal's CAP messages."""

    sender: str
    identifier_prefix: str
    default_area: str
    status: str  # Actual, or Test for a sandbox account
    zone: ZoneInfo


def identifier(source: CapSource, notice: PortalNotice) -> str:
    return f"{source.identifier_prefix}{notice.id}"


def _add(parent: ET.Element, tag: str, value: object | None) -> ET.Element | None:
    if value is None or value == "":
        return None
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    element.text = str(value)
    return element


def _pair(parent: ET.Element, tag: str, name: str, value: str) -> None:
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    _add(element, "valueName", name)
    _add(element, "value", value)


def build_alert(
    source: CapSource, notice: PortalNotice, page_url: str, now: datetime
) -> ET.Element:
    """The CAP ``<alert>`` for one warning as it stands ``now``."""
    zone = source.zone
    state = notice.state(now, zone)
    # A lift follow-up is the Cancel; the warning it lifted stays an Alert (lifecycle.py).
    cancelled = state == "withdrawn" or (state == "lifted" and not lifted_by_follow_up(notice))
    follow_type, follows_id, follows_sent = cap_kind(
        notice, state, lambda i: f"{source.identifier_prefix}{i}"
    )
    signal, colour = signal_of(notice)
    reading = COLOURS.get(colour or "")
    drill = "Exercise" if notice.drill else None  # a JSON drill (issue 11 C)
    status = str(notice.fields.get("cap_status") or drill or source.status)
    if status not in STATUSES:
        status = source.status
    original_id = identifier(source, notice)
    original_sent = cap_time(notice.posted_at, zone)

    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _add(alert, "identifier", original_id + (".cancel" if cancelled else ""))
    _add(alert, "sender", source.sender)
    sent_at = (notice.withdrawn_at or now) if cancelled else notice.posted_at
    _add(alert, "sent", cap_time(sent_at, zone) if cancelled else original_sent)
    _add(alert, "status", status)
    _add(alert, "msgType", "Cancel" if cancelled else follow_type or "Alert")
    _add(alert, "scope", "Public")
    if cancelled:
        _add(alert, "note", "已撤回" if state == "withdrawn" else "已解除")
        _add(alert, "references", f"{source.sender},{original_id},{original_sent}")
    elif follow_type is not None:
        sent = sent_time(follows_sent, zone) or notice.posted_at
        _add(alert, "references", f"{source.sender},{follows_id},{cap_time(sent, zone)}")

    info = ET.SubElement(alert, f"{{{CAP_NS}}}info")
    _add(info, "language", "zh-CN")
    _add(info, "category", "Met")
    _add(info, "event", event_name(notice))
    urgency = str(notice.fields.get("urgency") or "")
    if urgency not in URGENCIES:
        urgency = reading.urgency if reading else "Unknown"
    if state in ("expired", "lifted", "withdrawn"):
        urgency = "Past"
    certainty = str(notice.fields.get("certainty") or "")
    if certainty not in CERTAINTIES:
        certainty = reading.certainty if reading else "Unknown"
    _add(info, "urgency", urgency)
    _add(info, "severity", reading.severity if reading else "Unknown")
    _add(info, "certainty", certainty)
    if signal in SIGNAL_CODES and reading is not None:
        _pair(info, "eventCode", "CMA_SIGNAL", SIGNAL_CODES[signal] + reading.code)
    _add(info, "effective", cap_time(notice.issued_at(zone), zone))
    until = notice.valid_until(zone)
    if until is not None:
        _add(info, "expires", cap_time(until, zone))
    _add(info, "senderName", notice.fields.get("issuer") or None)
    _add(info, "headline", plain_line(notice.title)[:HEADLINE_MAX])
    _add(info, "description", plain_text(notice.body))
    _add(info, "instruction", advice_text(notice.fields.get("advice")) or None)
    _add(info, "web", page_url)
    _add(info, "contact", notice.fields.get("contact") or None)
    if reading is not None and colour is not None:
        _pair(info, "parameter", "CMA_LEVEL", f"{reading.level}级/{colour}/{reading.grade}")
    area = ET.SubElement(info, f"{{{CAP_NS}}}area")
    _add(area, "areaDesc", area_text(notice.fields.get("area")) or source.default_area)
    return alert


def alert_xml(alert: ET.Element) -> bytes:
    """A standalone CAP document (UTF-8, CAP as the default namespace)."""
    return write_xml(alert, default_namespace=CAP_NS)
