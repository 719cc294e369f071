"""PostgreSQL: any number of workers on any number of machines.

Claims use ``FOR UPDATE SKIP LOCKED`` and a per-account advisory lock (so concurrency and
rate limits hold across workers); new work is announced with ``NOTIFY publisher_work`` and
heard with ``LISTEN`` on a dedicated async psycopg connection. Polling is the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    column,
    create_engine,
    func,
    insert,
    literal,
    null,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select

from publisher.contract import Clock
from publisher.states import Status
from publisher.store import reasons
from publisher.store.records import NewDelivery
from publisher.store.schema import UTCDateTime, deliveries, events, notices
from publisher.store.sql import SqlStore
from publisher.store.sql.rows import EVENT_COLUMNS

CHANNEL = "publisher_work"
log = logging.getLogger("publisher.store")


def postgres_engine(url: str, pool_size: int = 10) -> Engine:
    """The synchronous engine (psycopg) the database threads use."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


class PostgresStore(SqlStore):
    dialect_name = "postgresql"
    fan_out_in_one_statement = True

    def __init__(self, engine: Engine, clock: Clock, dsn: str, threads: int = 10) -> None:
        super().__init__(engine, clock, threads=threads)
        self.dsn = dsn

    def _lock_account(self, conn: Connection, account: str) -> None:
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(account))))

    def _notify(self, conn: Connection) -> None:
        if not conn.info.get("notified"):  # once per transaction is enough
            conn.execute(text(f"NOTIFY {CHANNEL}"))
            conn.info["notified"] = True

    def _for_update(self, query: Any, *, skip_locked: bool = False) -> Any:
        return query.with_for_update(skip_locked=skip_locked)

    def _fan_out(
        self, conn: Connection, notice: Mapping[str, Any], new: Sequence[NewDelivery], now: datetime
    ) -> int:
        params: dict[str, Any] = {f"n_{c}": notice.get(c) for c in NOTICE_COLUMNS}
        params |= {
            "now": now,
            "actor": notice["created_by"],
            "why": reasons.submitted(notice["source"]),
        }
        params |= {
            "accounts": [d.account for d in new],
            "channels": [d.channel for d in new],
            "prioritys": [d.priority for d in new],
            "not_befores": [d.not_before.astimezone(UTC) for d in new],
            "max_attemptss": [d.max_attempts for d in new],
            "keys": [d.idempotency_key for d in new],
            "rendereds": [json.dumps(d.rendered, ensure_ascii=False) for d in new],
            "reasons": [reasons.queued(d.not_before, d.priority, now) for d in new],
        }
        rows = conn.execute(FAN_OUT, params).all()
        if len(rows) != len(new):
            raise RuntimeError(f"fan-out wrote {len(rows)} of {len(new)} deliveries")
        return int(rows[0].notice_id)

    async def listen(self, on_notify: Callable[[], None]) -> None:
        """Call ``on_notify`` whenever new work is announced; reconnect until cancelled."""
        while True:
            conn: psycopg.AsyncConnection[Any] | None = None
            try:
                conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
                await conn.execute(f"LISTEN {CHANNEL}")
                on_notify()  # work may have arrived while we were not listening
                async for _ in conn.notifies():
                    on_notify()
            except asyncio.CancelledError:
                raise
            except (OSError, psycopg.Error) as exc:
                log.warning("LISTEN connection lost (%s); polling until it is back", exc)
                await asyncio.sleep(2)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()


NOTICE_COLUMNS = tuple(c.name for c in notices.c if c.name != "id")
ROW_COLUMNS = (  # one array parameter each; unnest() turns them into the deliveries' rows
    ("account", String()),
    ("channel", String()),
    ("priority", Integer()),
    ("not_before", DateTime(timezone=True)),
    ("max_attempts", Integer()),
    ("key", String()),
    ("rendered", Text()),  # JSON text, cast on the way in
    ("reason", Text()),
)


def _fan_out_statement() -> Select[Any]:
    """The notice row, its deliveries (unnested from one array per column), the
    ``submitted`` and ``queued`` events and ``pg_notify`` for the workers, as one statement:
    data-modifying WITH clauses all run, in one snapshot, exactly once. Returns one row per
    delivery (notice_id, id, account). The same statement for any number of deliveries, so
    SQLAlchemy and the server's prepared statements cache it.
    """
    rows = (
        func.unnest(*(bindparam(f"{name}s", type_=ARRAY(t)) for name, t in ROW_COLUMNS))
        .table_valued(*(column(name, t) for name, t in ROW_COLUMNS))
        .render_derived()
    )
    listed = select(rows).cte("rows")
    now = bindparam("now", type_=UTCDateTime())
    actor = bindparam("actor", type_=String())
    notice = (
        insert(notices)
        .values({c: bindparam(f"n_{c}") for c in NOTICE_COLUMNS})
        .returning(notices.c.id)
        .cte("notice")
    )
    fanned = (
        insert(deliveries)
        .from_select(
            [
                "notice_id",
                "account",
                "channel",
                "status",
                "priority",
                "not_before",
                "attempts",
                "max_attempts",
                "idempotency_key",
                "rendered",
                "created_at",
                "updated_at",
            ],
            select(
                notice.c.id,
                listed.c.account,
                listed.c.channel,
                literal(Status.PENDING.value),
                listed.c.priority,
                listed.c.not_before,
                literal(0),
                listed.c.max_attempts,
                listed.c.key,
                cast(listed.c.rendered, JSON),
                now,
                now,
            ).select_from(notice.join(listed, true())),
        )
        .returning(deliveries.c.id, deliveries.c.account, deliveries.c.notice_id)
        .cte("fanned")
    )
    logged = (
        insert(events)
        .from_select(
            list(EVENT_COLUMNS),
            union_all(
                select(
                    notice.c.id,
                    null(),
                    now,
                    literal("submitted"),
                    null(),
                    null(),
                    actor,
                    bindparam("why", type_=Text()),
                ).select_from(notice),
                select(
                    fanned.c.notice_id,
                    fanned.c.id,
                    now,
                    literal("queued"),
                    null(),
                    literal(Status.PENDING.value),
                    actor,
                    listed.c.reason,
                ).select_from(fanned.join(listed, fanned.c.account == listed.c.account)),
            ),
        )
        .cte("logged")
    )
    return select(
        fanned.c.notice_id, fanned.c.id, fanned.c.account, func.pg_notify(CHANNEL, "")
    ).add_cte(logged)


FAN_OUT = _fan_out_statement()
