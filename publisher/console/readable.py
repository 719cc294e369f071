"""What an HTML or Markdown part says, as a reader sees it: the console's previews show each
channel's copy as text a reviewer can read (paragraphs, table rows with " | " between cells),
with the exact source one click away. HTML is read by the portal's feed reader
(``channels.portal.plaintext``). Nothing here is published; it only reads."""

from __future__ import annotations

import re

from channels.portal.plaintext import html_lines


def readable(text: str, fmt: str) -> str:
    """``text`` of format ``fmt`` (html, markdown, text) as plain lines for a reader."""
    if fmt == "html":  # the portal's feed reader, with the cells of a row kept apart
        return "\n\n".join(html_lines(text, cells=" | "))
    if fmt == "markdown":
        text = re.sub(r"\[([^\]]*)\]\(([^)]*)\)", r"\1（\2）", text)  # [text](url)
        text = re.sub(r"^\s{0,3}(#{1,6}|>)\s*", "", text, flags=re.M)
        text = text.replace("**", "")
    lines = [re.sub(r"[ \t\u3000]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
