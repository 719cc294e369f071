"""Follow-ups: an update, lift or withdrawal stored with its links, in one transaction.

See :mod:`publisher.store.lifecycle`. The original's row is never changed: its state is read
from its follow-up (the unique ``ix_notices_follows`` keeps it to one), and an event on the
original records the follow-up, so the portal's cached pages of the original change too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from publisher.errors import NotFoundError, StateError
from publisher.states import Status
from publisher.store import reasons
from publisher.store.lifecycle import (
    RELATIONS,
    UPDATES,
    VERBS,
    FollowedAlready,
    FollowLink,
    NoticeLinks,
)
from publisher.store.records import NewDelivery, NoticeRecord, Submission
from publisher.store.schema import deliveries, notices
from publisher.store.sql.intake import IntakeMixin, content_hash, notice_row, one_per_account
from publisher.store.sql.rows import (
    INSERT_EVENT,
    INSERT_NOTICE,
    delivery_record,
    event_row,
    notice_record,
)

D = deliveries.c
N = notices.c
# The original's deliveries a follow-up may cancel: nothing of them has left yet.
NOT_STARTED = (Status.PENDING.value, Status.RETRY_WAIT.value)
CHAIN_MAX = 1000  # an update chain longer than this is not one a person made


def _link_to_follow_up(row: Any) -> FollowLink:
    follows = row.follows or {}
    return FollowLink(
        int(row.id), str(row.relation), row.title, row.created_at, follows.get("reason")
    )


def _follow_up_of(conn: Connection, notice_id: int) -> FollowLink | None:
    row = conn.execute(
        select(N.id, N.relation, N.title, N.created_at, N.follows).where(N.follows_id == notice_id)
    ).first()
    return None if row is None else _link_to_follow_up(row)


class LifecycleMixin(IntakeMixin):
    """:class:`publisher.store.lifecycle.LifecycleStore` over SQL."""

    async def follow_up(
        self,
        *,
        original_id: int,
        relation: str,
        notice: Mapping[str, Any],
        follows: Mapping[str, Any],
        new_deliveries: Sequence[NewDelivery],
        source: str,
        actor: str,
        cancel_waiting: bool,
    ) -> Submission:
        if relation not in RELATIONS:
            raise ValueError(f"unknown relation {relation!r}")
        one_per_account(new_deliveries)
        now = self.clock.now()
        key = notice.get("idempotency_key")

        def _run(conn: Connection) -> Submission:
            known = self._known(conn, key, notice["fingerprint"])
            if known is not None:
                return known
            self._lock_account(conn, f"follows:{original_id}")  # two follow-ups at once
            original = conn.execute(select(N.id, N.relation).where(N.id == original_id)).first()
            if original is None:
                raise NotFoundError(reasons.no_notice(original_id))
            if original.relation is not None and original.relation != UPDATES:
                what = VERBS[str(original.relation)]
                raise StateError(f"通知 #{original_id} 是一条{what}通知，不能再更新、解除或撤回")
            earlier = _follow_up_of(conn, original_id)
            if earlier is not None:
                raise FollowedAlready(original_id, earlier)
            row = notice_row(
                notice,
                content_hash(notice["kind"], notice["title"], notice["body"]),
                source,
                actor,
                now,
                follows_id=original_id,
                relation=relation,
                follows=dict(follows),
            )
            notice_id = int(conn.execute(INSERT_NOTICE, row).scalar_one())
            events = [
                event_row(
                    notice_id,
                    None,
                    now,
                    "submitted",
                    None,
                    None,
                    actor,
                    f"{reasons.submitted(source)}；{VERBS[relation]}通知 #{original_id}",
                ),
                event_row(
                    original_id,
                    None,
                    now,
                    relation,
                    None,
                    None,
                    actor,
                    f"已被通知 #{notice_id} {VERBS[relation]}"
                    + (f"：{follows['reason']}" if follows.get("reason") else ""),
                ),
            ]
            if new_deliveries:
                events += self._queue(conn, notice_id, row["kind"], new_deliveries, now, actor)[1]
            if cancel_waiting:
                events += self._cancel_not_started(
                    conn, original_id, notice_id, relation, now, actor
                )
            conn.execute(INSERT_EVENT, events)
            self._notify(conn)
            return Submission(notice_id, True)

        try:
            return await self._tx(_run)
        except IntegrityError:
            # A racing follow-up won: the same key answers with its notice, else say who won.
            won = await self._race_won_by(key, notice["fingerprint"])
            if won is not None:
                return won
            earlier = await self._read(_follow_up_of, original_id)
            if earlier is None:
                raise
            raise FollowedAlready(original_id, earlier) from None

    @staticmethod
    def _cancel_not_started(
        conn: Connection, original_id: int, by: int, relation: str, now: datetime, actor: str
    ) -> list[dict[str, Any]]:
        waiting = conn.execute(
            select(D.id, D.status).where(D.notice_id == original_id, D.status.in_(NOT_STARTED))
        ).all()
        if not waiting:
            return []
        conn.execute(
            update(deliveries)
            .where(D.id.in_([w.id for w in waiting]), D.status.in_(NOT_STARTED))
            .values(status=Status.CANCELLED, updated_at=now, lease_until=None, worker_id=None)
        )
        why = f"通知已被 #{by} {VERBS[relation]}，尚未发出的投递不再发出"
        return [
            event_row(original_id, w.id, now, "cancelled", w.status, Status.CANCELLED, actor, why)
            for w in waiting
        ]

    async def notice_links(self, notice_id: int) -> NoticeLinks:
        def _run(conn: Connection) -> NoticeLinks:
            row = conn.execute(
                select(N.id, N.follows_id, N.relation, N.created_at, N.follows).where(
                    N.id == notice_id
                )
            ).first()
            if row is None:
                raise NotFoundError(reasons.no_notice(notice_id))
            follows = None
            if row.follows_id is not None:
                title = conn.execute(select(N.title).where(N.id == row.follows_id)).scalar()
                data = row.follows or {}
                follows = FollowLink(
                    int(row.follows_id),
                    str(row.relation),
                    str(title or data.get("title") or ""),
                    row.created_at,
                    data.get("reason"),
                )
            return NoticeLinks(follows, _follow_up_of(conn, notice_id))

        return await self._read(_run)

    async def notice_by_key(self, key: str) -> int | None:
        def _run(conn: Connection) -> int | None:
            found = conn.execute(select(N.id).where(N.idempotency_key == key)).scalar()
            return None if found is None else int(found)

        return await self._read(_run)

    async def current_version(self, notice_id: int) -> int:
        def _run(conn: Connection) -> int:
            if conn.execute(select(N.id).where(N.id == notice_id)).first() is None:
                raise NotFoundError(reasons.no_notice(notice_id))
            current = notice_id
            for _ in range(CHAIN_MAX):
                newer = conn.execute(
                    select(N.id).where(N.follows_id == current, N.relation == UPDATES)
                ).scalar()
                if newer is None:
                    break
                current = int(newer)
            return current

        return await self._read(_run)

    async def open_warnings(self, kind: str, created_after: datetime) -> list[NoticeRecord]:
        followed = select(N.follows_id).where(N.follows_id.is_not(None)).scalar_subquery()
        query = (
            select(notices)
            .where(
                N.kind == kind,
                N.created_at > created_after,
                N.id.not_in(followed),
                (N.relation.is_(None)) | (N.relation == UPDATES),
            )
            .order_by(N.id)
        )

        def _run(conn: Connection) -> list[NoticeRecord]:
            found = [notice_record(r) for r in conn.execute(query).all()]
            if not found:
                return found
            rows = conn.execute(
                select(deliveries).where(D.notice_id.in_([n.id for n in found])).order_by(D.id)
            ).all()
            by_notice = {n.id: n for n in found}
            for r in rows:
                by_notice[int(r.notice_id)].deliveries.append(delivery_record(r))
            return found

        return await self._read(_run)
