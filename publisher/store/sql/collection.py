"""Reach collection state and OA readers: when each post was last asked for its numbers,
how each account's collections went, who read or acknowledged an OA message and who was
nudged (:class:`publisher.store.collection.CollectionStore`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from publisher.errors import NotFoundError
from publisher.store.collection import CollectionHealth, Polled, Reader
from publisher.store.schema import collection_health, deliveries, metric_polls, oa_readers
from publisher.store.sql.core import SqlCore
from publisher.store.sql.reach import post_ref, posted_in

D = deliveries.c
P = metric_polls.c
H = collection_health.c
R = oa_readers.c


def _insert(conn: Connection, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT (both backends we run on)."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


class CollectionMixin(SqlCore):
    async def polled_refs(
        self, account: str, posted_after: datetime, posted_before: datetime
    ) -> list[Polled]:
        query = (
            posted_in(account, posted_after, posted_before)
            .add_columns(P.polled_at)
            .outerjoin(metric_polls, P.delivery_id == D.id)
        )

        def _run(conn: Connection) -> list[Polled]:
            return [Polled(post_ref(r), r.polled_at) for r in conn.execute(query).all()]

        return await self._read(_run)

    async def mark_polled(self, polled: Mapping[int, int], at: datetime) -> None:
        if not polled:
            return
        rows = [dict(delivery_id=d, polled_at=at, samples=n) for d, n in polled.items()]

        def _run(conn: Connection) -> None:
            statement = _insert(conn, metric_polls)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[P.delivery_id],
                    set_={
                        "polled_at": statement.excluded.polled_at,
                        "samples": statement.excluded.samples,
                    },
                ),
                rows,
            )

        await self._tx(_run)

    async def record_collection(
        self, account: str, at: datetime, error: str | None, retry_after: datetime | None = None
    ) -> CollectionHealth:
        def _run(conn: Connection) -> CollectionHealth:
            row = conn.execute(select(collection_health).where(H.account == account)).first()
            before: dict[str, Any] = (
                dict(row._mapping)
                if row is not None
                else {
                    "account": account,
                    "last_success_at": None,
                    "last_error": None,
                    "last_error_at": None,
                    "failures": 0,
                }
            )
            after: dict[str, Any] = {**before, "last_run_at": at, "retry_after": retry_after}
            if error is None:
                after.update(last_success_at=at, failures=0, retry_after=None)
            else:
                after.update(
                    last_error=error[:2000], last_error_at=at, failures=before["failures"] + 1
                )
            if row is None:
                conn.execute(collection_health.insert().values(after))
            else:
                conn.execute(update(collection_health).where(H.account == account).values(after))
            return CollectionHealth(**{k: after[k] for k in CollectionHealth.__dataclass_fields__})

        return await self._tx(_run)

    async def collection_health(self) -> list[CollectionHealth]:
        def _run(conn: Connection) -> list[CollectionHealth]:
            rows = conn.execute(select(collection_health).order_by(H.account)).all()
            fields = CollectionHealth.__dataclass_fields__
            return [CollectionHealth(**{k: r._mapping[k] for k in fields}) for r in rows]

        return await self._read(_run)

    # -- OA readers --------------------------------------------------------------------------

    async def add_recipients(self, delivery_id: int, users: Sequence[str]) -> None:
        if not users:
            return
        rows = [dict(delivery_id=delivery_id, user_id=u) for u in dict.fromkeys(users)]

        def _run(conn: Connection) -> None:
            _exists(conn, delivery_id)
            conn.execute(_insert(conn, oa_readers).on_conflict_do_nothing(), rows)

        await self._tx(_run)

    async def record_reads(self, delivery_id: int, reads: Mapping[str, datetime], how: str) -> int:
        if not reads:
            return 0

        def _run(conn: Connection) -> int:
            _exists(conn, delivery_id)
            conn.execute(
                _insert(conn, oa_readers).on_conflict_do_nothing(),
                [dict(delivery_id=delivery_id, user_id=u) for u in reads],
            )
            new = 0
            for user, at in reads.items():
                result = conn.execute(
                    update(oa_readers)
                    .where(R.delivery_id == delivery_id, R.user_id == user, R.read_at.is_(None))
                    .values(read_at=at, how=how)
                )
                new += result.rowcount or 0
            return new

        return await self._tx(_run)

    async def readers(self, delivery_ids: Sequence[int]) -> dict[int, list[Reader]]:
        if not delivery_ids:
            return {}
        query = (
            select(oa_readers)
            .where(R.delivery_id.in_(list(delivery_ids)))
            .order_by(R.delivery_id, R.user_id)
        )

        def _run(conn: Connection) -> dict[int, list[Reader]]:
            out: dict[int, list[Reader]] = {}
            for r in conn.execute(query).all():
                out.setdefault(r.delivery_id, []).append(
                    Reader(r.user_id, r.read_at, r.how, r.nudged_at)
                )
            return out

        return await self._read(_run)

    async def claim_nudges(self, delivery_id: int, users: Sequence[str], at: datetime) -> list[str]:
        if not users:
            return []

        def _run(conn: Connection) -> list[str]:
            conn.execute(
                _insert(conn, oa_readers).on_conflict_do_nothing(),
                [dict(delivery_id=delivery_id, user_id=u) for u in dict.fromkeys(users)],
            )
            claimed = []
            for user in dict.fromkeys(users):
                result = conn.execute(
                    update(oa_readers)
                    .where(
                        and_(
                            R.delivery_id == delivery_id,
                            R.user_id == user,
                            R.read_at.is_(None),
                            R.nudged_at.is_(None),
                        )
                    )
                    .values(nudged_at=at)
                )
                if result.rowcount:
                    claimed.append(user)
            return claimed

        return await self._tx(_run)


def _exists(conn: Connection, delivery_id: int) -> None:
    if conn.execute(select(D.id).where(D.id == delivery_id)).first() is None:
        raise NotFoundError(f"投递 {delivery_id} 不存在")
