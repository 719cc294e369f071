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
it (:func:`write_xml`), dropping what XML 1.0 forbids (C0 controls but tab, line feed and
carriage return; lone surrogates; U+FFFE/U+FFFF), the other non-characters, and bidi
embeddings, overrides and isolates — the same set intake refuses
(``publisher.values.BAD_CHARACTERS``), applied to whatever is stored.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
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
# Text with none of these has no markup to remove: markdown-it is skipped (most notices; it
# costs tens of microseconds a call, which a feed of 50 entries would pay several times).
_INLINE_SYNTAX = re.compile(r"[*_\[\]`~<>&\\!|]")
_BLOCK_SYNTAX = re.compile(r"^[ \t]*(?:[-+*>#=]|\d{1,9}[.)])", re.MULTILINE)


# A superset of BAD_CHARACTERS that the regex engine scans ten times faster (its exact class
# lists the non-characters of all 17 planes one by one): every character a feed may not carry,
# plus the rest of the supplementary planes from U+1FFFE, which the exact class then judges.
_MAYBE_BAD = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\u202a-\u202e\u2066-\u2069"
    "\ufdd0-\ufdef\ufffe\uffff\U0001fffe-\U0010ffff]"
)


def _judged(found: re.Match[str]) -> str:
    return "" if BAD_CHARACTERS.match(found.group()) else found.group()


def xml_chars(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids, non-characters or bidi controls."""
    return _MAYBE_BAD.sub(_judged, text)


class _Text(HTMLParser):
    """HTML read as the text a browser shows: blocks on their own lines."""

    def __init__(self, cells: str = " ") -> None:
        super().__init__(convert_charrefs=True)
        self.cells = cells  # what stands before each table cell
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
            self.out.append(self.cells)
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


def _lines(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _html_text(html: str, cells: str = " ") -> str:
    reader = _Text(cells)
    reader.feed(html)
    return _lines(_TAG_SHAPED.sub("", xml_chars(reader.text())))


def html_lines(html: str, cells: str = " ") -> list[str]:
    """HTML as the lines a browser shows (one per paragraph, heading, list item or table
    row), ``cells`` before each table cell (a row's first cell's is left out)."""
    first = cells.strip()
    return [
        line[len(first) :].lstrip() if first and line.startswith(first) else line
        for line in _html_text(html, cells).split("\n")
        if line
    ]


def plain_text(text: str) -> str:
    """Markdown (with any inline HTML) as plain text: one line per paragraph, list item,
    heading or table row, no markup, entities decoded, no empty lines."""
    return _remembered(_block, text)


def plain_line(text: str) -> str:
    """A title as plain text on one line: inline markdown and HTML gone, whitespace collapsed
    (block syntax such as a leading ``#`` or ``1.`` is kept: in a title it is text)."""
    return _remembered(_inline, text)


def _block(text: str) -> str:
    text = xml_chars(text)
    if not _INLINE_SYNTAX.search(text) and not _BLOCK_SYNTAX.search(text):
        return _lines(text)
    return _html_text(_MARKDOWN.render(text))


def _inline(text: str) -> str:
    text = xml_chars(text)
    if _INLINE_SYNTAX.search(text):
        text = _html_text(_MARKDOWN.renderInline(text))
    return _LINE_BREAKS.sub(" ", _lines(text))


# Every feed request converts the same few dozen titles and warnings again; markdown-it takes
# up to a millisecond for a short text with markup. Short texts are remembered (at most
# REMEMBERED of them, each at most REMEMBER_UP_TO characters: a few MB at worst).
REMEMBERED = 1024
REMEMBER_UP_TO = 2000


@functools.lru_cache(maxsize=REMEMBERED)
def _cached(convert: Callable[[str], str], text: str) -> str:
    return convert(text)


def _remembered(convert: Callable[[str], str], text: str) -> str:
    return _cached(convert, text) if len(text) <= REMEMBER_UP_TO else convert(text)


def write_xml(root: ET.Element, default_namespace: str | None = None) -> bytes:
    """The UTF-8 document of ``root`` without any character :func:`xml_chars` drops, in its
    texts and attributes alike, so nothing stored can make a feed ill-formed. One pass over
    the serialised document: ElementTree's own markup and escapes are plain ASCII, so only
    the texts and attribute values can hold such a character."""
    body = xml_chars(ET.tostring(root, encoding="unicode", default_namespace=default_namespace))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
