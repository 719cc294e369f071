"""Table cells that read on a phone: which tables stack into cards, and tokens kept whole.

Two template filters, registered by :class:`publisher.render.Renderer`:

``stacks(table)``
    True when a table has more columns than fit side by side on a 390-px phone screen with
    every cell at least four Chinese characters wide (:data:`STACK_OVER`). The portal then
    shows each row as a card below its breakpoint; WeChat, which keeps no media queries, is
    sent one card per record.

``keep_tokens(value, inline=False)``
    The cell's text, HTML-escaped, with every date and document number (``2026-12-03``,
    ``2026年12月3日``, ``应急罚〔2026〕30号``) in a span that does not wrap, so a wide table
    never breaks ``〔2026〕`` from ``30号``. The portal styles ``class="nowrap"``; WeChat strips
    classes, so ``inline=True`` writes the style on the span. Other text still wraps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

# Columns a 390-px screen holds at four characters each (cell padding and borders included):
# 358 px of content / (4 x 14 px + 13 px) = 5, minus one for the longer headers.
STACK_OVER = 4

_DOC_NUMBER = r"[\u4e00-\u9fffA-Za-z]{0,6}[〔［\[【(（]\d{4}[〕］\]】)）]\s*第?\d+号?"
_DATE = (
    r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
    r"|\d{4}/\d{1,2}/\d{1,2}"
    r"|\d{4}\.\d{1,2}\.\d{1,2}"
    r"|\d{4}年\d{1,2}月(?:\d{1,2}日)?(?:\d{1,2}时(?:\d{1,2}分)?)?"
    r"|\d{1,2}月\d{1,2}日(?:\d{1,2}时(?:\d{1,2}分)?)?"
)
TOKEN = re.compile(f"{_DOC_NUMBER}|{_DATE}")

NOWRAP_CLASS = Markup('<span class="nowrap">')
NOWRAP_INLINE = Markup('<span style="white-space:nowrap;">')


def stacks(table: Mapping[str, Any] | None) -> bool:
    """Whether ``table`` is too wide for a phone and is shown as one card per row."""
    return table is not None and len(table.get("columns") or ()) > STACK_OVER


def keep_tokens(value: Any, inline: bool = False) -> Markup:
    """``value`` escaped, its dates and document numbers wrapped in a no-wrap span."""
    text = "" if value is None else str(value)
    opening = NOWRAP_INLINE if inline else NOWRAP_CLASS
    out: list[str] = []
    last = 0
    for found in TOKEN.finditer(text):
        out.append(escape(text[last : found.start()]))
        out.append(opening + escape(found.group()) + Markup("</span>"))
        last = found.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
