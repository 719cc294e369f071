"""The portal's cache key: a notice's version, read without reading the notice.

See :meth:`publisher.store.portal.PortalReads.portal_version`. A few index lookups on small
columns, so every portal request can afford it before choosing a cached page: the latest
event about the notice, and its deliveries' count, cancellations, posts and last update.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from publisher.store.schema import deliveries, events, notices
from publisher.store.sql.core import SqlCore

D = deliveries.c
E = events.c
N = notices.c


class PortalVersionMixin(SqlCore):
    async def portal_version(self, notice_id: int) -> str | None:
        """A token that changes whenever what the notice's page shows may have changed."""

        def _run(conn: Connection) -> str | None:
            # Not the notice's own columns: SQLite reaches ``fields`` only by walking the
            # overflow pages of a big ``table_data`` before it (10 ms a request at 100,000
            # rows). Notices do not change in place; what changes is recorded as an event
            # or is a delivery's state.
            if conn.execute(select(N.id).where(N.id == notice_id)).first() is None:
                return None
            latest_event = conn.execute(
                select(func.max(E.id)).where(E.notice_id == notice_id)
            ).scalar()
            # Counted as well as timed: a status changed without touching updated_at still shows.
            count, cancelled, posted, updated = conn.execute(
                select(
                    func.count(),
                    func.sum(case((D.status == "cancelled", 1), else_=0)),
                    func.count(D.posted_at),
                    func.max(D.updated_at),
                ).where(D.notice_id == notice_id)
            ).one()
            material = json.dumps(
                [latest_event, count, cancelled, posted, str(updated)],
                sort_keys=True,
                default=str,
                ensure_ascii=False,
            )
            return hashlib.sha256(material.encode("utf-8")).hexdigest()[:24]

        return await self._read(_run)
