"""Feed text: a notice's markdown and HTML as readable plain text, and only characters XML carries.

Feed readers render a title or summary as HTML as often as they show it as text, so the RSS
and Atom titles, the Atom summary and the CAP headline, description and instruction carry
plain text: the notice's markdown (the format's "simple markdown") is rendered with
markdown-it (CommonMark, plus tables and strikethrough), and the HTML that comes out — the
author's inline HTML included — is read back as text the way a browser shows it: tags gone,
``script``/``style`` and the like dropped with their content, entities decoded, one line per
paragraph, heading, list item or table row, whitespace collapsed. Whatever still looks like a
tag after decoding (``&lt;b&gt;``) is dropped too, so a reader that renders titles as HTML
finds nothing to render.

:func:`xml_chars` is the last word on characters: every string a feed writes passes through
it (see :func:`write_xml`), dropping what XML 1.0 forbids (C0 controls but tab, line feed and
carriage return; lone surrogates; U+FFFE/U+FFFF), the other non-characters, and bidi
embeddings, overrides and isolates — the same set intake refuses
(``publisher.values.BAD_CHARACTERS``), applied to whatever is stored.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from channels.portal.sanitize import DROP_WITH_CONTENT
from publisher.values import BAD_CHARACTERS

# ``breaks``: a line break inside a paragraph stays a line break, as on the portal page.
_MARKDOWN = MarkdownIt("commonmark", {"breaks": True}).enable(["table", "strikethrough"])
BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
    }
)
CELLS = frozenset({"td", "th"})
BULLET = "• "
_SPACES = re.compile(r"[^\S\n]+")
_TAG_SHAPED = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
_LINE_BREAKS = re.compile(r"\s*\n\s*")


def xml_chars(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids, non-characters or bidi controls."""
    return BAD_CHARACTERS.sub("", text)


class _Text(HTMLParser):
    """HTML read as the text a browser shows: blocks on their own lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropping = 0
        self.lists: list[int | None] = []  # the next number of each open <ol>, None for <ul>
        self.pre = 0  # inside <pre> line breaks are the text's own

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_WITH_CONTENT:
            self.dropping += 1
            return
        if self.dropping:
            return
        if tag in BLOCKS:
            self.out.append("\n")
            if tag == "pre":
                self.pre += 1
        elif tag in CELLS:
            self.out.append(" ")
        if tag == "ol":
            start = dict(attrs).get("start") or "1"
            self.lists.append(int(start) if start.isdigit() else 1)
        elif tag == "ul":
            self.lists.append(None)
        elif tag == "li":
            number = self.lists[-1] if self.lists else None
            if number is None:
                self.out.append(BULLET)
            else:
                self.out.append(f"{number}. ")
                self.lists[-1] = number + 1
        elif tag == "img":
            self.out.append(dict(attrs).get("alt") or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in DROP_WITH_CONTENT:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_WITH_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping:
            return
        if tag in BLOCKS:
            self.out.append("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        if tag in ("ol", "ul") and self.lists:
            self.lists.pop()

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            # Outside <pre> a line break in HTML source is a space, as a browser shows it.
            self.out.append(data if self.pre else data.replace("\n", " "))

    def text(self) -> str:
        self.close()
        return "".join(self.out)


def _html_text(html: str) -> str:
    reader = _Text()
    reader.feed(html)
    text = _TAG_SHAPED.sub("", xml_chars(reader.text()))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def plain_text(text: str) -> str:
    """Markdown (with any inline HTML) as plain text: one line per paragraph, list item,
    heading or table row, no markup, entities decoded, no empty lines."""
    return _html_text(_MARKDOWN.render(xml_chars(text)))


def plain_line(text: str) -> str:
    """A title as plain text on one line: inline markdown and HTML gone, whitespace collapsed
    (block syntax such as a leading ``#`` or ``1.`` is kept: in a title it is text)."""
    lines = _html_text(_MARKDOWN.renderInline(xml_chars(text)))
    return _LINE_BREAKS.sub(" ", lines)


def write_xml(root: ET.Element, default_namespace: str | None = None) -> bytes:
    """The UTF-8 document of ``root``; every text, tail and attribute goes through
    :func:`xml_chars` first, so nothing stored can make a feed ill-formed."""
    for element in root.iter():
        if element.text:
            element.text = xml_chars(element.text)
        if element.tail:
            element.tail = xml_chars(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = xml_chars(value)
    body = ET.tostring(root, encoding="unicode", default_namespace=default_namespace)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
