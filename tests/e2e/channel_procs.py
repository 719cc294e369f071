"""What arrived at the channel sandboxes, read the way a person checking each platform would.

Shared by the channel end-to-end and crash tests. The process helpers (``Workspace``,
``Server``, ...) are in ``procs.py``; this module only reads the sandboxes' ``GET /posts`` and
parses HTML, so it works the same against ``publisher serve``'s embedded sandbox
(``{server}/_sandbox``) and a separate ``publisher sandbox`` process (``{root}``).

Every post is tied to the notice it carries through the link to the portal copy
(``/portal/notices/<id>``), which every channel's message contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from publisher import links

from .procs import http

PORTAL_LINK = re.compile(r"/portal/notices/(\d+)\b")
TRACKED_LINK = re.compile(r"/r/([0-9A-Za-z]+)")


def notice_id_in(text: str | None) -> int | None:
    """The notice a message belongs to: the id in its portal link or tracked link, if any."""
    found = PORTAL_LINK.findall(text or "")
    if found:
        return int(found[-1])
    tracked = [links.notice_of(code) for code in TRACKED_LINK.findall(text or "")]
    return tracked[-1] if tracked else None


class Sandboxes:
    """The channel imitations under one root: ``{server}/_sandbox`` or a sandbox process."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")

    def get(self, channel: str) -> dict[str, Any]:
        with http() as client:
            response = client.get(f"{self.root}/{channel}/posts", timeout=30.0)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data

    def faults(self, channel: str, **faults: Any) -> None:
        with http() as client:
            client.put(f"{self.root}/{channel}/faults", json=faults).raise_for_status()

    # -- one list per platform: (notice id, the post as the platform kept it) -------------------

    def weibo(self) -> list[tuple[int | None, dict[str, Any]]]:
        """Statuses Weibo accepted (refused ones are in ``get('weibo')['rejected']``)."""
        return [(notice_id_in(p["text"]), p) for p in self.get("weibo")["posts"]]

    def wechat_drafts(self) -> list[tuple[int | None, dict[str, Any]]]:
        """Every article sent to ``draft/add`` (drafts are invisible to readers)."""
        out = []
        for record in self.get("wechat")["posts"]:
            if record["path"] == "/cgi-bin/draft/add" and record.get("errcode") == 0:
                for article in record["body"]["articles"]:
                    out.append((notice_id_in(article.get("content_source_url")), article))
        return out

    def wechat_articles(self) -> list[tuple[int | None, dict[str, Any]]]:
        """Articles readers can see: published (freepublish) or mass-sent."""
        return [
            (notice_id_in(a.get("content_source_url")), a) for a in self.get("wechat")["articles"]
        ]

    def wecom(self) -> list[tuple[int | None, dict[str, Any]]]:
        """WeCom app messages delivered to readers (repeats its duplicate check held back are
        left out: WeCom did not deliver them)."""
        out = []
        for post in self.get("wecom_app")["posts"]:
            if not post.get("delivered", True):
                continue
            payload = post["payload"]
            card = payload.get("textcard") or {}
            text = card.get("url") or (payload.get("markdown") or {}).get("content", "")
            out.append((notice_id_in(text), post))
        return out

    def cms(self) -> list[tuple[int | None, dict[str, Any]]]:
        """Articles the portal pushed to the (sandbox) CMS."""
        out = []
        for post in self.get("portal")["posts"]:
            body = post.get("body") or {}
            nid = body.get("notice_id")
            out.append((int(nid) if nid is not None else notice_id_in(body.get("url")), post))
        return out


# -- HTML -----------------------------------------------------------------------------------------


@dataclass
class HtmlTable:
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    caption: str = ""
    # (tag, attributes) of every table, th and td, to check the styling a channel needs
    cells: list[tuple[str, dict[str, str]]] = field(default_factory=list)


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[HtmlTable] = []
        self._stack: list[HtmlTable] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._row_tags: list[str] = []
        self._in_head = False
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table":
            table = HtmlTable()
            table.cells.append((tag, a))
            self._stack.append(table)
            self.tables.append(table)
        elif not self._stack:
            return
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "tr":
            self._row = []
            self._row_tags = []
        elif tag in ("th", "td"):
            self._stack[-1].cells.append((tag, a))
            self._row_tags.append(tag)
            self._cell = []
        elif tag == "caption":
            self._caption = []

    def handle_endtag(self, tag: str) -> None:
        if not self._stack:
            return
        table = self._stack[-1]
        if tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            header = self._row_tags and set(self._row_tags) == {"th"}
            if self._in_head or (header and not table.headers and not table.rows):
                table.headers = self._row
            else:
                table.rows.append(self._row)
            self._row = None
        elif tag == "caption" and self._caption is not None:
            table.caption = "".join(self._caption).strip()
            self._caption = None
        elif tag == "table":
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


def html_tables(html: str) -> list[HtmlTable]:
    """Every <table> in ``html``: header cells, body rows (cell text), caption, cell attributes."""
    parser = _Tables()
    parser.feed(html)
    parser.close()
    return parser.tables


class _Active(HTMLParser):
    """Collects markup a browser would act on: script/iframe/object elements, on* handlers,
    javascript:/vbscript:/data: URLs in link attributes."""

    URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "srcset"})
    ACTIVE_TAGS = frozenset({"script", "iframe", "object", "embed", "frame", "base"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.ACTIVE_TAGS:
            self.found.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...> handler")
            if name in self.URL_ATTRS and value:
                scheme = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                if scheme.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.found.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def active_markup(html: str) -> list[str]:
    """Script elements, event handlers and script URLs in ``html``: what hostile input must
    never become."""
    parser = _Active()
    parser.feed(html)
    parser.close()
    return parser.found


def visible_text(html: str) -> str:
    """The text a reader sees (tags dropped, entities decoded), whitespace collapsed."""

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self._skip = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "style"):
                self._skip += 1

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style") and self._skip:
                self._skip -= 1

        def handle_data(self, data: str) -> None:
            if not self._skip:
                self.parts.append(data)

    parser = _Text()
    parser.feed(html)
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts))
