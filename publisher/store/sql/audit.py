"""The audit log: who did what, when, to which notice, from where. Append-only: there is no
method here (or anywhere in the store) that changes or removes an entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from publisher.store.people import AuditEntry, AuditRecord
from publisher.store.schema import audit_log
from publisher.store.sql.core import SqlCore

A = audit_log.c


class AuditMixin(SqlCore):
    """The store side of ``AuditStore`` (``publisher/store/base.py``)."""

    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        """Append one entry, stamped with the store's clock; returns it as stored."""
        row = dict(
            at=self.clock.now(),
            actor=entry.actor,
            action=entry.action,
            source=str(entry.source),
            notice_id=entry.notice_id,
            delivery_id=entry.delivery_id,
            client=entry.client[:200] if entry.client else None,
            detail=dict(entry.detail),
        )

        def _run(conn: Connection) -> AuditRecord:
            entry_id = conn.execute(insert(audit_log).values(row).returning(A.id)).scalar_one()
            return AuditRecord(id=entry_id, **row)  # type: ignore[arg-type]

        return await self._tx(_run)

    async def audit_entries(
        self,
        *,
        notice_id: int | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditRecord]:
        """Entries matching every filter given, oldest first; the newest ``limit`` of them."""
        query = select(audit_log)
        if notice_id is not None:
            query = query.where(A.notice_id == notice_id)
        if actor is not None:
            query = query.where(A.actor == actor)
        if since is not None:
            query = query.where(A.at >= since)
        query = query.order_by(A.id.desc()).limit(limit)

        def _run(conn: Connection) -> list[AuditRecord]:
            rows = conn.execute(query).all()
            return [
                AuditRecord(
                    id=r.id,
                    at=r.at,
                    actor=r.actor,
                    action=r.action,
                    source=r.source,
                    notice_id=r.notice_id,
                    delivery_id=r.delivery_id,
                    client=r.client,
                    detail=dict(r.detail or {}),
                )
                for r in reversed(rows)
            ]

        return await self._read(_run)
