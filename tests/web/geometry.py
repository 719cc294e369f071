"""Reading a rendered page's table geometry from the DOM, the way a reader's screen shows it.

``measure(page)`` returns, in CSS px: the document's scroll width and the window's inner
width; every visible value box (a table cell's content box; on a portal card the cell's box
right of its label; on a WeChat card the line right of its ``column：`` label) with its font
size; every no-wrap token (date, document number) with the number of lines it spans; and every
element cut off at the right edge (drawn past the viewport, e.g. inside a scroller or under
WeChat's ``overflow:hidden``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

_MEASURE = """() => {
  const px = (v) => parseFloat(v) || 0;
  const vw = window.innerWidth;
  // Inside a 1-px clipped box (the visually-hidden pattern): for screen readers only.
  const hidden = (el) => {
    for (let a = el; a; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.display === 'none' || cs.visibility === 'hidden') return true;
      if (cs.overflow !== 'visible' && a.getBoundingClientRect().width <= 1) return true;
    }
    return false;
  };
  const content = (el) => {
    const cs = getComputedStyle(el);
    return el.clientWidth - px(cs.paddingLeft) - px(cs.paddingRight);
  };
  const boxes = [];
  for (const cell of document.querySelectorAll('th, td')) {
    if (hidden(cell)) continue;
    boxes.push({
      kind: cell.tagName.toLowerCase(),
      label: cell.dataset.label || '',
      text: cell.textContent.trim(),
      width: content(cell),
      font: px(getComputedStyle(cell).fontSize),
      display: getComputedStyle(cell).display,
    });
  }
  for (const p of document.querySelectorAll('p')) {
    const kids = p.children;
    if (kids.length !== 2 || kids[0].tagName !== 'SPAN' || kids[1].tagName !== 'SPAN') continue;
    if (!kids[0].textContent.endsWith('：')) continue;
    boxes.push({
      kind: 'card',
      label: kids[0].textContent,
      text: kids[1].textContent.trim(),
      width: content(p) - kids[0].getBoundingClientRect().width,
      font: px(getComputedStyle(kids[1]).fontSize),
      display: 'card',
    });
  }
  const tokens = [];
  for (const s of document.querySelectorAll('span.nowrap, span[style*="nowrap"]')) {
    if (hidden(s)) continue;
    tokens.push({text: s.textContent, lines: s.getClientRects().length});
  }
  const cut = [];
  for (const el of document.querySelectorAll('body *')) {
    if (hidden(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.right > vw + 0.5 || (r.left < -0.5 && r.right > 0)) {
      cut.push(`${el.tagName.toLowerCase()} ${Math.round(r.left)}..${Math.round(r.right)} `
        + el.textContent.trim().slice(0, 16));
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: vw,
    tables: document.querySelectorAll('table').length,
    boxes, tokens, cut,
  };
}"""


@dataclass
class Box:
    kind: str  # th, td, card
    label: str
    text: str
    width: float
    font: float
    display: str

    @property
    def chars(self) -> float:
        """How many Chinese characters fit across the box."""
        return self.width / self.font


@dataclass
class Geometry:
    scroll_width: int
    inner_width: int
    tables: int
    boxes: list[Box]
    tokens: list[tuple[str, int]]  # (text, lines it spans)
    cut: list[str]

    def narrowest(self) -> Box:
        return min(self.boxes, key=lambda b: b.chars)


def measure(page: Page) -> Geometry:
    raw: dict[str, Any] = page.evaluate(_MEASURE)
    return Geometry(
        scroll_width=int(raw["scrollWidth"]),
        inner_width=int(raw["innerWidth"]),
        tables=int(raw["tables"]),
        boxes=[Box(**b) for b in raw["boxes"]],
        tokens=[(t["text"], int(t["lines"])) for t in raw["tokens"]],
        cut=list(raw["cut"]),
    )
