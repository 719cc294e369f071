"""The reach report by notice, lean: one row per notice and account is up to 400,000 rows a
year. They come from one query that reads the period's posts from a covering index and each
post's row of ``post_reach`` (nothing summed per metric), as the driver's tuples with no
per-row datetime parsing, then sorted and turned into rows by C-level maps and zips; two
posts of one notice on one account (a repost) are merged here."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from itertools import islice, repeat
from operator import eq, itemgetter
from typing import Any

from sqlalchemy import select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.types import String

from publisher.bulk import collector_paused
from publisher.states import Status
from publisher.store.base import REACH_METRICS, NoticeReachRow
from publisher.store.schema import deliveries, notices, post_reach
from publisher.store.sql.core import SqlCore

D = deliveries.c
N = notices.c
R = post_reach.c


class ReachRowsMixin(SqlCore):
    """Reach per notice and channel account, as tuples (see :data:`NoticeReachRow`)."""

    async def reach_notice_rows(
        self, posted_from: datetime, posted_before: datetime, metrics: Sequence[str]
    ) -> list[NoticeReachRow]:
        """Per notice and account with posts in ``[posted_from, posted_before)``: the sum of
        each post's latest sample of each of ``metrics`` (each one of ``REACH_METRICS``) and
        the oldest of those samples' times (None, None where no post has one). Times are UTC:
        on SQLite the stored naive ISO text, on PostgreSQL aware datetimes. Ordered by notice
        id, then account (by code point, as Python sorts)."""
        unknown = [m for m in metrics if m not in REACH_METRICS]
        if unknown:
            raise ValueError(f"no such report metric: {', '.join(unknown)}")
        query = (
            select(
                D.notice_id,
                D.account,
                D.channel,
                N.title,
                N.kind,
                *(R[m] for m in metrics),
                # the driver's value: text on SQLite, as the report's writers expect
                *(type_coerce(R[f"{m}_at"], String) for m in metrics),
            )
            .select_from(
                deliveries.join(notices, N.id == D.notice_id).outerjoin(
                    post_reach, R.delivery_id == D.id
                )
            )
            .where(
                D.status == Status.POSTED,
                D.posted_at >= posted_from,
                D.posted_at < posted_before,
            )
        )
        width = len(metrics)
        values, times = _pick(5, width), _pick(5 + width, width)

        def _run(conn: Connection) -> list[NoticeReachRow]:
            with collector_paused():
                result = conn.execute(query)
                found = list(result.cursor.fetchall())  # the driver's tuples: nothing to process
                result.close()
                # By notice id, then account in code point order (whatever the database's
                # collation); the posts come in the index's order of posting, nearly sorted.
                found.sort(key=_KEY)
                keys = list(map(_KEY, found))
                if any(map(eq, keys, islice(keys, 1, None))):  # a repost: rare
                    return _merged(found, values, times)

                def column(i: int) -> Iterator[Any]:
                    return map(itemgetter(i), found)

                return list(
                    zip(
                        map(str, column(0)),
                        column(1),
                        column(2),
                        repeat(1, len(found)),
                        column(3),
                        column(4),
                        map(values, found),
                        map(times, found),
                        strict=True,
                    )
                )

        return await self._read(_run)


_KEY = itemgetter(0, 1)  # (notice id, account)


def _pick(start: int, width: int) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A row's ``width`` columns from ``start`` on, as a tuple (itemgetter: C, no slice)."""
    if width > 1:
        return itemgetter(*range(start, start + width))
    return lambda r: tuple(r[start : start + width])


def _merged(
    found: list[Any],
    values: Callable[[Any], tuple[Any, ...]],
    times: Callable[[Any], tuple[Any, ...]],
) -> list[NoticeReachRow]:
    """The rows (sorted by notice and account) with the posts of one notice on one account
    (a repost) merged into one row."""
    out: list[NoticeReachRow] = []
    held: Any = None
    for r in found:
        row: NoticeReachRow = (str(r[0]), r[1], r[2], 1, r[3], r[4], values(r), times(r))
        if held is not None and _KEY(r) == _KEY(held):
            out[-1] = _merge(out[-1], row)
        else:
            out.append(row)
        held = r
    return out


def _merge(a: NoticeReachRow, b: NoticeReachRow) -> NoticeReachRow:
    """Two posts of one notice on one account (a repost): sums, and the older as-of."""
    values = tuple(
        x if y is None else y if x is None else int(x) + int(y)
        for x, y in zip(a[6], b[6], strict=True)
    )
    times = tuple(
        x if y is None else y if x is None else min(x, y) for x, y in zip(a[7], b[7], strict=True)
    )
    return (a[0], a[1], a[2], a[3] + b[3], a[4], a[5], values, times)
