"""Events and read models: a notice with its deliveries and event log, lists and counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from publisher.errors import NotFoundError
from publisher.states import Status
from publisher.store import reasons
from publisher.store.records import DeliveryRecord, EventRecord, NoticeRecord
from publisher.store.schema import deliveries, events, notices
from publisher.store.sql.core import SqlCore
from publisher.store.sql.rows import delivery_record, notice_record

D = deliveries.c
WAITING = [Status.PENDING, Status.RETRY_WAIT, Status.SENDING, Status.CONFIRMING]


class ReadsMixin(SqlCore):
    """What became of notices: one notice in full, deliveries listed and counted."""

    async def get_notice(self, notice_id: int) -> NoticeRecord:
        """The notice with its deliveries and events, in order (one snapshot). NotFoundError."""

        def _run(conn: Connection) -> Any:
            row = conn.execute(select(notices).where(notices.c.id == notice_id)).first()
            if row is None:
                raise NotFoundError(reasons.no_notice(notice_id))
            ds = conn.execute(
                select(deliveries).where(D.notice_id == notice_id).order_by(D.id)
            ).all()
            es = conn.execute(
                select(events).where(events.c.notice_id == notice_id).order_by(events.c.id)
            ).all()
            return row, ds, es

        row, ds, es = await self._read(_run)
        record = notice_record(row)
        record.deliveries.extend(delivery_record(d) for d in ds)
        record.events.extend(EventRecord(**e._mapping) for e in es)
        return record

    async def get_delivery(self, delivery_id: int) -> DeliveryRecord:
        """One delivery. NotFoundError."""

        def _run(conn: Connection) -> Any:
            return conn.execute(select(deliveries).where(D.id == delivery_id)).first()

        row = await self._read(_run)
        if row is None:
            raise NotFoundError(reasons.no_delivery(delivery_id))
        return delivery_record(row)

    async def list_deliveries(
        self, *, status: str | None = None, notice_id: int | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        """Deliveries, newest first, optionally of one status and/or one notice."""
        query = select(deliveries).order_by(D.id.desc()).limit(limit)
        if status is not None:
            query = query.where(D.status == status)
        if notice_id is not None:
            query = query.where(D.notice_id == notice_id)

        def _run(conn: Connection) -> list[DeliveryRecord]:
            return [delivery_record(r) for r in conn.execute(query).all()]

        return await self._read(_run)

    async def count_by_status(self) -> dict[str, int]:
        """How many deliveries are in each status (statuses with none are absent)."""

        def _run(conn: Connection) -> Any:
            return conn.execute(select(D.status, func.count()).group_by(D.status)).all()

        rows = await self._read(_run)
        return {r[0]: int(r[1]) for r in rows}

    async def next_due(self, after: datetime | None = None) -> datetime | None:
        """When the earliest waiting delivery (scheduled, retrying, reconciling, confirming)
        falls due; with ``after``, the earliest such time later than ``after``."""
        query = select(func.min(D.not_before)).where(D.status.in_(WAITING))
        if after is not None:
            query = query.where(D.not_before > after)

        def _run(conn: Connection) -> datetime | None:
            found: datetime | None = conn.execute(query).scalar_one_or_none()
            return found

        return await self._read(_run)
