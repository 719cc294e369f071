"""The portal's feeds: RSS 2.0, Atom 1.0 (RFC 4287) and a CAP 1.2 Atom feed of warnings.

RSS items follow the reference's list (channel-apis.md 5): ``title, link, guid
(isPermaLink), pubDate`` (RFC 822 with ``+0800``), ``description`` (the page's HTML,
sanitised as the page is, escaped as text, which readers treat like CDATA) and
``category``; the channel carries ``title, link, description, language`` zh-cn and
``lastBuildDate``. The CAP feed is an Atom feed whose entries each hold one complete CAP
``<alert>`` inline (``content type="application/cap+xml"``) and link to the same alert at
``/portal/notices/{id}/cap.xml``, the way public alert hubs publish CAP over Atom [S60].
Withdrawn notices stay in the feeds with 【已撤回】 in the title, so a reader that already
showed them learns what happened.

Titles and the Atom summary are plain text (``plaintext.plain_line``/``plain_text``: many
readers render them as HTML, so markup in them is removed, not escaped); the fields meant
for HTML (RSS ``description``, Atom ``content type="html"``) carry the page's sanitised HTML.
Every document is written by ``plaintext.write_xml``, so no stored character can make a feed
ill-formed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from channels.portal.cap import CAP_MIME, CAP_NS, CapSource, build_alert
from channels.portal.plaintext import plain_line, plain_text, write_xml
from channels.portal.sanitize import clean_html
from publisher import links
from publisher.kinds import Kind
from publisher.render import KIND_LABELS
from publisher.store.portal import PortalNotice

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ET.register_namespace("cap", CAP_NS)
ET.register_namespace("atom", ATOM_NS)


@dataclass(frozen=True)
class Site:
    """Where the portal lives and what it is called."""

    name: str
    base_url: str  # public address of the server, no trailing slash
    zone: ZoneInfo

    @property
    def home(self) -> str:
        return f"{self.base_url}/portal"

    def page(self, notice_id: int) -> str:
        return links.notice_url(self.base_url, notice_id)

    def cap(self, notice_id: int) -> str:
        return f"{self.page(notice_id)}/cap.xml"


STATE_MARKS = {
    "withdrawn": "【已撤回】",
    "lifted": "【已解除】",
    "superseded": "【已更新】",
    "expired": "【已过期】",
}


def display_title(notice: PortalNotice, now: datetime, zone: ZoneInfo) -> str:
    state = notice.state(now, zone)
    if state == "expired" and notice.kind != Kind.WEATHER_WARNING:
        return notice.title
    return STATE_MARKS.get(state, "") + notice.title


def feed_title(notice: PortalNotice, now: datetime, zone: ZoneInfo) -> str:
    """The title as plain text; the kind's name if markup was all there was."""
    title = plain_line(display_title(notice, now, zone))
    return title or KIND_LABELS.get(notice.kind, notice.kind)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _updated(notice: PortalNotice) -> datetime:
    return notice.withdrawn_at or notice.posted_at


def rss(site: Site, items: Sequence[PortalNotice], now: datetime) -> bytes:
    root = ET.Element("rss", {"version": "2.0"})
    channel = _sub(root, "channel")
    _sub(channel, "title", site.name)
    _sub(channel, "link", site.home)
    _sub(channel, "description", f"{site.name}政府信息公开")
    _sub(channel, "language", "zh-cn")
    _sub(channel, "lastBuildDate", format_datetime(now.astimezone(site.zone)))
    _sub(
        channel,
        f"{{{ATOM_NS}}}link",
        href=f"{site.home}/rss.xml",
        rel="self",
        type="application/rss+xml",
    )
    for n in items:
        item = _sub(channel, "item")
        _sub(item, "title", feed_title(n, now, site.zone))
        _sub(item, "link", site.page(n.id))
        _sub(item, "guid", site.page(n.id), isPermaLink="true")
        _sub(item, "pubDate", format_datetime(n.posted_at.astimezone(site.zone)))
        _sub(item, "category", KIND_LABELS.get(n.kind, n.kind))
        _sub(item, "description", clean_html(n.body_html))
    return write_xml(root)


def _atom_feed(
    site: Site, title: str, self_url: str, items: Sequence[PortalNotice], now: datetime
) -> ET.Element:
    # Atom is the default namespace, declared by hand: ElementTree's ``default_namespace``
    # refuses documents with unprefixed attributes. Inline CAP keeps its ``cap:`` prefix.
    feed = ET.Element("feed", {"xmlns": ATOM_NS, f"{{{XML_NS}}}lang": "zh-CN"})
    _sub(feed, "id", self_url)
    _sub(feed, "title", title)
    newest = max((_updated(n) for n in items), default=now)
    _sub(feed, "updated", newest.astimezone(site.zone).isoformat(timespec="seconds"))
    _sub(feed, "link", rel="self", href=self_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=site.home)
    author = _sub(feed, "author")
    _sub(author, "name", site.name)
    return feed


def _atom_entry(feed: ET.Element, site: Site, n: PortalNotice, now: datetime) -> ET.Element:
    entry = _sub(feed, "entry")
    _sub(entry, "id", site.page(n.id))
    _sub(entry, "title", feed_title(n, now, site.zone))
    _sub(entry, "updated", _updated(n).astimezone(site.zone).isoformat(timespec="seconds"))
    _sub(entry, "published", n.posted_at.astimezone(site.zone).isoformat(timespec="seconds"))
    _sub(entry, "category", term=n.kind, label=KIND_LABELS.get(n.kind, n.kind))
    return entry


def atom(site: Site, items: Sequence[PortalNotice], now: datetime) -> bytes:
    feed = _atom_feed(site, site.name, f"{site.home}/atom.xml", items, now)
    for n in items:
        entry = _atom_entry(feed, site, n, now)
        _sub(entry, "link", rel="alternate", type="text/html", href=site.page(n.id))
        summary = plain_text(n.summary or "")
        if summary:
            _sub(entry, "summary", summary)
        _sub(entry, "content", clean_html(n.body_html), type="html")
    return write_xml(feed)


def cap_atom(site: Site, source: CapSource, items: Sequence[PortalNotice], now: datetime) -> bytes:
    feed = _atom_feed(site, f"{site.name} 预警信息 (CAP 1.2)", f"{site.home}/cap.xml", items, now)
    for n in items:
        entry = _atom_entry(feed, site, n, now)
        _sub(entry, "link", rel="alternate", type=CAP_MIME, href=site.cap(n.id))
        _sub(entry, "link", rel="related", type="text/html", href=site.page(n.id))
        content = _sub(entry, "content", type=CAP_MIME)
        content.append(build_alert(source, n, site.page(n.id), now))
    return write_xml(feed)
