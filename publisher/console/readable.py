"""What an HTML or Markdown part says, as a reader sees it: the console's previews show each
channel's copy as text a reviewer can read (paragraphs, table rows with " | " between cells),
with the exact source one click away. Nothing here is published; it only reads."""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "caption",
    "thead",
    "tbody",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "hr",
}
CELLS = {"td", "th"}
SKIPPED = {"style", "script"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.first_cell = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skip += 1
        elif tag in CELLS:
            if not self.first_cell:
                self.out.append(" | ")
            self.first_cell = False
        elif tag in BLOCKS:
            self.out.append("\n")
            if tag == "tr":
                self.first_cell = True
            if tag == "li":
                self.out.append("· ")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def readable(text: str, fmt: str) -> str:
    """``text`` of format ``fmt`` (html, markdown, text) as plain lines for a reader."""
    if fmt == "html":
        parser = _Text()
        parser.feed(text)
        parser.close()
        text = "".join(parser.out)
    elif fmt == "markdown":
        text = re.sub(r"\[([^\]]*)\]\(([^)]*)\)", r"\1（\2）", text)  # [text](url)
        text = re.sub(r"^\s{0,3}(#{1,6}|>)\s*", "", text, flags=re.M)
        text = text.replace("**", "")
    lines = [re.sub(r"[ \t\u3000]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
