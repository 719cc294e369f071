"""The portal's feeds (RSS, Atom, CAP) carry well-formed XML and plain text, whatever is stored.

Intake refuses the characters XML cannot carry, but rows stored before that rule (or by any
later path) may hold them: here they are written straight into the database, and every feed
is fetched over HTTP from the real application, parsed by a strict XML parser and, for CAP,
validated against the official OASIS schema. Markup in a title, summary or warning text
reaches the feeds' text fields as plain text; the HTML fields stay sanitised HTML.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest
import xmlschema
from sandbox_server import free_socket, serve_app

from channels.portal.cap import CAP_NS
from channels.portal.plaintext import plain_line, plain_text, write_xml, xml_chars
from publisher.cap.parse import SCHEMA_PATH
from publisher.settings import REPO_ROOT, load_settings
from publisher.web.app import create_app

XSD = SCHEMA_PATH  # the OASIS schema shipped in the package (= shared/reference/CAP-v1.2.xsd)
ATOM = "{http://www.w3.org/2005/Atom}"
CAP = f"{{{CAP_NS}}}"
FEEDS = ("/portal/rss.xml", "/portal/atom.xml", "/portal/cap.xml")

# Every character a feed must never carry: C0 controls but tab/LF/CR, lone surrogates,
# non-characters (U+FFFE/FFFF of every plane, U+FDD0-FDEF), bidi embeddings/overrides/isolates.
SURROGATES = ("\udfff", "\ud800")  # this order never pairs up into one valid character
BAD = (
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1f",
    "\ufffe",
    "\uffff",
    "\ufdd0",
    "\U0001fffe",
    "\U0010ffff",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    *SURROGATES,
)
# What XML 1.0 allows (the Char production), minus the bidi controls: checked independently
# of the code under test.
XML_CHAR = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")

BEIJING = timezone(timedelta(hours=8))


def in_hours(hours: float) -> str:
    return (
        (datetime.now(UTC) + timedelta(hours=hours)).astimezone(BEIJING).isoformat("T", "seconds")
    )


def spiked(text: str, chars: tuple[str, ...] = BAD) -> str:
    """``text`` with every bad character between its first two characters."""
    return text[0] + "".join(chars) + text[1:]


def warning(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "weather_warning",
        "title": "市气象台发布暴雨橙色预警信号",
        "body": "预计未来6小时内我市大部分地区将出现50毫米以上降雨。",
        "fields": {
            "signal": "暴雨",
            "color": "橙色",
            "issuer": "测试市气象台",
            "issued_at": in_hours(-1),
            "valid_until": in_hours(6),
            "area": ["城区"],
            "advice": ["停止户外作业"],
            **fields,
        },
    }


GENERAL = {
    "kind": "general",
    "title": "关于开展安全生产大检查的通知",
    "body": "各有关单位：请于本月底前完成自查。",
    "summary": "本月底前完成自查",
}


# -- the application on a real socket -----------------------------------------------------


@dataclass
class Portal:
    base: str
    client: httpx.Client
    db: Path

    def submit(self, notice: dict[str, Any]) -> httpx.Response:
        return self.client.post("/api/notices", json=notice)

    def publish(self, notice: dict[str, Any]) -> int:
        response = self.submit(notice)
        assert response.status_code == 201, response.text
        notice_id = int(response.json()["id"])
        deadline = time.monotonic() + 10
        while True:
            data = self.client.get(f"/api/notices/{notice_id}").json()
            if data["deliveries"] and all(d["status"] == "posted" for d in data["deliveries"]):
                return notice_id
            assert time.monotonic() < deadline, f"notice {notice_id} not posted: {data}"
            time.sleep(0.05)

    def store(self, notice_id: int, *, parts: dict[str, str] | None = None, **columns: Any) -> None:
        """Overwrite what is stored for a notice, bypassing intake (as rows stored before the
        input rules are): ``columns`` of ``notices`` (``fields`` merged) and the portal
        delivery's rendered ``parts``. JSON is written with ASCII escapes, so it can hold
        lone surrogates, as a JSON column can."""
        with contextlib.closing(sqlite3.connect(self.db)) as conn, conn:
            if "fields" in columns:
                (raw,) = conn.execute(
                    "SELECT fields FROM notices WHERE id = ?", (notice_id,)
                ).fetchone()
                columns["fields"] = json.dumps({**json.loads(raw), **columns["fields"]})
            for name, value in columns.items():
                conn.execute(f"UPDATE notices SET {name} = ? WHERE id = ?", (value, notice_id))
            if parts:
                (raw,) = conn.execute(
                    "SELECT rendered FROM deliveries WHERE notice_id = ? AND channel = 'portal'",
                    (notice_id,),
                ).fetchone()
                rendered = json.loads(raw)
                rendered["parts"].update(parts)
                conn.execute(
                    "UPDATE deliveries SET rendered = ? WHERE notice_id = ? AND channel = 'portal'",
                    (json.dumps(rendered), notice_id),
                )

    def feed(self, path: str) -> ET.Element:
        """The feed parsed by a strict XML parser, after checking every character."""
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        text = response.content.decode("utf-8")  # strict: a lone surrogate cannot be here
        assert XML_CHAR.match(text), (path, [c for c in text if not XML_CHAR.match(c)])
        assert not BIDI.search(text), path
        return SafeET.fromstring(response.content)


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    sock = free_socket()
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    db = tmp_path / "publisher.db"
    settings = load_settings(
        database_url=f"sqlite:///{db}",
        host="127.0.0.1",
        port=port,
        base_url=base,
        templates_dir=REPO_ROOT / "templates",
        accounts={"portal": {"type": "portal", "site_name": "测试市应急管理局", "sandbox": True}},
    )
    with (
        serve_app(create_app(settings), sock=sock, lifespan="on", graceful_seconds=2),
        httpx.Client(base_url=base, trust_env=False, timeout=10.0) as client,
    ):
        yield Portal(base, client, db)


@pytest.fixture(scope="module")
def cap_schema() -> xmlschema.XMLSchema:
    assert XSD.is_file(), f"the official CAP schema is expected at {XSD}"
    return xmlschema.XMLSchema(str(XSD))


def alerts(feed: ET.Element) -> list[ET.Element]:
    found = [e.find(f"{ATOM}content/{CAP}alert") for e in feed.findall(f"{ATOM}entry")]
    assert all(a is not None for a in found)
    return [a for a in found if a is not None]


def every_text(root: ET.Element) -> list[str]:
    texts = []
    for element in root.iter():
        texts += [element.text or "", element.tail or "", *element.attrib.values()]
    return texts


# -- characters -------------------------------------------------------------------------------


def test_stored_characters_xml_forbids_never_reach_a_feed(
    portal: Portal, cap_schema: xmlschema.XMLSchema
) -> None:
    general = portal.publish(GENERAL)
    warned = portal.publish(warning())
    in_text = tuple(c for c in BAD if c not in SURROGATES)  # a TEXT column has no surrogates
    for notice_id in (general, warned):
        portal.store(
            notice_id,
            parts={"title": spiked("甲乙标题"), "body": f"<p>{spiked('丙丁正文')}</p>"},
            body=spiked("丙丁正文", in_text),
            summary=spiked("戊己摘要", in_text),
            fields={
                "issuer": spiked("庚辛气象台"),
                "area": [spiked("城区")],
                "advice": [spiked("撤离")],
                "contact": spiked("电话"),
                spiked("键"): spiked("值"),
            },
        )

    rss = portal.feed("/portal/rss.xml")
    assert {i.findtext("title") for i in rss.iter("item")} == {"甲乙标题"}
    assert all("丙丁正文" in (i.findtext("description") or "") for i in rss.iter("item"))

    atom = portal.feed("/portal/atom.xml")
    entries = atom.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["甲乙标题", "甲乙标题"]
    assert [e.findtext(f"{ATOM}summary") for e in entries] == ["戊己摘要", "戊己摘要"]
    assert all("丙丁正文" in (e.findtext(f"{ATOM}content") or "") for e in entries)

    cap = portal.feed("/portal/cap.xml")
    (alert,) = alerts(cap)
    cap_schema.validate(ET.tostring(alert, encoding="unicode"))
    info = alert.find(f"{CAP}info")
    assert info is not None
    assert info.findtext(f"{CAP}headline") == "甲乙标题"
    assert info.findtext(f"{CAP}description") == "丙丁正文"
    assert info.findtext(f"{CAP}senderName") == "庚辛气象台"
    assert info.findtext(f"{CAP}instruction") == "撤离"
    assert info.findtext(f"{CAP}area/{CAP}areaDesc") == "城区"

    response = portal.client.get(f"/portal/notices/{warned}/cap.xml")
    assert response.status_code == 200
    cap_schema.validate(response.content.decode("utf-8"))
    assert XML_CHAR.match(response.text) and not BIDI.search(response.text)


def test_every_bad_character_is_refused_at_input_and_the_feeds_stay_well_formed(
    portal: Portal, cap_schema: xmlschema.XMLSchema
) -> None:
    for char in BAD:
        attempts = [
            {**GENERAL, "title": f"标题{char}"},
            {**GENERAL, "body": f"正文{char}"},
            {**GENERAL, "summary": f"摘要{char}"},
            {**GENERAL, "fields": {"issuer": f"单位{char}"}},
            {**GENERAL, "fields": {f"issuer{char}": "单位"}},
            {**GENERAL, "table": {"columns": [f"列{char}"], "rows": [["值"]]}},
            warning(advice=[f"撤离{char}"]),
            warning(area=[f"城区{char}"]),
        ]
        for notice in attempts:
            # httpx cannot encode a lone surrogate as UTF-8: send the JSON escape, as a
            # client would.
            response = portal.client.post(
                "/api/notices",
                content=json.dumps(notice),
                headers={"Content-Type": "application/json"},
            )
            code = f"U+{ord(char):04X}"
            assert 400 <= response.status_code < 500, (code, notice, response.text)
    portal.publish(GENERAL)
    portal.publish(warning())
    for path in FEEDS:
        root = portal.feed(path)
        assert len(root.findall(".//item") or root.findall(f"{ATOM}entry")) >= 1, path
    for alert in alerts(portal.feed("/portal/cap.xml")):
        cap_schema.validate(ET.tostring(alert, encoding="unicode"))


def test_write_xml_drops_what_xml_cannot_carry_in_text_tails_and_attributes() -> None:
    root = ET.Element("root", {"a": spiked("属性")})
    child = ET.SubElement(root, "child")
    child.text = spiked("文本")
    child.tail = spiked("尾巴")
    written = write_xml(root)
    parsed = SafeET.fromstring(written)
    assert parsed.get("a") == "属性"
    assert parsed.findtext("child") == "文本"
    assert parsed[0].tail == "尾巴"
    assert xml_chars("\t行一\n行二\r") == "\t行一\n行二\r"  # the whitespace XML allows stays


# -- markup -----------------------------------------------------------------------------------

MARKED_TITLE = "关于<b>加粗</b>**重要**事项<script>alert(1)</script>的[通知](http://x) &amp; 说明"
MARKED_BODY = (
    "# 总则\n\n"
    "各单位：请阅读**重要**说明，见[附件](http://x)。<b>注意</b>&amp;配合。\n"
    "<script>alert(2)</script>第二行\n\n"
    "1. 第一条\n2. 第二条"
)


def test_markup_in_notice_text_reaches_feed_text_fields_as_plain_text(
    portal: Portal, cap_schema: xmlschema.XMLSchema
) -> None:
    general = portal.publish(
        {**GENERAL, "title": MARKED_TITLE, "body": MARKED_BODY, "summary": "**摘要** <b>内容</b>"}
    )
    portal.publish(
        {
            **warning(advice=["**立即**撤离<script>x()</script>", "关注[预警](http://x)"]),
            "title": MARKED_TITLE,
            "body": MARKED_BODY,
        }
    )
    plain_title = "关于加粗重要事项的通知 & 说明"
    plain_body = "总则\n各单位：请阅读重要说明，见附件。注意&配合。\n第二行\n1. 第一条\n2. 第二条"

    rss = portal.feed("/portal/rss.xml")
    items = rss.findall("channel/item")
    general_item = next(i for i in items if i.findtext("link", "").endswith(f"/{general}"))
    assert general_item.findtext("title") == plain_title
    # The description is the page's HTML, sanitised as the page is: no script, text kept.
    description = general_item.findtext("description", "")
    assert "<script" not in description and "<p>" in description and "配合" in description

    atom = portal.feed("/portal/atom.xml")
    entry = next(
        e
        for e in atom.findall(f"{ATOM}entry")
        if e.findtext(f"{ATOM}id", "").endswith(f"/{general}")
    )
    assert entry.findtext(f"{ATOM}title") == plain_title
    assert entry.findtext(f"{ATOM}summary") == "摘要 内容"
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert "<p>" in (content.text or "") and "<script" not in (content.text or "")

    (alert,) = alerts(portal.feed("/portal/cap.xml"))
    cap_schema.validate(ET.tostring(alert, encoding="unicode"))
    info = alert.find(f"{CAP}info")
    assert info is not None
    assert info.findtext(f"{CAP}headline", "").endswith(plain_title)
    assert not re.search(r"[<>*\[\]]", info.findtext(f"{CAP}headline", ""))
    assert info.findtext(f"{CAP}description") == plain_body
    assert info.findtext(f"{CAP}instruction") == "立即撤离\n关注预警"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("<b>加粗</b>", "加粗"),
        ("前<script>alert(1)</script>后", "前后"),
        ("前<style>p{}</style>后", "前后"),
        ("**粗体**与*斜体*与 __下划__", "粗体与斜体与 下划"),
        ("[链接](http://x)与<http://y>", "链接与http://y"),
        ("![图片说明](x.png)", "图片说明"),
        ("A &amp; B &lt; C &#x4E2D;", "A & B < C 中"),
        ("&lt;b&gt;伪装&lt;/b&gt;", "伪装"),  # nothing tag-shaped survives decoding
        ("a < b > c", "a < b > c"),
        ("`代码`与~~删除~~", "代码与删除"),
        ("  多个   空格\t制表  ", "多个 空格 制表"),
        ("# 标题", "# 标题"),  # a title's leading # is text, not a heading
        ("1. 第一", "1. 第一"),
        ("第一行\n第二行", "第一行 第二行"),
        ("<img src=x onerror=alert(1)>关于", "关于"),
        ("file_name_x 与 2*3", "file_name_x 与 2*3"),
        ("", ""),
    ],
)
def test_plain_line(given: str, expected: str) -> None:
    assert plain_line(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("# 标题\n\n正文", "标题\n正文"),
        ("第一段\n\n\n第二段", "第一段\n第二段"),
        ("一行\n二行", "一行\n二行"),
        ("- 甲\n- 乙", "• 甲\n• 乙"),
        ("3. 丙\n4. 丁", "3. 丙\n4. 丁"),
        ("<div>块<p>段</p></div>", "块\n段"),
        ("<script>\nalert(1)\n</script>\n\n正文", "正文"),
        ("| 项目 | 金额 |\n|---|---|\n| 接待费 | 3.5 |", "项目 金额\n接待费 3.5"),
        ("> 引用", "引用"),
        ("上\n\n---\n\n下", "上\n下"),
        ("    代码  行一\n    行二", "代码 行一\n行二"),
        ("　　各有关单位：", "各有关单位："),
        ("<p>未闭合<b>标签", "未闭合标签"),
    ],
)
def test_plain_text(given: str, expected: str) -> None:
    assert plain_text(given) == expected


def test_xml_chars_drops_exactly_what_intake_refuses_on_every_code_point() -> None:
    from publisher.values import BAD_CHARACTERS

    wrong = [
        cp
        for cp in range(0x110000)
        if (xml_chars(chr(cp)) == "") != bool(BAD_CHARACTERS.match(chr(cp)))
    ]
    assert wrong == []
    assert xml_chars("名字𠀀😀") == "名字𠀀😀"  # supplementary characters (Ext. B, emoji) stay


@pytest.mark.parametrize(
    "text",
    [
        "各有关单位：\n\n　　请于本月底前完成自查。\r\n联系电话：12345。",
        "2026-10-08 发布，有效期至 2026-10-09。",
        "受强对流天气影响，预计未来6小时内    我市大部分地区将出现50毫米以上降雨。",
        "   \n\t\n",
    ],
)
def test_text_without_markup_reads_as_markdown_would_render_it(text: str) -> None:
    from channels.portal import plaintext

    rendered = plaintext._html_text(plaintext._MARKDOWN.render(text))
    assert plain_text(text) == rendered
    inline = plaintext._html_text(plaintext._MARKDOWN.renderInline(text))
    assert plain_line(text) == plaintext._LINE_BREAKS.sub(" ", inline)


def test_html_fields_carry_the_pages_sanitised_html_whatever_is_stored(portal: Portal) -> None:
    notice_id = portal.publish(GENERAL)
    portal.store(
        notice_id,
        parts={
            "body": '<p onclick="x()">正文<b>加粗</b></p><script>alert(1)</script>'
            '<img src=x onerror="alert(2)"><a href="javascript:alert(3)">链接</a>'
        },
    )
    rss = portal.feed("/portal/rss.xml")
    atom = portal.feed("/portal/atom.xml")
    htmls = [rss.findtext("channel/item/description"), atom.findtext(f"{ATOM}entry/{ATOM}content")]
    for html in htmls:
        assert html == "<p>正文<b>加粗</b></p><a>链接</a>"
