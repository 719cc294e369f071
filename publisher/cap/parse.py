"""Reading a CAP 1.2 document safely: size, encoding, XML, then the OASIS schema.

The order matters. The size is checked before anything is parsed; the bytes must be UTF-8
(CAP 1.2 §3.1 and GB/T 35965.1 both use UTF-8); defusedxml parses with DTDs, entity
declarations and external references forbidden, so a billion-laughs bomb or an external
entity is refused before it can expand or fetch anything; only then is the tree validated
against the official schema (``CAP-v1.2.xsd``, shipped in this package, compiled once per
process). Every refusal is one :class:`CapFormatError` line in Chinese naming the problem.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import xmlschema
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import ElementTree as SafeET

from publisher.errors import CapFormatError

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MIME = "application/cap+xml"
MAX_CAP_BYTES = 1024 * 1024
SCHEMA_PATH = Path(__file__).with_name("CAP-v1.2.xsd")
PREFIX = "CAP 格式错误"

_NS = f"{{{CAP_NS}}}"
_NOT_IN_IDS = re.compile(r"[\s,<&]")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@functools.cache
def cap_schema() -> xmlschema.XMLSchema:
    """The OASIS CAP 1.2 schema, compiled once per process (about 0.2 s)."""
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


@dataclass(frozen=True)
class CapInfo:
    """One ``<info>`` block: the message in one language."""

    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    event_codes: tuple[tuple[str, str], ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapAlert:
    """An ``<alert>``: who sent which message, and its ``info`` blocks."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: tuple[str, ...] = ()  # "sender,identifier,sent" triplets, as CAP writes them
    note: str | None = None
    infos: tuple[CapInfo, ...] = field(default=())


def _fail(problem: str) -> CapFormatError:
    return CapFormatError(f"{PREFIX}: {problem}")


def parse_cap(raw: bytes) -> CapAlert:
    """A CAP 1.2 alert from bytes; :class:`CapFormatError` (one line) for anything else."""
    element = _safe_tree(raw)
    if element.tag != f"{_NS}alert":
        namespace, _, local = element.tag[1:].partition("}") if "}" in element.tag else ("", "", "")
        found = f"{local or element.tag} (命名空间 {namespace or '无'})"
        raise _fail(f"根元素应为 CAP 1.2 的 alert (命名空间 {CAP_NS})，实际是 {found}")
    error = next(cap_schema().iter_errors(element), None)
    if error is not None:
        raise _fail(_describe(error))
    return _alert(element)


def _safe_tree(raw: bytes) -> ET.Element:
    if len(raw) > MAX_CAP_BYTES:
        raise _fail(f"超过 {MAX_CAP_BYTES // 1024 // 1024} MB")
    if not raw.strip():
        raise _fail("内容为空")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(f"不是 UTF-8 编码 (第 {exc.start + 1} 个字节)") from None
    declared = _DECLARED_ENCODING.match(raw)
    if declared is not None and declared.group(1).decode().lower().replace("_", "-") != "utf-8":
        raise _fail(f"声明的编码是 {declared.group(1).decode()[:20]}，CAP 应为 UTF-8")
    try:
        tree: ET.Element = SafeET.fromstring(
            raw, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        return tree
    except DTDForbidden:
        raise _fail("含有 DTD (<!DOCTYPE>)，为防 XML 炸弹和外部实体，不予接受") from None
    except EntitiesForbidden:
        raise _fail("含有实体声明 (<!ENTITY>)，为防 XML 炸弹，不予接受") from None
    except ExternalReferenceForbidden:
        raise _fail("引用了外部实体，不予接受") from None
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise _fail(f"不是有效的 XML: {reason} (第 {line} 行第 {column + 1} 列)") from None


def _short(path: str | None) -> str:
    """``/{ns}alert/{ns}info[1]`` -> ``info``: relative to the alert, first of a kind unnumbered."""
    text = (path or "").replace(_NS, "").replace("cap:", "").replace("[1]", "")
    return text.removeprefix("/").removeprefix("alert").removeprefix("/")


def _describe(error: xmlschema.XMLSchemaValidationError) -> str:
    where = _short(error.path)
    expected = getattr(error, "expected", None)
    if isinstance(error, xmlschema.XMLSchemaChildrenValidationError):
        names = [_short(str(getattr(e, "name", "") or "")) for e in (expected or [])]
        names = [n for n in names if n]
        if names:
            missing = "/".join(p for p in (where, names[0]) if p)
            return f"缺少必需元素 {missing}"
        tag = _short(str(getattr(error, "invalid_tag", "") or ""))
        return f"{where or 'alert'} 中有不应出现的元素 {tag}"
    validator = getattr(error, "validator", None)
    text = (error.elem.text or "").strip()[:40] if error.elem is not None else ""
    if isinstance(validator, xmlschema.validators.XsdEnumerationFacets):
        allowed = "、".join(str(v) for v in validator.enumeration)
        return f"{where}: 值 {text!r} 不是 CAP 1.2 允许的值 (可选 {allowed})"
    if isinstance(validator, xmlschema.validators.XsdPatternFacets) or "dateTime" in str(
        getattr(validator, "name", "") or ""
    ):
        return f"{where}: 时间 {text!r} 格式应为 2026-11-26T16:00:00+08:00 (带时区，不用 Z)"
    reason = " ".join(str(error.reason or "").split())[:120]
    return f"{where or 'alert'}: 不符合 CAP 1.2 规范 ({reason})"


def _text(parent: ET.Element, tag: str) -> str | None:
    found = parent.find(f"{_NS}{tag}")
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _texts(parent: ET.Element, tag: str) -> tuple[str, ...]:
    return tuple((e.text or "").strip() for e in parent.findall(f"{_NS}{tag}") if e.text)


def _when(parent: ET.Element, tag: str) -> datetime | None:
    text = _text(parent, tag)
    return datetime.fromisoformat(text) if text else None  # the schema fixed the pattern


def _pairs(parent: ET.Element, tag: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (_text(e, "valueName") or "", _text(e, "value") or "")
        for e in parent.findall(f"{_NS}{tag}")
    )


def _info(element: ET.Element) -> CapInfo:
    return CapInfo(
        language=_text(element, "language") or "en-US",  # CAP's default when absent
        categories=_texts(element, "category"),
        event=_text(element, "event") or "",
        urgency=_text(element, "urgency") or "Unknown",
        severity=_text(element, "severity") or "Unknown",
        certainty=_text(element, "certainty") or "Unknown",
        event_codes=_pairs(element, "eventCode"),
        parameters=_pairs(element, "parameter"),
        effective=_when(element, "effective"),
        onset=_when(element, "onset"),
        expires=_when(element, "expires"),
        sender_name=_text(element, "senderName"),
        headline=_text(element, "headline"),
        description=_text(element, "description"),
        instruction=_text(element, "instruction"),
        web=_text(element, "web"),
        contact=_text(element, "contact"),
        areas=tuple(a for a in (_text(e, "areaDesc") for e in element.findall(f"{_NS}area")) if a),
    )


def _alert(element: ET.Element) -> CapAlert:
    sent = _when(element, "sent")
    assert sent is not None  # required by the schema
    for tag in ("identifier", "sender"):
        value = _text(element, tag)
        if value is None:
            raise _fail(f"{tag} 为空")
        if _NOT_IN_IDS.search(value):  # CAP 1.2 §3.2.1: no spaces, commas, < or &
            raise _fail(f"{tag} 不能含有空格、逗号、< 或 &")
    return CapAlert(
        identifier=_text(element, "identifier") or "",
        sender=_text(element, "sender") or "",
        sent=sent,
        status=_text(element, "status") or "",
        msg_type=_text(element, "msgType") or "",
        scope=_text(element, "scope") or "",
        references=tuple((_text(element, "references") or "").split()),
        note=_text(element, "note"),
        infos=tuple(_info(e) for e in element.findall(f"{_NS}info")),
    )
