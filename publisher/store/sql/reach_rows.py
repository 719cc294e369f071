"""The reach report by notice, lean: one row per notice and account is up to 400,000 rows a
year. They come from one query that reads the period's posts from a covering index and each
post's row of ``post_reach`` (nothing summed per metric), as the driver's own tuples, already
in the report's layout (no per-row Python: no datetime parsing, no regrouping), sorted by a
C-level key; two posts of one notice on one account (a repost, rare) are merged here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import islice
from operator import eq, itemgetter
from typing import Any

from sqlalchemy import cast, literal_column, select, type_coerce
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
WIDTH = len(REACH_METRICS)
VALUES, TIMES = slice(7, 7 + WIDTH), slice(7 + WIDTH, 7 + 2 * WIDTH)  # see NoticeReachRow
_KEY = itemgetter(0, 2)  # (notice id, account)


class ReachRowsMixin(SqlCore):
    """Reach per notice and channel account, as tuples (see :data:`NoticeReachRow`)."""

    async def reach_notice_rows(
        self, posted_from: datetime, posted_before: datetime
    ) -> list[NoticeReachRow]:
        """Per notice and account with posts in ``[posted_from, posted_before)``: the sum of
        each post's latest sample of each of ``REACH_METRICS`` and the oldest of those
        samples' times (None, None where no post has one). Times are UTC: on SQLite the
        stored naive ISO text, on PostgreSQL aware datetimes. Ordered by notice id, then
        account (by code point, as Python sorts)."""
        query = (
            select(
                D.notice_id,
                cast(D.notice_id, String),
                D.account,
                D.channel,
                literal_column("1"),  # posts
                N.title,
                N.kind,
                *(R[m] for m in REACH_METRICS),
                # the driver's value: text on SQLite, as the report's writers expect
                *(type_coerce(R[f"{m}_at"], String) for m in REACH_METRICS),
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

        def _run(conn: Connection) -> list[NoticeReachRow]:
            with collector_paused():
                result = conn.execute(query)
                found = list(result.cursor.fetchall())  # the driver's tuples: the rows
                result.close()
                # By notice id, then account in code point order (whatever the database's
                # collation); they come in the index's order of posting, nearly sorted.
                found.sort(key=_KEY)
                keys = list(map(_KEY, found))
                if any(map(eq, keys, islice(keys, 1, None))):  # a repost
                    found = _merged(found)
                del keys  # freed while paused: the collector need not look at them
            return found

        return await self._read(_run)


def _merged(found: Sequence[Any]) -> list[NoticeReachRow]:
    """The rows (sorted by notice and account) with the posts of one notice on one account
    merged into one row: their posts counted, figures summed, the older as-of kept."""
    out: list[NoticeReachRow] = []
    for row in found:
        if out and _KEY(out[-1]) == _KEY(row):
            out[-1] = _merge(out[-1], row)
        else:
            out.append(row)
    return out


def _merge(a: NoticeReachRow, b: NoticeReachRow) -> NoticeReachRow:
    """Two posts of one notice on one account (a repost): sums, and the older as-of."""
    values = tuple(
        x if y is None else y if x is None else int(x) + int(y)
        for x, y in zip(a[VALUES], b[VALUES], strict=True)
    )
    times = tuple(
        x if y is None else y if x is None else min(x, y)
        for x, y in zip(a[TIMES], b[TIMES], strict=True)
    )
    return (*a[:4], a[4] + b[4], *a[5:7], *values, *times)
