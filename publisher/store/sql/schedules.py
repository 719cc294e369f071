"""Recurring schedules and their fires (``ScheduleStore`` in ``publisher/store/base.py``).

A fire is claimed by inserting its ``schedule_fires`` row: the primary key (schedule, fire
time) lets exactly one of any number of processes in, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from publisher.errors import InputError, NotFoundError
from publisher.store.schedules import FireRecord, ScheduleRow
from publisher.store.schema import notices, schedule_fires, schedules
from publisher.store.sql.core import SqlCore

S = schedules.c
F = schedule_fires.c


def _schedule(row: Any) -> ScheduleRow:
    return ScheduleRow(
        name=row.name,
        cron=row.cron,
        notice_file=row.notice_file,
        template=dict(row.template or {}),
        data_glob=row.data_glob,
        enabled=bool(row.enabled),
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _fire(row: Any) -> FireRecord:
    return FireRecord(
        schedule=row.schedule,
        fire_time=row.fire_time,
        claimed_at=row.claimed_at,
        runner=row.runner,
        outcome=row.outcome,
        detail=row.detail,
        notice_id=row.notice_id,
        data_file=row.data_file,
        finished_at=row.finished_at,
    )


class SchedulesMixin(SqlCore):
    """Schedules and once-only fires."""

    async def add_schedule(self, row: ScheduleRow) -> ScheduleRow:
        stored = replace(row, created_at=self.clock.now())
        values = dict(
            name=stored.name,
            cron=stored.cron,
            notice_file=stored.notice_file,
            template=stored.template,
            data_glob=stored.data_glob,
            enabled=stored.enabled,
            created_at=stored.created_at,
            created_by=stored.created_by,
        )

        def _run(conn: Connection) -> None:
            conn.execute(insert(schedules).values(values))

        try:
            await self._tx(_run)
        except IntegrityError:
            raise InputError(f"计划 {row.name} 已存在") from None
        return stored

    async def list_schedules(self) -> list[ScheduleRow]:
        def _run(conn: Connection) -> list[ScheduleRow]:
            return [_schedule(r) for r in conn.execute(select(schedules).order_by(S.name))]

        return await self._read(_run)

    async def remove_schedule(self, name: str) -> None:
        def _run(conn: Connection) -> int:
            return int(conn.execute(delete(schedules).where(S.name == name)).rowcount or 0)

        if not await self._tx(_run):
            raise NotFoundError(f"没有计划 {name}")

    async def claim_schedule_fire(
        self,
        schedule: str,
        fire_time: datetime,
        runner: str,
        outcome: str,
        detail: str | None = None,
    ) -> bool:
        now = self.clock.now()
        row = dict(
            schedule=schedule,
            fire_time=fire_time,
            claimed_at=now,
            runner=runner,
            outcome=outcome,
            detail=detail,
            finished_at=None if outcome == "running" else now,
        )

        def _run(conn: Connection) -> None:
            conn.execute(insert(schedule_fires).values(row))

        try:
            await self._tx(_run)
        except IntegrityError:
            return False
        return True

    async def finish_schedule_fire(
        self,
        schedule: str,
        fire_time: datetime,
        outcome: str,
        *,
        detail: str | None = None,
        notice_id: int | None = None,
        data_file: str | None = None,
    ) -> None:
        values = dict(
            outcome=outcome,
            detail=detail,
            notice_id=notice_id,
            data_file=data_file,
            finished_at=self.clock.now(),
        )

        def _run(conn: Connection) -> None:
            conn.execute(
                update(schedule_fires)
                .where(F.schedule == schedule, F.fire_time == fire_time)
                .values(values)
            )

        await self._tx(_run)

    async def schedule_fires(
        self, schedule: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[FireRecord]:
        query = select(schedule_fires).order_by(F.fire_time.desc(), F.schedule).limit(limit)
        if schedule is not None:
            query = query.where(F.schedule == schedule)
        if since is not None:
            query = query.where(F.fire_time >= since)

        def _run(conn: Connection) -> list[FireRecord]:
            return [_fire(r) for r in conn.execute(query)]

        return await self._read(_run)

    async def latest_schedule_fires(self) -> dict[str, FireRecord]:
        latest = (
            select(F.schedule, func.max(F.fire_time).label("fire_time"))
            .group_by(F.schedule)
            .subquery()
        )
        query = select(schedule_fires).join(
            latest,
            (F.schedule == latest.c.schedule) & (F.fire_time == latest.c.fire_time),
        )

        def _run(conn: Connection) -> dict[str, FireRecord]:
            return {r.schedule: _fire(r) for r in conn.execute(query)}

        return await self._read(_run)

    async def retake_schedule_fire(
        self, schedule: str, fire_time: datetime, runner: str, stale_before: datetime
    ) -> bool:
        query = (
            update(schedule_fires)
            .where(
                F.schedule == schedule,
                F.fire_time == fire_time,
                F.outcome == "running",
                F.claimed_at < stale_before,
            )
            .values(runner=runner, claimed_at=self.clock.now())
        )

        def _run(conn: Connection) -> int:
            return int(conn.execute(query).rowcount or 0)

        return await self._tx(_run) == 1

    async def notice_with_key(self, key: str) -> int | None:
        query = select(notices.c.id).where(notices.c.idempotency_key == key)

        def _run(conn: Connection) -> int | None:
            found = conn.execute(query).scalar_one_or_none()
            return int(found) if found is not None else None

        return await self._read(_run)
