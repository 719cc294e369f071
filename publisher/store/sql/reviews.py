"""The review chain in the store: notices held for review, decisions, release, revision.

A notice under review is stored whole (rendered for each account) but gets no delivery: its
deliveries wait in ``reviews.held`` and are inserted (``pending``, not before ``publish_at``)
in the transaction of the last approval, so no worker can claim anything earlier. Decisions
lock the review row (PostgreSQL ``FOR UPDATE``; SQLite writes are serial) and check the open
step, the round and the content fingerprint under that lock: of two concurrent approvals of
one step exactly one wins, the other gets StateError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from publisher.errors import InputError, NotFoundError, StateError
from publisher.store import reasons
from publisher.store.records import NewDelivery, Submission
from publisher.store.reviews import (
    Decided,
    Decision,
    DecisionRecord,
    ReviewRecord,
    ReviewRefused,
    ReviewState,
)
from publisher.store.schema import notices, review_decisions, reviews, user_roles, users
from publisher.store.sql.core import SqlCore
from publisher.store.sql.intake import IntakeMixin, content_hash, notice_row, one_per_account
from publisher.store.sql.rows import INSERT_EVENT, INSERT_NOTICE, event_row

V = reviews.c
X = review_decisions.c
N = notices.c
U = users.c


def _held(new: Sequence[NewDelivery]) -> list[dict[str, Any]]:
    return [
        dict(
            account=d.account,
            channel=d.channel,
            priority=d.priority,
            max_attempts=d.max_attempts,
            idempotency_key=d.idempotency_key,
            rendered=dict(d.rendered),
        )
        for d in new
    ]


def _review(conn: Connection, row: Any) -> ReviewRecord:
    decided = conn.execute(
        select(review_decisions).where(X.notice_id == row.notice_id).order_by(X.id)
    ).all()
    return ReviewRecord(
        notice_id=row.notice_id,
        state=row.state,
        steps=list(row.steps),
        step=row.step,
        round=row.round,
        fingerprint=row.fingerprint,
        drafted_by=row.drafted_by,
        fast_path=bool(row.fast_path),
        released_by=row.released_by,
        released_at=row.released_at,
        told=row.told,
        updated_at=row.updated_at,
        held=len(row.held or []),
        warnings=list(row.warnings or []),
        decisions=[
            DecisionRecord(d.round, d.step, d.actor, d.decision, d.comment, d.fingerprint, d.at)
            for d in decided
        ],
    )


class ReviewsMixin(SqlCore):
    """The store side of ``ReviewStore`` (``publisher/store/base.py``)."""

    async def submit_for_review(
        self,
        *,
        notice: Mapping[str, Any],
        held: Sequence[NewDelivery],
        source: str,
        actor: str,
        steps: Sequence[Mapping[str, Any]],
        release_now: bool = False,
        duplicate_window: timedelta | None = None,
        warnings: Sequence[str] = (),
    ) -> Submission:
        """Store a notice whose release waits for its review: no delivery, a review row
        holding them, in one transaction. With ``release_now`` (the fast path) the deliveries
        are inserted at once and the review follows after the fact. Idempotency key and the
        duplicate guard as :meth:`submit`."""
        now = self.clock.now()
        key = notice.get("idempotency_key")
        digest = content_hash(notice["kind"], notice["title"], notice["body"])
        intake = cast(IntakeMixin, self)
        one_per_account(held)

        def _run(conn: Connection) -> Submission:
            known = intake._known(conn, key, notice["fingerprint"])
            if known is not None:
                return known
            if key is None and duplicate_window is not None:
                intake._refuse_duplicate(conn, notice, digest, now, duplicate_window)
            row = notice_row(notice, digest, source, actor, now)
            notice_id = conn.execute(INSERT_NOTICE, row).scalar_one()
            conn.execute(
                INSERT_EVENT,
                [
                    event_row(
                        notice_id,
                        None,
                        now,
                        "submitted",
                        None,
                        None,
                        actor,
                        reasons.submitted(source),
                    ),
                    event_row(
                        notice_id,
                        None,
                        now,
                        "awaiting_review",
                        None,
                        None,
                        actor,
                        f"共 {len(steps)} 步审核"
                        + ("；值班员快速发布，事后补审" if release_now else ""),
                    ),
                ],
            )
            conn.execute(
                insert(reviews).values(
                    notice_id=notice_id,
                    state=ReviewState.AWAITING.value,
                    steps=[dict(s) for s in steps],
                    step=0,
                    round=1,
                    fingerprint=notice["fingerprint"],
                    held=_held(held),
                    drafted_by=actor,
                    fast_path=release_now,
                    warnings=list(warnings),
                    updated_at=now,
                )
            )
            if release_now:
                self._release(conn, notice_id, notice.get("publish_at"), actor, now)
            return Submission(notice_id, True)

        try:
            return await self._tx(_run)
        except IntegrityError:
            won = await intake._race_won_by(key, notice["fingerprint"])
            if won is None:
                raise
            return won

    def _release(
        self,
        conn: Connection,
        notice_id: int,
        publish_at: datetime | None,
        actor: str,
        now: datetime,
    ) -> None:
        """Insert the held deliveries (``pending``, not before ``publish_at``), their events and
        the wake-up; mark the review released by ``actor``."""
        row = conn.execute(select(V.held).where(V.notice_id == notice_id)).one()
        held = list(row.held or [])
        kind = conn.execute(select(N.kind).where(N.id == notice_id)).scalar_one()
        not_before = max(now, publish_at) if publish_at else now
        new = [
            NewDelivery(
                account=h["account"],
                channel=h["channel"],
                priority=h["priority"],
                not_before=not_before,
                max_attempts=h["max_attempts"],
                idempotency_key=h["idempotency_key"],
                rendered=h["rendered"],
            )
            for h in held
        ]
        events = [event_row(notice_id, None, now, "released", None, None, actor, None)]
        if new:
            events += IntakeMixin._queue(conn, notice_id, kind, new, now, actor)[1]
            self._notify(conn)
        conn.execute(INSERT_EVENT, events)
        conn.execute(
            update(reviews)
            .where(V.notice_id == notice_id)
            .values(held=None, released_by=actor, released_at=now, updated_at=now)
        )

    def _locked(self, conn: Connection, notice_id: int) -> Any:
        row = conn.execute(
            self._for_update(select(reviews).where(V.notice_id == notice_id))
        ).first()
        if row is None:
            exists = conn.execute(select(N.id).where(N.id == notice_id)).first()
            if exists is None:
                raise NotFoundError(f"没有通知 #{notice_id}")
            raise StateError(f"通知 #{notice_id} 不需要审核")
        return row

    async def decide_review(
        self,
        notice_id: int,
        *,
        step: int,
        actor: str,
        decision: Decision,
        comment: str | None,
        required: frozenset[str] | None,
        fingerprint: str | None = None,
    ) -> Decided:
        """Record ``actor``'s decision on the open ``step`` of the notice's review.

        ``required``: everyone who must approve the step (an "all" step), None when any one
        approval closes it. The last step's approval releases the held deliveries in the same
        transaction. Raises NotFoundError; ReviewRefused for the notice's author or someone
        who already decided in this round; StateError when the step is no longer open (another
        decision closed it, the notice was rejected or revised) or ``fingerprint`` is not the
        content under review."""
        now = self.clock.now()

        def _run(conn: Connection) -> Decided:
            row = self._locked(conn, notice_id)
            if row.state != ReviewState.AWAITING or row.step != step:
                raise StateError(f"通知 #{notice_id} 的第 {step + 1} 步审核已有结果")
            if fingerprint is not None and fingerprint != row.fingerprint:
                raise StateError(f"通知 #{notice_id} 在您查看之后已被修改，请重新审阅")
            if actor == row.drafted_by:
                raise ReviewRefused(f"{actor} 不能审核自己起草的通知 #{notice_id}")
            earlier = conn.execute(
                select(X.step).where(
                    X.notice_id == notice_id, X.round == row.round, X.actor == actor
                )
            ).first()
            if earlier is not None:
                raise ReviewRefused(
                    f"{actor} 已在本轮审核第 {earlier.step + 1} 步作出决定，同一人不能审核两次"
                )
            conn.execute(
                insert(review_decisions).values(
                    notice_id=notice_id,
                    round=row.round,
                    step=step,
                    actor=actor,
                    decision=decision.value,
                    comment=comment,
                    fingerprint=row.fingerprint,
                    at=now,
                )
            )
            values: dict[str, Any] = {"updated_at": now}
            advanced = released = False
            if decision == Decision.REJECT:
                values |= {"state": ReviewState.REJECTED.value, "told": None}
                action, reason = "rejected", comment
            else:
                action, reason = (
                    "approved",
                    f"第 {step + 1} 步" + (f"：{comment}" if comment else ""),
                )
                approvers = set(
                    conn.execute(
                        select(X.actor).where(
                            X.notice_id == notice_id,
                            X.round == row.round,
                            X.step == step,
                            X.decision == Decision.APPROVE.value,
                        )
                    ).scalars()
                )
                advanced = required is None or required <= approvers
                if advanced:
                    values |= {"step": step + 1, "told": None}
                    if step + 1 >= len(row.steps):
                        values["state"] = ReviewState.APPROVED.value
            conn.execute(
                INSERT_EVENT, [event_row(notice_id, None, now, action, None, None, actor, reason)]
            )
            conn.execute(update(reviews).where(V.notice_id == notice_id).values(**values))
            if values.get("state") == ReviewState.APPROVED and row.released_at is None:
                publish_at = conn.execute(select(N.publish_at).where(N.id == notice_id)).scalar()
                self._release(conn, notice_id, publish_at, actor, now)
                released = True
            fresh = conn.execute(select(reviews).where(V.notice_id == notice_id)).one()
            return Decided(_review(conn, fresh), advanced, released)

        try:
            return await self._tx(_run)
        except IntegrityError:  # the same person's two decisions raced: the first stands
            raise ReviewRefused(f"{actor} 已对通知 #{notice_id} 作出决定") from None

    async def revise_review(
        self,
        notice_id: int,
        *,
        actor: str,
        notice: Mapping[str, Any],
        held: Sequence[NewDelivery],
        steps: Sequence[Mapping[str, Any]],
        warnings: Sequence[str] = (),
    ) -> ReviewRecord:
        """The author replaces the content of a notice not yet released (under review or
        rejected): the approvals of the round are void, the chain starts over (next round).
        Raises NotFoundError; ReviewRefused for anyone but the author; StateError once
        released or approved; InputError for another kind."""
        now = self.clock.now()

        def _run(conn: Connection) -> ReviewRecord:
            row = self._locked(conn, notice_id)
            if actor != row.drafted_by:
                raise ReviewRefused(f"只有起草人 {row.drafted_by} 可以修改通知 #{notice_id}")
            if row.released_at is not None or row.state == ReviewState.APPROVED:
                raise StateError(f"通知 #{notice_id} 已发布，不能再修改")
            kind = conn.execute(select(N.kind).where(N.id == notice_id)).scalar_one()
            if notice["kind"] != kind:
                raise InputError(f"修改后的通知类型 {notice['kind']} 与原通知 {kind} 不同")
            content = {
                k: notice[k]
                for k in (
                    "title",
                    "body",
                    "summary",
                    "table_data",
                    "fields",
                    "urgent",
                    "publish_at",
                    "fingerprint",
                )
            }
            content["content_hash"] = content_hash(kind, notice["title"], notice["body"])
            conn.execute(update(notices).where(N.id == notice_id).values(**content))
            conn.execute(
                update(reviews)
                .where(V.notice_id == notice_id)
                .values(
                    state=ReviewState.AWAITING.value,
                    steps=[dict(s) for s in steps],
                    step=0,
                    round=row.round + 1,
                    fingerprint=notice["fingerprint"],
                    held=_held(held),
                    told=None,
                    warnings=list(warnings),
                    updated_at=now,
                )
            )
            conn.execute(
                INSERT_EVENT,
                [
                    event_row(
                        notice_id,
                        None,
                        now,
                        "revised",
                        None,
                        None,
                        actor,
                        f"第 {row.round + 1} 轮审核，此前的审核意见作废",
                    )
                ],
            )
            return _review(
                conn, conn.execute(select(reviews).where(V.notice_id == notice_id)).one()
            )

        return await self._tx(_run)

    async def review_of(self, notice_id: int) -> ReviewRecord | None:
        """The notice's review, None when it had none."""

        def _run(conn: Connection) -> ReviewRecord | None:
            row = conn.execute(select(reviews).where(V.notice_id == notice_id)).first()
            return None if row is None else _review(conn, row)

        return await self._read(_run)

    async def open_reviews(self, limit: int = 500) -> list[ReviewRecord]:
        """Reviews not yet approved (open or rejected), oldest first."""

        def _run(conn: Connection) -> list[ReviewRecord]:
            rows = conn.execute(
                select(reviews)
                .where(V.state != ReviewState.APPROVED.value)
                .order_by(V.notice_id)
                .limit(limit)
            ).all()
            return [_review(conn, r) for r in rows]

        return await self._read(_run)

    async def note_review_told(self, notice_id: int, told: Mapping[str, Any]) -> None:
        """Remember whom the open step's people were told (or why nobody could be)."""

        def _run(conn: Connection) -> None:
            conn.execute(update(reviews).where(V.notice_id == notice_id).values(told=dict(told)))

        await self._tx(_run)

    # -- people, as the review chain needs them ------------------------------------------

    async def set_oa_id(self, name: str, oa_id: str | None) -> None:
        """Set (or clear) the id the OA channel knows the user by. Raises NotFoundError."""

        def _run(conn: Connection) -> None:
            done = conn.execute(update(users).where(U.name == name).values(oa_id=oa_id))
            if done.rowcount == 0:
                raise NotFoundError(f"没有用户 {name}")

        await self._tx(_run)

    async def oa_ids(self, names: Iterable[str]) -> dict[str, str]:
        """The OA ids of the named users that have one."""
        wanted = sorted(set(names))

        def _run(conn: Connection) -> dict[str, str]:
            rows = conn.execute(
                select(U.name, U.oa_id).where(U.name.in_(wanted), U.oa_id.is_not(None))
            ).all()
            return {r.name: r.oa_id for r in rows}

        return await self._read(_run)

    async def holders(self, role: str) -> list[str]:
        """The names of the enabled users holding ``role``."""

        def _run(conn: Connection) -> list[str]:
            rows = conn.execute(
                select(U.name)
                .join(user_roles, user_roles.c.user_id == U.id)
                .where(user_roles.c.role == role, U.disabled.is_(False))
                .order_by(U.name)
            ).scalars()
            return list(rows)

        return await self._read(_run)
