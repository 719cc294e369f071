"""A notice's portal page, built once per notice version and row page, in a worker thread.

:func:`prepare` turns the store's :class:`PortalNotice` into a :class:`NoticeSource`: the
sanitised body with its table block cut out (``tables.split_body``), the table's rows kept
as data, the big rendered HTML dropped. :func:`table_values` is what ``notice.html`` needs to
show one page of rows. The page itself is cached as bytes split around the read count
(:class:`CachedPage`), which changes with every reader and is filled in per request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from channels.portal import tables
from channels.portal.sanitize import clean_html
from publisher.store.portal import PortalNotice
from publisher.table_cells import stacks

READS_MARK = "\ue000reads\ue000"  # a private-use character pair no notice text contains
CELL_WEIGHT = 120  # bytes a table cell costs in memory, roughly (list slot, str object)


@dataclass(frozen=True)
class NoticeSource:
    """A notice ready to render any page of: the body around its table, the table's rows."""

    notice: PortalNotice  # body_html emptied: the parts below replace it
    before: Markup  # the sanitised body before the table (all of it when not paged)
    after: Markup  # ... and after it
    caption: Markup  # the table's caption as the kind's template wrote it
    paged: bool  # the table block was found and is shown a page at a time
    columns: list[str]
    rows: Sequence[Sequence[Any]]

    @property
    def pages(self) -> int:
        return tables.page_count(len(self.rows)) if self.paged else 1

    @property
    def weight(self) -> int:
        cells = len(self.rows) * max(1, len(self.columns))
        return cells * CELL_WEIGHT + 4 * (len(self.before) + len(self.after)) + 4096


@dataclass(frozen=True)
class CachedPage:
    """A rendered page as bytes around the read count; stale after ``stale_at`` if set."""

    head: bytes
    tail: bytes
    stale_at: datetime | None  # when the page's state (in force -> expired) changes

    @classmethod
    def of(cls, html: str, stale_at: datetime | None) -> CachedPage:
        head, _mark, tail = html.partition(READS_MARK)
        return cls(head.encode("utf-8"), tail.encode("utf-8"), stale_at)

    def body(self, reads: int) -> bytes:
        return self.head + (str(reads).encode() if self.tail else b"") + self.tail

    def fresh(self, now: datetime) -> bool:
        return self.stale_at is None or now < self.stale_at

    @property
    def size(self) -> int:
        return len(self.head) + len(self.tail) + 200


def prepare(notice: PortalNotice) -> NoticeSource:
    """Split and sanitise a notice's rendered body (CPU-heavy for a big table: run off-loop)."""
    columns = tables.columns_of(notice.table)
    rows = tables.rows_of(notice.table)
    split = tables.split_body(notice.body_html) if rows else None
    if split is None:
        before, after, caption = clean_html(notice.body_html), "", ""
    else:
        before, after = clean_html(split.before), clean_html(split.after)
        caption = clean_html(split.caption)
    return NoticeSource(
        notice=dataclasses.replace(notice, body_html=""),
        before=Markup(before),
        after=Markup(after),
        caption=Markup(caption),
        paged=split is not None,
        columns=columns,
        rows=rows,
    )


def table_values(source: NoticeSource, page: int, base_url: str) -> dict[str, Any] | None:
    """What the template shows of the table on row page ``page`` (None: no table)."""
    if not source.rows:
        return None
    total = len(source.rows)
    first = (page - 1) * tables.ROWS_PER_PAGE
    shown = source.rows[first : first + tables.ROWS_PER_PAGE] if source.paged else []
    return {
        "paged": source.paged,
        "caption": source.caption,
        "columns": source.columns,
        "rows": shown,
        "stack": stacks({"columns": source.columns}),
        "total": total,
        "first": first + 1,
        "last": first + len(shown),
        "page": page,
        "pages": source.pages,
        "pager": tables.pager(page, source.pages),
        "url": base_url,
        "csv": f"{base_url}/table.csv",
        "xlsx": f"{base_url}/table.xlsx",
    }


def stale_at(notice: PortalNotice, state: str, zone: ZoneInfo) -> datetime | None:
    """When a page rendered in ``state`` stops being right without the notice changing."""
    return notice.valid_until(zone) if state == "active" else None
