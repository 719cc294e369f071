"""Reach and scheduled runs: metric samples of posted deliveries, once-only job fires."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, cast, func, insert, literal, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import String

from publisher.contract import MetricSample, PostRef
from publisher.states import Status
from publisher.store.base import REACH_GROUPINGS, REACH_METRICS, ReachGroup
from publisher.store.schema import (
    UTCDateTime,
    deliveries,
    job_runs,
    link_clicks,
    metric_samples,
    notices,
    post_reach,
    users,
)
from publisher.store.sql.core import SqlCore

D = deliveries.c
M = metric_samples.c
N = notices.c
C = link_clicks.c
R = post_reach.c
U = users.c
CLICKS, TRACKED_LINK = "clicks", "tracked_link"


def posted_in(account: str, posted_after: datetime, posted_before: datetime) -> Any:
    """The account's posted deliveries with ``posted_at`` in the closed range, by id: the
    columns a :class:`PostRef` needs (extend with ``add_columns``)."""
    return (
        select(D.id, D.remote_id, D.url, D.idempotency_key, D.posted_at, D.detail)
        .where(
            D.account == account,
            D.status == Status.POSTED,
            D.posted_at >= posted_after,
            D.posted_at <= posted_before,
        )
        .order_by(D.id)
    )


def post_ref(r: Any) -> PostRef:
    """A row of :func:`posted_in` as the reference a channel needs to ask about the post."""
    return PostRef(
        delivery_id=r.id,
        remote_id=r.remote_id,
        url=r.url,
        idempotency_key=r.idempotency_key,
        posted_at=r.posted_at,
        detail=dict(r.detail or {}),
    )


class ReachMixin(SqlCore):
    """Metric samples (the store side of reach) and job-run claims (the scheduler's)."""

    async def posted_refs(
        self, account: str, posted_after: datetime, posted_before: datetime
    ) -> list[PostRef]:
        """The account's posted deliveries with ``posted_at`` in the closed range, oldest first:
        the posts whose numbers are worth asking for now."""
        query = posted_in(account, posted_after, posted_before)

        def _run(conn: Connection) -> list[PostRef]:
            return [post_ref(r) for r in conn.execute(query).all()]

        return await self._read(_run)

    async def add_metric_samples(self, samples: Sequence[MetricSample]) -> int:
        """Append samples in one transaction; returns how many."""
        if not samples:
            return 0
        rows = [
            dict(
                delivery_id=s.delivery_id,
                metric=s.metric,
                value=int(s.value),
                observed_at=s.observed_at,
                source=s.source,
            )
            for s in samples
        ]

        def _run(conn: Connection) -> int:
            conn.execute(insert(metric_samples), rows)
            _keep_latest(conn, rows)
            return len(rows)

        return await self._tx(_run)

    async def latest_metrics(self, delivery_ids: Sequence[int]) -> dict[int, dict[str, object]]:
        """Per delivery, the newest value of each metric, with ``as_of`` (ISO time of the
        newest observation) and ``source``. Deliveries without samples are absent."""
        if not delivery_ids:
            return {}
        newest = (
            select(M.delivery_id, M.metric, func.max(M.observed_at).label("at"))
            .where(M.delivery_id.in_(list(delivery_ids)))
            .group_by(M.delivery_id, M.metric)
            .subquery()
        )
        query = select(M.delivery_id, M.metric, M.value, M.observed_at, M.source).join(
            newest,
            and_(
                M.delivery_id == newest.c.delivery_id,
                M.metric == newest.c.metric,
                M.observed_at == newest.c.at,
            ),
        )

        def _run(conn: Connection) -> dict[int, dict[str, object]]:
            out: dict[int, dict[str, object]] = {}
            for r in conn.execute(query).all():
                entry = out.setdefault(r.delivery_id, {})
                entry[r.metric] = r.value
                entry["as_of"] = max(str(entry.get("as_of", "")), r.observed_at.isoformat())
                entry["source"] = r.source
            return out

        return await self._read(_run)

    async def link_deliveries(self, notice_id: int) -> dict[str, int]:
        """The notice's deliveries by account (account -> delivery id); empty if unknown."""
        query = select(D.account, D.id).where(D.notice_id == notice_id)

        def _run(conn: Connection) -> dict[str, int]:
            return {r.account: r.id for r in conn.execute(query).all()}

        return await self._read(_run)

    async def record_link_click(
        self, delivery_id: int, day: date, visitor_hash: str, now: datetime
    ) -> int | None:
        """Count a visitor-day's click and append the new total as a ``clicks`` sample."""
        row = dict(delivery_id=delivery_id, day=day, visitor_hash=visitor_hash, first_seen_at=now)

        def _new(conn: Connection) -> bool:
            dialect = conn.dialect.name
            if dialect in ("sqlite", "postgresql"):
                upsert = sqlite_insert if dialect == "sqlite" else pg_insert
                statement = upsert(link_clicks).values(row).on_conflict_do_nothing()
                return conn.execute(statement.returning(C.delivery_id)).first() is not None
            try:
                with conn.begin_nested():
                    conn.execute(insert(link_clicks).values(row))
            except IntegrityError:
                return False
            return True

        def _run(conn: Connection) -> int | None:
            if not _new(conn):
                return None
            total = conn.execute(
                select(func.count()).where(C.delivery_id == delivery_id)
            ).scalar_one()
            sample = dict(
                delivery_id=delivery_id,
                metric=CLICKS,
                value=int(total),
                observed_at=now,
                source=TRACKED_LINK,
            )
            conn.execute(insert(metric_samples).values(sample))
            _keep_latest(conn, [sample])
            return int(total)

        return await self._tx(_run)

    async def reach_groups(
        self,
        posted_from: datetime,
        posted_before: datetime,
        by: str,
        months: Sequence[tuple[str, datetime]] = (),
    ) -> list[ReachGroup]:
        """Reach per group and account: each post's latest sample per metric, summed."""
        if by not in REACH_GROUPINGS:
            raise ValueError(f"unknown grouping {by!r}")
        extra: list[Any] = [N.title, N.kind] if by == "notice" else []
        # Only a notice's title or submitter needs the notice: the rest is on the delivery.
        joined: Any = deliveries
        if by in ("notice", "department"):
            joined = joined.join(notices, N.id == D.notice_id)
        if by == "department":  # the submitter's 科室 (users.department); "" when none
            joined = joined.outerjoin(users, U.name == N.created_by)
        posts = (
            select(D.id, _group_key(by, months).label("key"), D.account, D.channel, *extra)
            .select_from(joined)
            .where(
                D.status == Status.POSTED,
                D.posted_at >= posted_from,
                D.posted_at < posted_before,
            )
            .subquery("posts")
        )
        # Grouped by (key, account) only: an account has one channel and a notice one title
        # and kind, so those ride along as min() and the sort stays narrow. Each post's latest
        # figures are one row of post_reach (see _keep_latest), found by its primary key.
        riders = [func.min(posts.c.channel).label("channel")]
        if by == "notice":
            riders += [func.min(posts.c.title).label("title"), func.min(posts.c.kind).label("kind")]
        figures = [
            column
            for m in REACH_METRICS
            for column in (
                func.sum(R[m]).label(m),
                type_coerce(func.min(R[f"{m}_at"]), UTCDateTime()).label(f"{m}_at"),
            )
        ]
        query = (
            select(posts.c.key, posts.c.account, *riders, func.count().label("posts"), *figures)
            .select_from(posts.outerjoin(post_reach, R.delivery_id == posts.c.id))
            .group_by(posts.c.key, posts.c.account)
        )

        def _run(conn: Connection) -> list[ReachGroup]:
            return [_group(row._mapping, by) for row in conn.execute(query).all()]

        return await self._read(_run)

    async def claim_job_run(self, job: str, fire_time: datetime, runner: str) -> bool:
        """True for exactly one caller per (job, fire time), across processes: the fire is
        recorded as a ``job_runs`` row before it runs."""
        row = dict(job=job, fire_time=fire_time, started_at=self.clock.now(), runner=runner)

        def _run(conn: Connection) -> None:
            conn.execute(insert(job_runs).values(row))

        try:
            await self._tx(_run)
        except IntegrityError:
            return False
        return True


def _group(r: Any, by: str) -> ReachGroup:
    """A row of the grouped query: the figures of the metrics some post has a sample of."""
    return ReachGroup(
        key=str(r["key"]),
        account=r["account"],
        channel=r["channel"],
        posts=int(r["posts"]),
        figures={m: (int(r[m]), r[f"{m}_at"]) for m in REACH_METRICS if r[m] is not None},
        title=r["title"] if by == "notice" else None,
        kind=r["kind"] if by == "notice" else None,
    )


def _group_key(by: str, months: Sequence[tuple[str, datetime]]) -> Any:
    """The SQL expression a post is grouped by (its notice, kind, submitter's department, month
    or other time bucket; by channel: none)."""
    if by == "notice":
        return cast(N.id, String)
    if by == "kind":
        return D.kind  # copied from the notice at submit; it never changes
    if by == "channel":
        return literal("")
    if by == "department":
        return func.coalesce(U.department, literal(""))
    if not months:
        raise ValueError("grouping by month needs the months of the period")
    # The month a post went out in, local time: the last month starting at or before it.
    whens = [(D.posted_at >= start, label) for label, start in reversed(months)]
    return case(*whens, else_=literal(months[0][0]))


def _keep_latest(conn: Connection, samples: Sequence[dict[str, Any]]) -> None:
    """Fold new samples into ``post_reach`` in the caller's transaction: per (delivery,
    metric) the newest ``observed_at`` wins, at equal times the larger value (counts only
    grow), whatever order samples arrive in. Metrics outside REACH_METRICS are not kept."""
    newest: dict[int, dict[str, Any]] = {}
    for sample in samples:
        metric = sample["metric"]
        if metric not in REACH_METRICS:
            continue
        row = newest.get(sample["delivery_id"])
        if row is None:
            row = newest[sample["delivery_id"]] = dict.fromkeys(_COLUMNS)
            row["delivery_id"] = sample["delivery_id"]
        rank = (sample["observed_at"], sample["value"])
        if row[f"{metric}_at"] is None or rank > (row[f"{metric}_at"], row[metric]):
            row[metric], row[f"{metric}_at"] = sample["value"], sample["observed_at"]
    if not newest:
        return
    upsert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    statement = upsert(post_reach)
    new = statement.excluded
    changes = {}
    for m in REACH_METRICS:
        at, held_at = new[f"{m}_at"], R[f"{m}_at"]
        fresher = and_(
            at.is_not(None),
            or_(held_at.is_(None), at > held_at, and_(at == held_at, new[m] > R[m])),
        )
        # Both sides of every assignment see the row as it was (SQLite and PostgreSQL alike).
        changes[m] = case((fresher, new[m]), else_=R[m])
        changes[f"{m}_at"] = case((fresher, at), else_=held_at)
    conn.execute(
        statement.on_conflict_do_update(index_elements=[R.delivery_id], set_=changes),
        list(newest.values()),
    )


_COLUMNS = [c.name for c in post_reach.columns]
