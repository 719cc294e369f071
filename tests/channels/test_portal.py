"""The portal channel, through the real application on 127.0.0.1.

Notices go in through ``POST /api/notices``; the in-process worker posts them; the pages,
feeds and CAP messages are fetched over HTTP from a uvicorn server running ``create_app``.
The CAP output is validated against the official schema in ``shared/reference``. The CMS
push is unit-tested with respx.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest
import respx
import xmlschema
from fastapi import FastAPI
from helpers import context, notice_row
from pydantic import ValidationError
from sandbox_server import free_socket, serve_app

from channels.portal import PortalAdapter, PortalOptions
from channels.portal.cap import CAP_NS
from channels.portal.pageviews import is_bot, local_day, visitor_hash
from channels.portal.sanitize import clean_html, safe_url
from publisher.cap.parse import SCHEMA_PATH
from publisher.contract import (
    Format,
    Idempotency,
    NoticeView,
    OutgoingPost,
    PostRef,
    Rendered,
)
from publisher.errors import (
    CredentialsInvalid,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from publisher.settings import REPO_ROOT, load_settings
from publisher.store import SqlStore
from publisher.store.records import NewDelivery
from publisher.store.schema import deliveries
from publisher.store.sql import new_key
from publisher.web.app import create_app

XSD = SCHEMA_PATH  # the OASIS schema shipped in the package (= shared/reference/CAP-v1.2.xsd)
ATOM = "{http://www.w3.org/2005/Atom}"
CAP = f"{{{CAP_NS}}}"
BROWSER_A = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
)
BROWSER_B = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"
HOSTILE_TITLE = '<script>alert(1)</script>关于<img src=x onerror="alert(2)">的通知'
HOSTILE_BODY = (
    '请点击<a href="javascript:alert(3)">这里</a>查看。\n'
    '<iframe src="https://evil.example/"></iframe><b onmouseover="alert(4)">加粗</b>'
)


# -- the application on a real socket -----------------------------------------------------


@dataclass
class Portal:
    base: str
    client: httpx.Client
    db: Path
    app: FastAPI

    def submit(self, **notice: Any) -> int:
        response = self.client.post("/api/notices", json=notice)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def wait_posted(self, notice_id: int, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            data = self.client.get(f"/api/notices/{notice_id}").json()
            if data["deliveries"] and all(d["status"] == "posted" for d in data["deliveries"]):
                return dict(data)
            if time.monotonic() > deadline:
                raise AssertionError(f"notice {notice_id} not posted: {data}")
            time.sleep(0.05)

    def publish(self, **notice: Any) -> int:
        notice_id = self.submit(**notice)
        self.wait_posted(notice_id)
        return notice_id

    def mark(self, notice_id: int, **fields: Any) -> None:
        """Set fields a person cannot submit (withdrawn, lifted, a validity now past), as the
        product's own flows will; submitting them is refused as unknown or expired."""
        with contextlib.closing(sqlite3.connect(self.db)) as conn, conn:
            (raw,) = conn.execute(
                "SELECT fields FROM notices WHERE id = ?", (notice_id,)
            ).fetchone()
            merged = {**json.loads(raw), **fields}
            conn.execute(
                "UPDATE notices SET fields = ? WHERE id = ?",
                (json.dumps(merged, ensure_ascii=False), notice_id),
            )

    def page(self, path: str, agent: str = BROWSER_A) -> httpx.Response:
        return self.client.get(path, headers={"User-Agent": agent})


@contextlib.contextmanager
def running(
    tmp_path: Path, settings_overrides: dict[str, Any] | None = None, **portal_options: Any
) -> Iterator[Portal]:
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
        accounts={
            "portal": {
                "type": "portal",
                "site_name": "测试市应急管理局",
                "sandbox": True,
                **portal_options,
            }
        },
        **(settings_overrides or {}),
    )
    app = create_app(settings)
    with (
        serve_app(app, sock=sock, lifespan="on", graceful_seconds=2),
        httpx.Client(base_url=base, trust_env=False, timeout=10.0) as client,
    ):
        yield Portal(base, client, db, app)


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with running(tmp_path) as p:
        yield p


# -- reading HTML like a browser -----------------------------------------------------------


class Page(HTMLParser):
    """Tags, attributes, tables and visible text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.tables: list[dict[str, Any]] = []
        self._cell: list[str] | None = None
        self._where: str | None = None
        self.feed(html)
        self.close()

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self.tables.append({"caption": "", "headers": [], "scopes": [], "rows": []})
        elif tag == "caption":
            self._where = "caption"
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td") and self.tables:
            self._cell = []
            if tag == "th":
                self.tables[-1]["scopes"].append(a.get("scope"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._where = None
        elif tag in ("th", "td") and self._cell is not None and self.tables:
            text = "".join(self._cell).strip()
            table = self.tables[-1]
            (table["headers"] if tag == "th" else table["rows"][-1]).append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._where == "caption" and self.tables:
            self.tables[-1]["caption"] += data
        if self._cell is not None:
            self._cell.append(data)


def assert_harmless(html: str) -> None:
    page = Page(html)
    for tag, attrs in page.tags:
        assert tag not in ("script", "iframe", "img", "object", "embed"), (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src"):
                assert not (value or "").strip().lower().startswith("javascript:"), value


# -- notices of every kind -------------------------------------------------------------------


BEIJING = timezone(timedelta(hours=8))


def in_hours(hours: float) -> str:
    """A time as a bureau writes it: Beijing time with its offset."""
    return (
        (datetime.now(UTC) + timedelta(hours=hours))
        .astimezone(BEIJING)
        .isoformat(timespec="seconds")
    )


def warning(colour: str = "橙色", **fields: Any) -> dict[str, Any]:
    return {
        "kind": "weather_warning",
        "title": f"市气象台发布暴雨{colour}预警信号",
        "body": "受强对流天气影响，预计未来6小时内我市大部分地区将出现50毫米以上降雨。",
        "fields": {
            "signal": "暴雨",
            "color": colour,
            "issuer": "测试市气象台",
            "issued_at": in_hours(-1),
            "valid_until": in_hours(6),
            "area": ["城区", "北部山区"],
            "advice": ["停止户外作业", "危险地带人员撤离", "注意防范山洪和地质灾害"],
            **fields,
        },
    }


PENALTY_COLUMNS = [
    "行政相对人名称",
    "违法行为类型",
    "处罚依据",
    "处罚内容",
    "处罚决定日期",
    "执法证号",
]
PENALTY = {
    "kind": "penalty_disclosure",
    "title": "2026年第三季度安全生产行政处罚结果公开",
    "body": "根据有关规定，现将本局2026年第三季度作出的行政处罚决定公开如下。",
    "table": {
        "columns": PENALTY_COLUMNS,
        "rows": [
            [
                "某某化工有限公司",
                "未按规定开展安全培训",
                "《安全生产法》第九十七条",
                "罚款3万元",
                "2026-09-12",
                "11010012345、11010012346",
            ],
            [
                "某某建材厂",
                "未建立隐患排查制度",
                "《安全生产法》第一百零二条",
                "警告",
                "2026-09-20",
                "11010012347、11010012348",
            ],
        ],
    },
}
APPROVAL = {
    "kind": "approval_list",
    "title": "2026年10月危险化学品经营许可公示",
    "body": "现将2026年10月办理的危险化学品经营许可信息公示如下。",
    "table": {
        "columns": ["企业名称", "许可事项", "许可证编号", "许可决定日期", "有效期至"],
        "rows": [
            [
                "某某贸易有限公司",
                "危险化学品经营许可（不带储存）",
                "X危化经字〔2026〕0101",
                "2026-10-08",
                "2029-10-07",
            ]
        ],
    },
}
ACCIDENT = {
    "kind": "accident_report",
    "title": "某某公司“10·8”一般物体打击事故信息",
    "body": "2026年10月8日，某某公司发生一起物体打击事故，造成1人受伤。",
    "fields": {"occurred_at": "2026-10-08T09:30:00+08:00", "location": "某某工业园区"},
}
BUDGET = {
    "kind": "budget_disclosure",
    "title": "2026年度部门预算“三公”经费公开",
    "body": "现将本局2026年度“三公”经费预算情况公开如下。",
    "table": {
        "columns": ["项目", "预算数"],
        "rows": [["因公出国（境）费", 0], ["公务接待费", 3.5]],
    },
    "fields": {"unit": "万元"},
}
GENERAL = {
    "kind": "general",
    "title": "我局召开安全生产形势分析会",
    "body": "11月20日，我局召开四季度安全生产形势分析会。\n会议部署了冬季安全生产工作。",
    "fields": {
        "attachments": [
            {"name": "会议纪要.pdf", "url": "/files/minutes.pdf"},
        ]
    },
}


# -- pages ------------------------------------------------------------------------------------


def test_every_kind_gets_a_page_under_its_category(portal: Portal) -> None:
    ids = {
        n["kind"]: portal.publish(**n)
        for n in (warning(), PENALTY, APPROVAL, ACCIDENT, BUDGET, GENERAL)
    }

    data = portal.client.get(f"/api/notices/{ids['general']}").json()
    assert data["deliveries"][0]["url"] == f"{portal.base}/portal/notices/{ids['general']}"
    assert data["deliveries"][0]["remote_id"] == str(ids["general"])

    front = portal.page("/portal")
    assert front.status_code == 200
    text = Page(front.text).text
    for label in ("预警信息", "行政许可", "行政处罚", "事故信息", "财政信息", "工作动态"):
        assert label in text
    assert "正在生效的预警" in text and "市气象台发布暴雨橙色预警信号" in text
    assert "沙箱" in text  # a sandbox account says so on every page

    listing = portal.page("/portal/category/penalty_disclosure")
    assert listing.status_code == 200
    assert f'href="/portal/notices/{ids["penalty_disclosure"]}"' in listing.text
    assert f'href="/portal/notices/{ids["general"]}"' not in listing.text
    assert portal.page("/portal/category/nonsense").status_code == 404

    accident = Page(portal.page(f"/portal/notices/{ids['accident_report']}").text).text
    assert "发生时间" in accident and "2026年10月8日9时30分" in accident
    assert "某某工业园区" in accident
    budget = Page(portal.page(f"/portal/notices/{ids['budget_disclosure']}").text)
    assert "（单位：万元）" in budget.tables[0]["caption"]
    assert any(t == "td" and a.get("class") == "num" for t, a in budget.tags)
    general = Page(portal.page(f"/portal/notices/{ids['general']}").text)
    assert "附件" in general.text and ("a", {"href": "/files/minutes.pdf", "rel": "noopener"}) in (
        general.tags
    )

    for kind, notice_id in ids.items():
        page = portal.page(f"/portal/notices/{notice_id}")
        assert page.status_code == 200, kind
        assert page.headers["content-type"].startswith("text/html")
        h1 = Page(page.text)
        assert "<h1>" in page.text
        assert "沙箱" in h1.text
        assert "http://" not in page.text.split("<body>")[0].replace(portal.base, ""), (
            "no external resources in <head>"
        )


def test_tables_are_accessible_html_tables(portal: Portal) -> None:
    notice_id = portal.publish(**PENALTY)
    page = Page(portal.page(f"/portal/notices/{notice_id}").text)
    assert len(page.tables) == 1
    table = page.tables[0]
    assert table["caption"].startswith("行政处罚决定信息")
    assert table["headers"] == PENALTY_COLUMNS
    assert table["scopes"] == ["col"] * len(PENALTY_COLUMNS)
    body_rows = [r for r in table["rows"] if r]
    assert body_rows[0] == PENALTY["table"]["rows"][0]  # type: ignore[index]
    assert len(body_rows) == 2
    assert "《中华人民共和国行政处罚法》" in page.text

    approval = Page(portal.page(f"/portal/notices/{portal.publish(**APPROVAL)}").text)
    assert approval.tables[0]["headers"][0] == "企业名称"
    assert approval.tables[0]["caption"].startswith("行政许可信息公示表")


def test_a_warning_page_reads_like_a_bureau_wrote_it(portal: Portal) -> None:
    notice_id = portal.publish(**warning("红色"))
    page = portal.page(f"/portal/notices/{notice_id}")
    text = Page(page.text).text
    assert "暴雨红色预警信号" in text
    assert "Ⅰ级（特别严重）" in text
    assert "测试市气象台" in text
    assert "城区、北部山区" in text
    assert "防御指南" in text and "危险地带人员撤离" in text
    assert "有效时间" in text
    assert f"/portal/notices/{notice_id}/cap.xml" in page.text
    assert "已过期" not in text and "已撤回" not in text


def test_hostile_html_never_reaches_a_page(portal: Portal) -> None:
    notice_id = portal.publish(
        kind="general", title=HOSTILE_TITLE, body=HOSTILE_BODY, fields=GENERAL["fields"]
    )
    # A javascript: link is refused at input; one stored before that rule is still harmless.
    hostile = [
        *GENERAL["fields"]["attachments"],
        {"name": "恶意链接", "url": "javascript:alert(5)"},
    ]
    refused = portal.client.post(
        "/api/notices", json={**GENERAL, "fields": {"attachments": hostile}}
    )
    assert refused.status_code == 422 and "fields.attachments.2.url" in refused.text
    portal.mark(notice_id, attachments=hostile)
    html = portal.page(f"/portal/notices/{notice_id}").text
    assert_harmless(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, not run
    assert "&lt;a href=" in html
    page = Page(html)
    attachment_links = [a.get("href") for t, a in page.tags if t == "a"]
    assert "/files/minutes.pdf" in attachment_links
    assert "恶意链接" in page.text  # shown, but not as a link
    for path in ("/portal", "/portal/category/general", "/portal/rss.xml", "/portal/atom.xml"):
        body = portal.page(path).text
        assert "<script>alert(1)" not in body, path
        assert "<img src=x" not in body, path
    assert_harmless(portal.page("/portal").text)


def test_a_notice_not_yet_posted_answers_404(portal: Portal) -> None:
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    notice_id = portal.submit(**{**GENERAL, "publish_at": later})
    assert portal.client.get(f"/api/notices/{notice_id}").json()["deliveries"][0]["status"] in (
        "pending",
        "retry_wait",
    )
    response = portal.page(f"/portal/notices/{notice_id}")
    assert response.status_code == 404
    assert "尚未发布" in response.text
    assert portal.page("/portal/notices/999999").status_code == 404
    assert portal.page("/portal/notices/abc").status_code == 404
    for odd in ("99999999999999999999", "0", "²", "1e3"):  # too big, none, not ASCII digits
        assert portal.page(f"/portal/notices/{odd}").status_code == 404, odd
        assert portal.page(f"/portal/notices/{odd}/cap.xml").status_code == 404, odd
    assert f'/portal/notices/{notice_id}"' not in portal.page("/portal/category/general").text
    assert f"/portal/notices/{notice_id}<" not in portal.page("/portal/rss.xml").text


def test_expired_lifted_and_withdrawn_notices_say_so(portal: Portal) -> None:
    expired = portal.publish(**warning("黄色"))
    portal.mark(expired, issued_at=in_hours(-8), valid_until=in_hours(-2))
    lifted = portal.publish(**warning("蓝色"))
    portal.mark(lifted, lifted=True, lifted_at="2026-11-26 12:00")
    withdrawn = portal.publish(**{**GENERAL, "title": "一则已撤回的通知"})
    portal.mark(withdrawn, withdrawn=True, withdrawn_reason="内容有误")
    cancelled = portal.publish(**{**GENERAL, "title": "一则被取消的通知"})
    current = portal.publish(**warning("橙色"))

    assert "本预警已过期" in Page(portal.page(f"/portal/notices/{expired}").text).text
    assert "本预警已解除" in Page(portal.page(f"/portal/notices/{lifted}").text).text
    text = Page(portal.page(f"/portal/notices/{withdrawn}").text).text
    assert "本信息已撤回" in text and "内容有误" in text
    assert "已撤回" not in Page(portal.page(f"/portal/notices/{cancelled}").text).text
    assert "已过期" not in Page(portal.page(f"/portal/notices/{current}").text).text

    # Every delivery of a notice cancelled after it went out (a retraction): still a page,
    # marked withdrawn, so links already shared explain what happened.
    with contextlib.closing(sqlite3.connect(portal.db)) as conn, conn:
        conn.execute("UPDATE deliveries SET status = 'cancelled' WHERE notice_id = ?", (cancelled,))
    assert "本信息已撤回" in Page(portal.page(f"/portal/notices/{cancelled}").text).text

    front = Page(portal.page("/portal").text).text
    in_force = front.split("正在生效的预警")[1].split("预警信息")[0]
    assert "暴雨橙色" in in_force and "暴雨黄色" not in in_force and "暴雨蓝色" not in in_force


def test_lists_are_paginated(tmp_path: Path) -> None:
    with running(tmp_path, page_size=5) as portal:
        ids = [portal.publish(**{**GENERAL, "title": f"工作动态第{i}条"}) for i in range(7)]
        first = portal.page("/portal/category/general").text
        second = portal.page("/portal/category/general?page=2").text
        assert f'/portal/notices/{ids[-1]}"' in first  # newest first
        assert f'/portal/notices/{ids[0]}"' in second
        assert "第 1 / 2 页" in Page(first).text and "下一页" in first
        assert "上一页" in second
        assert portal.page("/portal/category/general?page=3").status_code == 404


# -- feeds and CAP ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cap_schema() -> xmlschema.XMLSchema:
    assert XSD.is_file(), f"the official CAP schema is expected at {XSD}"
    return xmlschema.XMLSchema(str(XSD))


def test_rss_and_atom_feeds_parse_and_link_to_the_pages(portal: Portal) -> None:
    ids = [portal.publish(**GENERAL), portal.publish(**PENALTY)]
    response = portal.page("/portal/rss.xml")
    assert response.headers["content-type"].startswith("application/rss+xml")
    rss = SafeET.fromstring(response.content)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    channel = rss.find("channel")
    assert channel is not None and channel.findtext("language") == "zh-cn"
    items = channel.findall("item")
    assert [i.findtext("link") for i in items] == [
        f"{portal.base}/portal/notices/{n}" for n in reversed(ids)
    ]
    assert items[0].findtext("pubDate", "").endswith("+0800")
    assert items[0].findtext("category") == "行政处罚"
    assert "<table>" in items[0].findtext("description", "")

    feed = SafeET.fromstring(portal.page("/portal/atom.xml").content)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    link = entries[0].find(f"{ATOM}link")
    assert link is not None and link.get("href") == f"{portal.base}/portal/notices/{ids[1]}"
    assert entries[0].findtext(f"{ATOM}updated", "").endswith("+08:00")


def _alerts(feed: ET.Element) -> list[ET.Element]:
    found = []
    for entry in feed.findall(f"{ATOM}entry"):
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "application/cap+xml"
        alert = content.find(f"{CAP}alert")
        assert alert is not None
        found.append(alert)
    return found


def test_the_cap_feed_validates_against_the_official_schema(
    portal: Portal, cap_schema: xmlschema.XMLSchema
) -> None:
    orange = portal.publish(**warning("橙色"))
    red = portal.publish(**warning("红色"))
    blue_lifted = portal.publish(**warning("蓝色"))
    portal.mark(blue_lifted, lifted=True)
    yellow_expired = portal.publish(**warning("黄色"))
    portal.mark(yellow_expired, valid_until=in_hours(-1))
    portal.publish(**GENERAL)  # not a warning: not in the CAP feed

    response = portal.page("/portal/cap.xml")
    assert response.status_code == 200
    feed = SafeET.fromstring(response.content)
    alerts = _alerts(feed)
    assert len(alerts) == 4
    for alert in alerts:
        cap_schema.validate(ET.tostring(alert, encoding="unicode"))

    by_web = {a.findtext(f"{CAP}info/{CAP}web"): a for a in alerts}
    o = by_web[f"{portal.base}/portal/notices/{orange}"]
    assert o.findtext(f"{CAP}msgType") == "Alert"
    assert o.findtext(f"{CAP}status") == "Test"  # a sandbox account never says Actual
    assert o.findtext(f"{CAP}sent", "").endswith("+08:00")
    info = o.find(f"{CAP}info")
    assert info is not None
    assert info.findtext(f"{CAP}language") == "zh-CN"
    assert info.findtext(f"{CAP}category") == "Met"
    assert info.findtext(f"{CAP}event") == "暴雨橙色预警"
    assert info.findtext(f"{CAP}severity") == "Severe"
    assert info.findtext(f"{CAP}urgency") == "Immediate"
    assert info.findtext(f"{CAP}senderName") == "测试市气象台"
    assert info.findtext(f"{CAP}area/{CAP}areaDesc") == "城区、北部山区"
    assert "危险地带人员撤离" in info.findtext(f"{CAP}instruction", "")
    assert info.findtext(f"{CAP}eventCode/{CAP}value") == "0203"
    assert info.findtext(f"{CAP}expires", "").endswith("+08:00")

    r = by_web[f"{portal.base}/portal/notices/{red}"]
    assert r.findtext(f"{CAP}info/{CAP}severity") == "Extreme"
    lifted = by_web[f"{portal.base}/portal/notices/{blue_lifted}"]
    assert lifted.findtext(f"{CAP}msgType") == "Cancel"
    assert lifted.findtext(f"{CAP}info/{CAP}severity") == "Minor"
    original = lifted.findtext(f"{CAP}identifier", "").removesuffix(".cancel")
    assert original in lifted.findtext(f"{CAP}references", "")
    expired = by_web[f"{portal.base}/portal/notices/{yellow_expired}"]
    assert expired.findtext(f"{CAP}info/{CAP}severity") == "Moderate"
    assert expired.findtext(f"{CAP}info/{CAP}urgency") == "Past"

    single = portal.page(f"/portal/notices/{orange}/cap.xml")
    assert single.headers["content-type"].startswith("application/cap+xml")
    cap_schema.validate(single.text)
    alert = SafeET.fromstring(single.content)
    assert alert.findtext(f"{CAP}identifier") == o.findtext(f"{CAP}identifier")
    assert portal.page(f"/portal/notices/{orange + 100}/cap.xml").status_code == 404


def test_hostile_warning_text_still_gives_valid_cap(
    portal: Portal, cap_schema: xmlschema.XMLSchema
) -> None:
    notice = warning("橙色", area=["<b>城区</b> & 郊区"], advice=["撤离", "避险"])
    notice_id = portal.publish(**{**notice, "title": HOSTILE_TITLE})
    # A control character is refused at input now; one stored before that rule is dropped.
    portal.mark(notice_id, area="<b>城区</b> & 郊区\x0b", advice="撤离\n避险")
    text = portal.page(f"/portal/notices/{notice_id}/cap.xml").text
    cap_schema.validate(text)
    alert = SafeET.fromstring(text.encode())
    assert alert.findtext(f"{CAP}info/{CAP}area/{CAP}areaDesc") == "<b>城区</b> & 郊区"
    # The headline is plain text: the markup is gone, not escaped (tests/channels/test_feeds.py).
    assert alert.findtext(f"{CAP}info/{CAP}headline", "").endswith("关于的通知")


# -- reads ------------------------------------------------------------------------------------


def reads(portal: Portal, notice_id: int) -> int:
    data = portal.client.get("/portal/stats.json", params={"ids": str(notice_id)}).json()
    return int(data["reads"][str(notice_id)])


def test_page_views_count_people_once_a_day_and_ignore_bots(tmp_path: Path) -> None:
    with running(tmp_path, trust_forwarded_for=True) as portal:
        check_page_views_count_people(portal)


def check_page_views_count_people(portal: Portal) -> None:
    """Two readers, told apart by address (behind the proxy on this host: X-Forwarded-For)."""
    notice_id = portal.publish(**GENERAL)
    assert reads(portal, notice_id) == 0
    head = portal.client.head(f"/portal/notices/{notice_id}", headers={"User-Agent": BROWSER_A})
    assert head.status_code == 200 and reads(portal, notice_id) == 0  # link checkers
    portal.page(f"/portal/notices/{notice_id}", BROWSER_A)
    portal.page(f"/portal/notices/{notice_id}", BROWSER_A)
    assert reads(portal, notice_id) == 1
    for bot in (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0)",
        "curl/8.5.0",
        "python-requests/2.32",
        "Wget/1.21",
        "",
    ):
        portal.page(f"/portal/notices/{notice_id}", bot)
    assert reads(portal, notice_id) == 1
    page = portal.client.get(
        f"/portal/notices/{notice_id}",
        headers={"User-Agent": BROWSER_B, "X-Forwarded-For": "203.0.113.7"},
    )
    assert reads(portal, notice_id) == 2
    assert "浏览次数：2" in Page(page.text).text

    with contextlib.closing(sqlite3.connect(portal.db)) as conn:
        rows = conn.execute("SELECT notice_id, day, visitor_hash FROM page_views").fetchall()
    assert len(rows) == 2
    assert all("127.0.0.1" not in str(r) and len(r[2]) == 64 for r in rows)


async def test_fetch_metrics_reads_the_portal_counts(tmp_path: Path) -> None:
    with running(tmp_path, trust_forwarded_for=True) as portal:
        await check_fetch_metrics(portal)


async def check_fetch_metrics(portal: Portal) -> None:
    counted = portal.publish(**GENERAL)
    unread = portal.publish(**PENALTY)
    for reader in ("203.0.113.7", "203.0.113.8"):
        portal.client.get(
            f"/portal/notices/{counted}",
            headers={"User-Agent": BROWSER_A, "X-Forwarded-For": reader},
        )

    class Clock:
        def now(self) -> datetime:
            return datetime.now(UTC)

    async with httpx.AsyncClient(trust_env=False) as http:
        adapter = PortalAdapter(
            context("portal", PortalOptions(), Clock(), http=http, base_url=portal.base)
        )
        refs = [
            PostRef(
                delivery_id=d, remote_id=str(n), url=None, idempotency_key=f"k{d}", posted_at=None
            )
            for d, n in ((11, counted), (12, unread))
        ]
        samples = await adapter.fetch_metrics(refs)
        # base_url is the public name; stats_url is where the server answers from inside.
        inside = PortalOptions(stats_url=f"{portal.base}/portal/stats.json")
        behind_proxy = PortalAdapter(
            context("portal", inside, Clock(), http=http, base_url="https://www.ajj.example")
        )
        again = await behind_proxy.fetch_metrics(refs[:1])
    assert {(s.delivery_id, s.metric, s.value) for s in samples} == {
        (11, "reads", 2),
        (12, "reads", 0),
    }
    assert [(s.delivery_id, s.value) for s in again] == [(11, 2)]


def test_the_visitor_day_is_the_local_day() -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    before = datetime(2026, 11, 26, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    after = before + timedelta(minutes=2)  # 00:01 the next day
    assert local_day(before, zone) != local_day(after, zone)
    assert visitor_hash("s", local_day(before, zone), "1.2.3.4") != visitor_hash(
        "s", local_day(after, zone), "1.2.3.4"
    )
    assert is_bot("Mozilla/5.0 (compatible; bingbot/2.0)")
    assert is_bot(BROWSER_A, {"sec-purpose": "prefetch"})
    assert not is_bot(BROWSER_A, {})


def test_the_stylesheet_is_served_from_the_package(portal: Portal) -> None:
    css = portal.page("/portal/static/portal.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@import" not in css.text and "url(http" not in css.text


# -- the CMS push against the CMS sandbox, over real HTTP ----------------------------------

SANDBOX_CMS = {
    "cms_url": "{base_url}/_sandbox/portal/api/articles",
    "cms_lookup_url": "{base_url}/_sandbox/portal/api/articles/by-key/{key}",
    "cms_auth_header": "Bearer sandbox",
    "cms_id_path": "data.id",
    "cms_url_path": "data.url",
    "cms_timeout": 1.0,
}


def _detail(portal: Portal, notice_id: int) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(portal.db)) as conn:
        row = conn.execute("SELECT detail FROM deliveries WHERE notice_id = ?", (notice_id,))
        value = row.fetchone()[0]
    return dict(json.loads(value))


def test_the_page_goes_to_the_cms_sandbox_once_even_when_its_reply_is_lost(
    tmp_path: Path,
) -> None:
    overrides = {"retry_base_delay": 0.05, "retry_max_delay": 0.2}
    with running(tmp_path, overrides, **SANDBOX_CMS) as portal:
        first = portal.publish(**PENALTY)
        posts = portal.client.get("/_sandbox/portal/posts").json()
        assert posts["count"] == 1
        article = posts["posts"][0]
        assert article["body"]["url"] == f"{portal.base}/portal/notices/{first}"
        assert "<table>" in article["body"]["body"]
        detail = _detail(portal, first)
        assert detail["cms_id"] == "1" and detail["cms_url"].endswith("/articles/1.html")

        faults = {"lost_reply": True, "lost_reply_seconds": 3}
        assert portal.client.put("/_sandbox/portal/faults", json=faults).status_code == 200
        second = portal.submit(**GENERAL)
        deadline = time.monotonic() + 10
        while portal.client.get("/_sandbox/portal/posts").json()["count"] < 2:
            assert time.monotonic() < deadline, "the CMS never received the second article"
            time.sleep(0.02)
        portal.client.put("/_sandbox/portal/faults", json={})
        portal.wait_posted(second, timeout=15)
        posts = portal.client.get("/_sandbox/portal/posts").json()
        assert posts["count"] == 2  # found by its key, never sent twice
        assert _detail(portal, second)["cms_id"] == "2"
        events = portal.client.get(f"/api/notices/{second}").json()["events"]
        actions = [e["action"] for e in events]
        assert "unknown_outcome" in actions and actions[-1] == "reconciled"
        assert portal.page(f"/portal/notices/{second}").status_code == 200


# -- the queries over every store (SQLite and PostgreSQL) ------------------------------------


async def _notice_with_portal(store: SqlStore, title: str, *, other: bool = False) -> int:
    now = store.clock.now()
    rendered = {"format": "html", "parts": {"title": f"门户：{title}", "body": "<p>正文</p>"}}
    new = [
        NewDelivery("portal", "portal", 0, now, 3, new_key(), rendered),
        *([NewDelivery("oa", "oa_webhook", 0, now, 3, new_key(), rendered)] if other else []),
    ]
    done = await store.submit(
        notice=notice_row(title), new_deliveries=new, source="test", actor="tester"
    )
    return int(done.notice_id)


async def _set(store: SqlStore, notice_id: int, channel: str, **values: Any) -> None:
    def run(conn: Any) -> None:
        conn.execute(
            deliveries.update()
            .where(deliveries.c.notice_id == notice_id, deliveries.c.channel == channel)
            .values(**values)
        )

    await store._tx(run)


async def test_live_notices_and_views_over_every_store(store: SqlStore) -> None:
    posted = await _notice_with_portal(store, "已发布", other=True)
    waiting = await _notice_with_portal(store, "待发布")
    retracted = await _notice_with_portal(store, "已撤回")
    now = store.clock.now()
    await _set(store, posted, "portal", status="posted", posted_at=now)
    await _set(store, retracted, "portal", status="cancelled", posted_at=now - timedelta(hours=1))

    found = await store.portal_notice(posted)
    assert found is not None and found.title == "门户：已发布" and found.body_html == "<p>正文</p>"
    assert found.posted_at == now and not found.withdrawn
    assert await store.portal_notice(waiting) is None
    gone = await store.portal_notice(retracted)
    assert gone is not None and gone.withdrawn
    listed = await store.portal_notices(kinds=["general"])
    assert [n.id for n in listed] == [posted, retracted]
    assert await store.portal_count(kinds=["general"]) == 2
    front = await store.portal_front_page(["general", "approval_list"], 1)
    assert [n.id for n in front["general"]] == [posted] and front["approval_list"] == []

    day = now.date()
    assert await store.record_page_view(posted, day, "a" * 64, now)
    assert not await store.record_page_view(posted, day, "a" * 64, now)
    assert await store.record_page_view(posted, day, "b" * 64, now)
    assert await store.record_page_view(posted, day + timedelta(days=1), "a" * 64, now)
    counts = await store.page_view_counts([posted, waiting])
    assert counts == {posted: 3, waiting: 0}


# -- the sanitiser ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("<p>正文</p>", "<p>正文</p>"),
        ('<p onclick="x()">a</p>', "<p>a</p>"),
        ("<script>alert(1)</script>b", "b"),
        ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
        ('<a href=" JAVASCRIPT:alert(1)">x</a>', "<a>x</a>"),
        (
            '<a href="https://gov.example/a?b=1&amp;c=2">x</a>',
            '<a href="https://gov.example/a?b=1&amp;c=2">x</a>',
        ),
        ('<img src=x onerror="alert(1)">', ""),
        ('<th scope="col" style="x">列</th>', '<th scope="col">列</th>'),
        ("<table><tr><td>1", "<table><tr><td>1</td></tr></table>"),
        ("1 &lt; 2", "1 &lt; 2"),
    ],
)
def test_clean_html_keeps_only_the_allow_list(given: str, expected: str) -> None:
    assert clean_html(given) == expected


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://a.example/x.pdf", True),
        ("/files/a.pdf", True),
        ("a.pdf", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("//evil.example", False),
        ("java\tscript:alert(1)", False),
        ("vbscript:x", False),
    ],
)
def test_safe_url(url: str, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


# -- the optional CMS push (respx) --------------------------------------------------------------

CMS = "https://cms.bureau.example/api/articles"


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def outgoing(notice_id: int = 42) -> OutgoingPost:
    notice = NoticeView(
        id=notice_id,
        kind="general",
        title="标题",
        body="正文",
        summary=None,
        table=None,
        fields={},
        urgent=False,
        publish_at=None,
        created_at=FixedClock().now(),
    )
    return OutgoingPost(
        delivery_id=7,
        account="portal",
        idempotency_key="key-7",
        notice=notice,
        rendered=Rendered(Format.HTML, {"title": "标题", "body": "<p>正文</p>"}),
        attempt=1,
    )


def cms_adapter(http: httpx.AsyncClient, **options: Any) -> PortalAdapter:
    defaults: dict[str, Any] = {
        "cms_url": CMS,
        "cms_auth_header": "Bearer s3cret",
        "cms_id_path": "data.id",
        "cms_url_path": "data.link",
    }
    return PortalAdapter(
        context(
            "portal",
            PortalOptions(**{**defaults, **options}),
            FixedClock(),
            http=http,
            base_url="https://www.ajj.example.gov.cn",
        )
    )


async def test_publish_without_a_cms_is_the_page_itself() -> None:
    async with httpx.AsyncClient() as http:
        adapter = PortalAdapter(
            context(
                "portal",
                PortalOptions(),
                FixedClock(),
                http=http,
                base_url="https://www.ajj.example.gov.cn/",
            )
        )
        result = await adapter.publish(outgoing(42))
        again = await adapter.lookup(outgoing(42))
    assert result.remote_id == "42"
    assert result.url == "https://www.ajj.example.gov.cn/portal/notices/42"
    assert again is not None and again.url == result.url
    caps = adapter.capabilities
    assert caps.idempotency is Idempotency.LOOKUP
    assert caps.formats == (Format.HTML,) and caps.metrics == ("reads",)


@respx.mock
async def test_the_cms_receives_the_page_and_its_ids_are_kept() -> None:
    route = respx.post(CMS).respond(200, json={"data": {"id": 901, "link": "https://cms/901"}})
    async with httpx.AsyncClient() as http:
        result = await cms_adapter(http).publish(outgoing())
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer s3cret"
    assert sent.headers["Idempotency-Key"] == "key-7"
    body = httpx.Response(200, content=sent.content).json()
    assert body["title"] == "标题" and body["body"] == "<p>正文</p>"
    assert body["url"] == "https://www.ajj.example.gov.cn/portal/notices/42"
    assert result.remote_id == "42"
    assert result.detail["cms_id"] == "901" and result.detail["cms_url"] == "https://cms/901"


@respx.mock
async def test_the_cms_body_comes_from_the_configured_template() -> None:
    template = '{"DocTitle": {{ title|tojson }}, "DocHtmlCon": {{ body|tojson }}, "Src": "ajj"}'
    route = respx.post(CMS).respond(201, json={"data": {"id": "a1"}})
    async with httpx.AsyncClient() as http:
        await cms_adapter(http, cms_body_template=template).publish(outgoing())
    assert httpx.Response(200, content=route.calls.last.request.content).json() == {
        "DocTitle": "标题",
        "DocHtmlCon": "<p>正文</p>",
        "Src": "ajj",
    }
    with pytest.raises(ValidationError, match="cms_body_template"):
        PortalOptions(cms_url=CMS, cms_body_template='{"a": {{ title }')


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (429, {}, {"Retry-After": "30"}, RateLimited),
        (503, {}, {}, TransientError),
        (401, {"message": "token invalid"}, {}, CredentialsInvalid),
        (400, {"message": "栏目不存在"}, {}, PermanentError),
    ],
)
@respx.mock
async def test_cms_errors_are_classified(
    status: int, body: dict[str, Any], headers: dict[str, str], error: type[Exception]
) -> None:
    respx.post(CMS).respond(status, json=body, headers=headers)
    async with httpx.AsyncClient() as http:
        with pytest.raises(error) as caught:
            await cms_adapter(http).publish(outgoing())
    if status == 400:
        assert "栏目不存在" in str(caught.value)
    if status == 429:
        assert caught.value.retry_after == 30  # type: ignore[attr-defined]


@respx.mock
async def test_cms_transport_failures_and_duplicates() -> None:
    async with httpx.AsyncClient() as http:
        respx.post(CMS).mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(TransientError):
            await cms_adapter(http).publish(outgoing())
        respx.post(CMS).mock(side_effect=httpx.ReadTimeout("no reply"))
        with pytest.raises(OutcomeUnknown):
            await cms_adapter(http).publish(outgoing())
        respx.post(CMS).respond(409, json={"data": {"id": 5}})
        result = await cms_adapter(http).publish(outgoing())
    assert result.remote_id == "42" and result.detail["cms_id"] == "5"


@respx.mock
async def test_a_cms_without_lookup_is_not_safe_to_repost() -> None:
    async with httpx.AsyncClient() as http:
        assert cms_adapter(http).capabilities.idempotency is Idempotency.NONE
        adapter = cms_adapter(http, cms_lookup_url="https://cms.bureau.example/api/by-key/{key}")
        assert adapter.capabilities.idempotency is Idempotency.LOOKUP
        respx.get("https://cms.bureau.example/api/by-key/key-7").respond(404)
        assert await adapter.lookup(outgoing()) is None
        respx.get("https://cms.bureau.example/api/by-key/key-7").respond(
            200, json={"data": {"id": 77, "link": "https://cms/77"}}
        )
        found = await adapter.lookup(outgoing())
    assert found is not None and found.detail["cms_id"] == "77"
    assert found.url == "https://www.ajj.example.gov.cn/portal/notices/42"
