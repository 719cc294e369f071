"""Drills (演练, issue 11 part C): labelled copies, sent only to accounts that take drills.

A notice is a drill when its CAP ``status`` is Exercise or Test, or a JSON notice says
``"drill": true``. It is rendered as usual; then, once, in code (no template knows about
drills), every channel's copy is labelled :data:`LABEL`:

* a channel with a ``title`` part gets the label at the start of the title;
* one without (Weibo, a robot's text) gets it at the start of the body: in HTML inside the
  first text (``<p>【演练】…``, never before a tag), in markdown after a heading's or a
  quote's marker (``# 【演练】…``), in plain text as the first characters.

A drill goes only to accounts whose options say ``sandbox = true`` or ``drill = true``:
:func:`route` drops real accounts from a kind's route, refuses in one line a drill whose
``channels`` name a real account, and refuses a drill left with no account at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from publisher.contract import Format, Rendered
from publisher.errors import InputError
from publisher.registry import Account

LABEL = "【演练】"
CAP_STATUSES = frozenset({"Exercise", "Test"})  # CAP statuses that are drills
_HTML_TOKEN = re.compile(r"<!--.*?-->|<[^>]*>|[^<]+", re.DOTALL)
_RAW_TEXT = re.compile(r"<(script|style)\b", re.IGNORECASE)
_MARKDOWN_LEAD = re.compile(r"^(\s*(?:#{1,6}[ \t]+|>[ \t]*)*)")


class DrillRefused(InputError):
    """A drill that would reach a real account, or no account at all; nothing is stored."""


def takes_drills(account: Account) -> bool:
    """The account is a sandbox or is marked to take drills."""
    options = account.adapter.ctx.options
    return bool(getattr(options, "sandbox", False) or getattr(options, "drill", False))


def route(chosen: Sequence[Account], *, named: bool) -> list[Account]:
    """The accounts a drill goes to, out of ``chosen`` (the notice's own list when ``named``,
    else its kind's route). DrillRefused when a named account is real, or none is left."""
    real = [a.name for a in chosen if not takes_drills(a)]
    if named and real:
        raise DrillRefused(
            f"演练不能发往正式账号 {'、'.join(real)}：只能发往 sandbox = true 或 "
            "drill = true 的账号"
        )
    kept = [a for a in chosen if takes_drills(a)]
    if not kept:
        raise DrillRefused(
            "演练没有可发的账号：路由中都是正式账号；请为演练账号设置 drill = true "
            "或 sandbox = true，或用 channels 指定演练账号"
        )
    return kept


def label_text(text: str) -> str:
    return text if text.startswith(LABEL) else LABEL + text


def label_html(html: str) -> str:
    """The label inside the first non-blank text of ``html`` (not in a script or style)."""
    at = _first_text_at(html)
    if at is None:
        return html if html.startswith(LABEL) else LABEL + html
    if html.startswith(LABEL, at):
        return html
    return html[:at] + LABEL + html[at:]


def _first_text_at(html: str) -> int | None:
    """Where the first visible character of ``html`` is, or None when it has no text."""
    raw = False
    for token in _HTML_TOKEN.finditer(html):
        part = token.group()
        if part.startswith("<"):
            if _RAW_TEXT.match(part):
                raw = True
            elif raw and re.match(r"</(script|style)\b", part, re.IGNORECASE):
                raw = False
            continue
        if raw or not part.strip():
            continue
        return token.start() + (len(part) - len(part.lstrip()))
    return None


def label_markdown(text: str) -> str:
    lead = _MARKDOWN_LEAD.match(text)
    at = lead.end() if lead else 0
    if text[at:].startswith(LABEL):
        return text
    return text[:at] + LABEL + text[at:]


def label_body(body: str, fmt: Format) -> str:
    if fmt is Format.HTML:
        return label_html(body)
    if fmt is Format.MARKDOWN:
        return label_markdown(body)
    return label_text(body)


def label(rendered: Rendered) -> Rendered:
    """A channel's copy of a drill: the title labelled, else the start of the body."""
    parts = dict(rendered.parts)
    if "title" in parts:
        parts["title"] = label_text(parts["title"])
    elif "body" in parts:
        parts["body"] = label_body(parts["body"], rendered.format)
    return Rendered(format=rendered.format, parts=parts)
