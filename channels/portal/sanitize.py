"""Re-serialise rendered HTML through an allow-list before a page serves it.

The message templates already autoescape every notice field, so a notice cannot inject
markup. This is the second wall: whatever sits in a delivery's rendered body (a template
edited carelessly with ``|safe``, a row changed in the database) reaches a page only as the
tags and attributes below. Everything else is escaped as text; ``script``/``style`` and
similar elements are dropped with their content; ``on*`` attributes are never kept; links
keep only ``http``, ``https``, ``mailto`` and same-site targets.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser
from urllib.parse import urlsplit

TAGS = frozenset(
    (
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "col",
        "colgroup",
        "dd",
        "div",
        "dl",
        "dt",
        "em",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
    )
)
VOID = frozenset({"br", "hr", "col"})
DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "template",
        "noscript",
        "textarea",
        "svg",
        "math",
        "select",
        "title",
        "head",
    }
)
ATTRIBUTES = {
    "*": frozenset({"class", "title", "lang", "id"}),
    "a": frozenset({"href", "rel"}),
    "abbr": frozenset(),
    "th": frozenset({"scope", "colspan", "rowspan", "abbr"}),
    "td": frozenset({"colspan", "rowspan", "headers", "data-label"}),  # the card label on phones
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "time": frozenset({"datetime"}),
    "ol": frozenset({"start"}),
}
SCHEMES = frozenset({"http", "https", "mailto"})


def safe_url(url: object) -> str | None:
    """The URL if it is safe to put in ``href``, else None."""
    text = str(url or "").strip()
    if not text or any(ord(c) < 0x20 for c in text):
        return None
    if text.startswith("//"):
        return None
    parts = urlsplit(text)
    if parts.scheme:
        return text if parts.scheme.lower() in SCHEMES else None
    if text.startswith(("/", "#", "?")) or ":" not in text.split("/")[0]:
        return text
    return None


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropping = 0
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_WITH_CONTENT:
            if tag not in VOID:
                self.dropping += 1
            return
        if self.dropping or tag not in TAGS:
            return
        allowed = ATTRIBUTES["*"] | ATTRIBUTES.get(tag, frozenset())
        kept: list[str] = []
        for name, raw in attrs:
            if name not in allowed or raw is None:
                continue
            value = safe_url(raw) if name == "href" else raw
            if value is None:
                continue
            kept.append(f' {name}="{escape(value, quote=True)}"')
        self.out.append(f"<{tag}{''.join(kept)}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_WITH_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping or tag not in TAGS or tag in VOID or tag not in self.open:
            return
        while self.open:
            top = self.open.pop()
            self.out.append(f"</{top}>")
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(escape(data, quote=False))

    def close_all(self) -> str:
        self.close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")
        return "".join(self.out)


def clean_html(html: str) -> str:
    """Allow-listed markup only; everything else becomes text or disappears."""
    cleaner = _Cleaner()
    cleaner.feed(html)
    return cleaner.close_all()
