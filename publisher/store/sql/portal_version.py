"""The portal's cache key: a notice's version, read without reading the notice.

See :meth:`publisher.store.portal.PortalReads.portal_version`. A few index lookups on small
columns, so every portal request can afford it before choosing a cached page: the latest
event about the notice, and how many of its deliveries are in each status.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select
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
            # Statuses counted, not timed: a delivery's columns after ``rendered`` (its
            # times) are as far behind overflow pages as the notice's fields are.
            statuses = sorted(
                (str(status), int(n))
                for status, n in conn.execute(
                    select(D.status, func.count())
                    .where(D.notice_id == notice_id)
                    .group_by(D.status)
                )
            )
            material = json.dumps(
                [latest_event, statuses],
                sort_keys=True,
                default=str,
                ensure_ascii=False,
            )
            return hashlib.sha256(material.encode("utf-8")).hexdigest()[:24]

        return await self._read(_run)
