"""The console's delivery monitor: deliveries with their notice's title and kind, filtered
and paged by keyset (newest first), never an unbounded query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from publisher.store.monitor import MonitorFilter, MonitorRow
from publisher.store.schema import deliveries, notices
from publisher.store.sql.core import SqlCore

D = deliveries.c
N = notices.c
MAX_PAGE = 200


class MonitorMixin(SqlCore):
    async def last_posted(self, account: str) -> datetime | None:
        """When ``account`` last posted anything (newest ``posted_at``), or None."""

        def _run(conn: Connection) -> datetime | None:
            q = (
                select(D.posted_at)
                .where(D.account == account, D.posted_at.is_not(None))
                .order_by(D.posted_at.desc())
                .limit(1)
            )
            return conn.execute(q).scalar_one_or_none()

        return await self._read(_run)

    async def monitor_rows(self, where: MonitorFilter, limit: int = 50) -> list[MonitorRow]:
        """Up to ``limit`` (at most 200) rows matching every filter, newest delivery first."""
        limit = max(1, min(limit, MAX_PAGE))

        def _run(conn: Connection) -> list[Any]:
            q = (
                select(
                    D.id,
                    D.notice_id,
                    N.title,
                    N.kind,
                    D.account,
                    D.channel,
                    D.status,
                    D.attempts,
                    D.max_attempts,
                    D.error,
                    D.note,
                    D.url,
                    D.created_at,
                    D.updated_at,
                    D.posted_at,
                )
                .join(notices, N.id == D.notice_id)
                .order_by(D.id.desc())
                .limit(limit)
            )
            if where.status:
                q = q.where(D.status == where.status)
            if where.account:
                q = q.where(D.account == where.account)
            if where.kind:
                q = q.where(N.kind == where.kind)
            if where.since is not None:
                q = q.where(D.created_at >= where.since)
            if where.until is not None:
                q = q.where(D.created_at < where.until)
            if where.before is not None:
                q = q.where(D.id < where.before)
            return list(conn.execute(q).all())

        rows = await self._read(_run)
        return [
            MonitorRow(
                delivery_id=r[0],
                notice_id=r[1],
                title=r[2],
                kind=r[3],
                account=r[4],
                channel=r[5],
                status=r[6],
                attempts=r[7],
                max_attempts=r[8],
                error=r[9],
                note=r[10],
                url=r[11],
                created_at=r[12],
                updated_at=r[13],
                posted_at=r[14],
            )
            for r in rows
        ]
