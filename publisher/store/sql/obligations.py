"""Obligations (issue 13): the duties, the disclosures that meet them, the last post of every
account and kind, and the reminders sent (``ObligationStore`` in publisher/store/obligations.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from publisher.errors import InputError, NotFoundError
from publisher.store.obligations import Disclosure, LastPost, ObligationRecord, ReminderRecord
from publisher.store.schema import deliveries, notices, obligation_reminders, obligations
from publisher.store.sql.core import SqlCore

OB = obligations.c
R = obligation_reminders.c
N = notices.c
D = deliveries.c


def _obligation(row: Row[Any]) -> ObligationRecord:
    return ObligationRecord(
        name=row.name,
        spec=dict(row.spec),
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _reminder(row: Row[Any]) -> ReminderRecord:
    return ReminderRecord(
        subject=row.subject,
        period=row.period,
        step=row.step,
        recipients=tuple(row.recipients or ()),
        status=row.status,
        attempts=row.attempts,
        error=row.error,
        first_at=row.first_at,
        updated_at=row.updated_at,
    )


def _missing(name: str) -> NotFoundError:
    return NotFoundError(f"没有名为 {name} 的信息公开义务")


class ObligationsMixin(SqlCore):
    """The store side of ``ObligationStore``."""

    async def list_obligations(self) -> list[ObligationRecord]:
        query = select(obligations).where(OB.deleted.is_(False)).order_by(OB.name)
        return await self._read(lambda conn: [_obligation(r) for r in conn.execute(query)])

    async def get_obligation(self, name: str) -> ObligationRecord:
        query = select(obligations).where(OB.name == name, OB.deleted.is_(False))

        def _run(conn: Connection) -> ObligationRecord:
            row = conn.execute(query).first()
            if row is None:
                raise _missing(name)
            return _obligation(row)

        return await self._read(_run)

    async def add_obligation(
        self, name: str, spec: Mapping[str, Any], actor: str
    ) -> ObligationRecord:
        now = self.clock.now()

        def _run(conn: Connection) -> ObligationRecord:
            row = conn.execute(select(obligations).where(OB.name == name)).first()
            values = dict(spec=dict(spec), deleted=False, updated_at=now, updated_by=actor)
            if row is not None and not row.deleted:
                raise InputError(f"已有名为 {name} 的信息公开义务")
            if row is not None:
                conn.execute(update(obligations).where(OB.name == name).values(**values))
            else:
                conn.execute(insert(obligations).values(name=name, created_at=now, **values))
            return _obligation(conn.execute(select(obligations).where(OB.name == name)).one())

        try:
            return await self._tx(_run)
        except IntegrityError:
            raise InputError(f"已有名为 {name} 的信息公开义务") from None

    async def replace_obligation(
        self, name: str, spec: Mapping[str, Any], actor: str
    ) -> ObligationRecord:
        now = self.clock.now()

        def _run(conn: Connection) -> ObligationRecord:
            done = conn.execute(
                update(obligations)
                .where(OB.name == name, OB.deleted.is_(False))
                .values(spec=dict(spec), updated_at=now, updated_by=actor)
            )
            if done.rowcount == 0:
                raise _missing(name)
            return _obligation(conn.execute(select(obligations).where(OB.name == name)).one())

        return await self._tx(_run)

    async def delete_obligation(self, name: str, actor: str) -> None:
        now = self.clock.now()

        def _run(conn: Connection) -> None:
            done = conn.execute(
                update(obligations)
                .where(OB.name == name, OB.deleted.is_(False))
                .values(deleted=True, updated_at=now, updated_by=actor)
            )
            if done.rowcount == 0:
                raise _missing(name)

        await self._tx(_run)

    async def seed_obligations(
        self, specs: Mapping[str, Mapping[str, Any]], actor: str
    ) -> list[str]:
        now = self.clock.now()

        def _run(conn: Connection) -> list[str]:
            known = set(conn.execute(select(OB.name)).scalars())
            added = sorted(name for name in specs if name not in known)
            for name in added:
                conn.execute(
                    insert(obligations).values(
                        name=name,
                        spec=dict(specs[name]),
                        deleted=False,
                        created_at=now,
                        updated_at=now,
                        updated_by=actor,
                    )
                )
            return added

        try:
            return await self._tx(_run)
        except IntegrityError:  # another process seeded the same names meanwhile
            return []

    async def disclosures(self, kinds: Sequence[str], since: datetime) -> list[Disclosure]:
        if not kinds:
            return []
        query = (
            select(N.id, N.kind, N.title, N.fields, N.created_at, D.account, D.status, D.posted_at)
            .select_from(notices.join(deliveries, D.notice_id == N.id))
            .where(N.kind.in_(list(kinds)), or_(N.created_at >= since, D.posted_at >= since))
            .order_by(N.id, D.id)
        )

        def _run(conn: Connection) -> list[Disclosure]:
            return [
                Disclosure(
                    notice_id=r.id,
                    kind=r.kind,
                    title=r.title,
                    fields=dict(r.fields or {}),
                    created_at=r.created_at,
                    account=r.account,
                    status=r.status,
                    posted_at=r.posted_at,
                )
                for r in conn.execute(query)
            ]

        return await self._read(_run)

    async def last_posts(self) -> list[LastPost]:
        newest = func.max(D.posted_at).label("newest")
        query = (
            select(D.account, D.channel, D.kind, newest)
            .where(D.posted_at.is_not(None))
            .group_by(D.account, D.channel, D.kind)
            .order_by(D.account, D.kind)
        )

        def _run(conn: Connection) -> list[LastPost]:
            return [LastPost(r.account, r.channel, r.kind, r.newest) for r in conn.execute(query)]

        return await self._read(_run)

    async def get_reminder(self, subject: str, period: str, step: str) -> ReminderRecord | None:
        query = select(obligation_reminders).where(
            R.subject == subject, R.period == period, R.step == step
        )

        def _run(conn: Connection) -> ReminderRecord | None:
            row = conn.execute(query).first()
            return None if row is None else _reminder(row)

        return await self._read(_run)

    async def record_reminder(
        self,
        subject: str,
        period: str,
        step: str,
        recipients: Sequence[str],
        error: str | None,
    ) -> ReminderRecord:
        now = self.clock.now()
        status = "sent" if error is None else "failed"
        key = (R.subject == subject, R.period == period, R.step == step)

        def _run(conn: Connection) -> ReminderRecord:
            row = conn.execute(self._for_update(select(obligation_reminders).where(*key))).first()
            values = dict(recipients=list(recipients), error=error, updated_at=now)
            if row is None:
                conn.execute(
                    insert(obligation_reminders).values(
                        subject=subject,
                        period=period,
                        step=step,
                        status=status,
                        attempts=1,
                        first_at=now,
                        **values,
                    )
                )
            elif row.status != "sent":
                conn.execute(
                    update(obligation_reminders)
                    .where(*key)
                    .values(status=status, attempts=row.attempts + 1, **values)
                )
            return _reminder(conn.execute(select(obligation_reminders).where(*key)).one())

        return await self._tx(_run)

    async def reminders(self, *, status: str | None = None) -> list[ReminderRecord]:
        query = select(obligation_reminders).order_by(R.first_at, R.subject, R.step)
        if status is not None:
            query = query.where(R.status == status)
        return await self._read(lambda conn: [_reminder(r) for r in conn.execute(query)])
