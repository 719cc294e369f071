"""CAP 1.2 documents for the CAP intake tests, built the way producers write them."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

OASIS_EXAMPLE = Path("/work/shared/reference/cap-examples/oasis-amber-alert-example.xml")
if not OASIS_EXAMPLE.is_file():  # the repository's sibling "shared" folder, wherever it is
    OASIS_EXAMPLE = (
        Path(__file__).parents[1].parent / "shared/reference/cap-examples"
    ) / OASIS_EXAMPLE.name

IDENTIFIER = "23070041600000_20261126160000_1"
SENDER = "23070041600000"


def pairs(tag: str, items: list[tuple[str, str]]) -> str:
    return "".join(
        f"<{tag}><valueName>{escape(n)}</valueName><value>{escape(v)}</value></{tag}>"
        for n, v in items
    )


def info(
    *,
    language: str | None = "zh-CN",
    event: str = "暴雨预警",
    severity: str = "Unknown",
    event_codes: list[tuple[str, str]] | None = None,
    parameters: list[tuple[str, str]] | None = None,
    headline: str | None = "大庆市气象台发布暴雨预警信号",
    description: str | None = "预计未来3小时内大庆市区将出现50毫米以上降雨。",
    instruction: str | None = "政府及相关部门按照职责做好防暴雨应急工作；\n切断有危险的室外电源",
    effective: str | None = "2026-11-26T16:00:00+08:00",
    expires: str | None = "2099-11-27T16:00:00+08:00",
    sender_name: str | None = "大庆市气象台",
    areas: tuple[str, ...] = ("萨尔图区", "让胡路区"),
) -> str:
    """One ``<info>``, in the schema's element order."""

    def opt(tag: str, value: str | None) -> str:
        return f"<{tag}>{escape(value)}</{tag}>" if value is not None else ""

    return (
        "<info>"
        + opt("language", language)
        + "<category>Met</category>"
        + opt("event", event)
        + "<urgency>Immediate</urgency>"
        + opt("severity", severity)
        + "<certainty>Likely</certainty>"
        + pairs("eventCode", event_codes or [])
        + opt("effective", effective)
        + opt("expires", expires)
        + opt("senderName", sender_name)
        + opt("headline", headline)
        + opt("description", description)
        + opt("instruction", instruction)
        + opt("contact", "0459-4612345")
        + pairs("parameter", parameters or [])
        + "".join(f"<area><areaDesc>{escape(a)}</areaDesc></area>" for a in areas)
        + "</info>"
    )


def alert(
    *infos: str,
    identifier: str = IDENTIFIER,
    sender: str = SENDER,
    status: str = "Actual",
    msg_type: str = "Alert",
    references: str | None = None,
) -> bytes:
    refs = f"<references>{escape(references)}</references>" if references else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{escape(identifier)}</identifier><sender>{escape(sender)}</sender>"
        f"<sent>2026-11-26T16:00:00+08:00</sent><status>{status}</status>"
        f"<msgType>{msg_type}</msgType><scope>Public</scope>{refs}"
        + "".join(infos or (info(),))
        + "</alert>"
    ).encode()
