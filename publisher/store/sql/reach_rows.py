"""The reach report by notice, lean: one row per notice and account is up to 400,000 rows a
year, so they come from one query that sums per post (grouped in the order of the ``posted_at``
index, so without a sort), as the driver's tuples, with no per-row datetime parsing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.types import String

from publisher.states import Status
from publisher.store.base import NoticeReachRow
from publisher.store.schema import deliveries, metric_latest, notices
from publisher.store.sql.core import SqlCore

D = deliveries.c
N = notices.c
L = metric_latest.c


class ReachRowsMixin(SqlCore):
    """Reach per notice and channel account, as tuples (see :data:`NoticeReachRow`)."""

    async def reach_notice_rows(
        self, posted_from: datetime, posted_before: datetime, metrics: Sequence[str]
    ) -> list[NoticeReachRow]:
        """Per notice and account with posts in ``[posted_from, posted_before)``: the sum of
        each post's latest sample of each of ``metrics`` and the oldest of those samples'
        times (None, None where no post has one). Times are UTC: on SQLite the stored naive
        ISO text, on PostgreSQL aware datetimes. Unordered."""
        at = type_coerce(L.observed_at, String)  # the driver's value: text on SQLite
        query = (
            select(
                D.notice_id,
                D.account,
                D.channel,
                N.title,
                N.kind,
                *(func.sum(case((L.metric == m, L.value))) for m in metrics),
                *(type_coerce(func.min(case((L.metric == m, at))), String) for m in metrics),
            )
            .select_from(
                deliveries.join(notices, N.id == D.notice_id).outerjoin(
                    metric_latest, L.delivery_id == D.id
                )
            )
            .where(
                D.status == Status.POSTED,
                D.posted_at >= posted_from,
                D.posted_at < posted_before,
            )
            .group_by(D.posted_at, D.id)  # one row per post, in index order: no sort
        )
        # The post's and its notice's columns ride along bare: SQLite allows it, PostgreSQL
        # once both primary keys are grouped by (functional dependency).
        everywhere = query.group_by(N.id)
        width = len(metrics)
        values, times = slice(5, 5 + width), slice(5 + width, 5 + 2 * width)

        def _run(conn: Connection) -> list[NoticeReachRow]:
            result = conn.execute(query if conn.dialect.name == "sqlite" else everywhere)
            found = result.cursor.fetchall()  # the driver's tuples: nothing to process
            result.close()
            out: dict[tuple[Any, str], NoticeReachRow] = {}
            for r in found:
                key = (r[0], r[1])
                row: NoticeReachRow = (str(r[0]), r[1], r[2], 1, r[3], r[4], r[values], r[times])
                held = out.get(key)
                out[key] = row if held is None else _merge(held, row)
            return list(out.values())

        return await self._read(_run)


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
