"""Notices in: a notice, its deliveries and their events in one transaction, or nothing.

Idempotent by the notice's key (the same content answers with the first notice; different
content under a used key is refused). Without a key, the caller may ask for the duplicate
guard: the same kind, title and body submitted within a window is refused, naming the first.

Two fast paths keep intake cheap: on SQLite concurrent submits share one commit (group
commit); with a ``ClaimRequest`` a worker in this process takes the new deliveries in the
same transaction, with no separate claim round trip.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from publisher.contract import NoticeView
from publisher.errors import DuplicateNotice, IdempotencyConflict
from publisher.states import Status
from publisher.store import reasons
from publisher.store.records import Claimed, ClaimRequest, NewDelivery, Submission
from publisher.store.schema import notices
from publisher.store.sql.claims import ClaimsMixin
from publisher.store.sql.core import GroupFailed
from publisher.store.sql.rows import INSERT_DELIVERIES, INSERT_EVENT, INSERT_NOTICE, event_row


class IntakeMixin(ClaimsMixin):
    """``submit``: store a notice and fan out its deliveries."""

    async def submit(
        self,
        *,
        notice: Mapping[str, Any],
        new_deliveries: Sequence[NewDelivery],
        source: str,
        actor: str,
        claim: ClaimRequest | None = None,
        duplicate_window: timedelta | None = None,
    ) -> Submission:
        """Store a notice and fan out its deliveries atomically.

        ``created`` is False when the idempotency key matched an earlier notice with the same
        content. With ``claim``, a worker in this process takes the new deliveries in the same
        transaction, under the same account limits as :meth:`claim` (the fast path: no
        separate claim round trip); anything the limits hold back stays pending. Raises
        IdempotencyConflict (key used for other content), ValueError (two deliveries to one
        account), DuplicateNotice (with ``duplicate_window`` and no key: the same kind, title
        and body were submitted within the window).
        """
        now = self.clock.now()
        key = notice.get("idempotency_key")
        digest = content_hash(notice["kind"], notice["title"], notice["body"])

        def _run(conn: Connection) -> Submission:
            known = self._known(conn, key, notice["fingerprint"])
            if known is not None:
                return known
            if key is None and duplicate_window is not None:
                self._refuse_duplicate(conn, notice, digest, now, duplicate_window)
            one_per_account(new_deliveries)
            drill = bool(notice.get("drill"))  # drills (issue 11 C)
            row = notice_row(notice, digest, source, actor, now, drill=drill)
            if claim is None and new_deliveries and self.fan_out_in_one_statement:
                return Submission(self._fan_out(conn, row, new_deliveries, now), True)
            notice_id = conn.execute(INSERT_NOTICE, row).scalar_one()
            event_rows = [
                event_row(
                    notice_id, None, now, "submitted", None, None, actor, reasons.submitted(source)
                )
            ]
            if not new_deliveries:
                conn.execute(INSERT_EVENT, event_rows)
                return Submission(notice_id, True)
            ids, queued = self._queue(conn, notice_id, row["kind"], new_deliveries, now, actor)
            event_rows += queued
            claimed: list[Claimed] = []
            if claim is not None:
                claimed = self._claim_new(
                    conn, claim, notice_id, notice, ids, new_deliveries, now, event_rows
                )
            conn.execute(INSERT_EVENT, event_rows)
            if len(claimed) < len(ids):
                self._notify(conn)
            return Submission(notice_id, True, claimed)

        try:
            if not self.group_submits:
                return await self._tx(_run)
            try:
                return cast(Submission, await self._group.run(self._submit_many, _run))
            except GroupFailed:
                return await self._tx(_run)  # on its own, for its own result or error
        except IntegrityError:
            # Another submit with the same key won the race: answer with its notice.
            won = await self._race_won_by(key, notice["fingerprint"])
            if won is None:
                raise
            return won

    @staticmethod
    def _insert_deliveries(
        conn: Connection, notice_id: int, kind: str, new: Sequence[NewDelivery], now: datetime
    ) -> list[int]:
        """Insert the deliveries (``pending``); their ids, in the order given."""
        inserted = conn.execute(
            INSERT_DELIVERIES,
            [
                dict(
                    notice_id=notice_id,
                    account=d.account,
                    channel=d.channel,
                    kind=kind,
                    status=Status.PENDING,
                    priority=d.priority,
                    not_before=d.not_before,
                    attempts=0,
                    max_attempts=d.max_attempts,
                    idempotency_key=d.idempotency_key,
                    rendered=d.rendered,
                    created_at=now,
                    updated_at=now,
                )
                for d in new
            ],
        ).all()
        id_of = {row.account: row.id for row in inserted}
        return [id_of[d.account] for d in new]

    @staticmethod
    def _queue(
        conn: Connection,
        notice_id: int,
        kind: str,
        new: Sequence[NewDelivery],
        now: datetime,
        actor: str,
    ) -> tuple[list[int], list[dict[str, Any]]]:
        """Insert the deliveries (``pending``): their ids, in the order given, and the rows of
        their ``queued`` events (for the caller to write with its other events)."""
        ids = IntakeMixin._insert_deliveries(conn, notice_id, kind, new, now)
        events = [
            event_row(
                notice_id,
                did,
                now,
                "queued",
                None,
                Status.PENDING,
                actor,
                reasons.queued(d.not_before, d.priority, now),
            )
            for did, d in zip(ids, new, strict=True)
        ]
        return ids, events

    def _known(self, conn: Connection, key: str | None, fingerprint: str) -> Submission | None:
        """The answer when ``key`` is already used for this content (not created), else None;
        IdempotencyConflict when it is used for other content."""
        if key is None:
            return None
        existing = self._by_key(conn, key, fingerprint)
        return None if existing is None else Submission(existing, False)

    async def _race_won_by(self, key: str | None, fingerprint: str) -> Submission | None:
        """After an IntegrityError: the notice another submit with the same key stored, if any."""
        if key is None:
            return None
        existing = await self._read(self._by_key, key, fingerprint)
        return None if existing is None else Submission(existing, False)

    def _claim_new(
        self,
        conn: Connection,
        claim: ClaimRequest,
        notice_id: int,
        notice: Mapping[str, Any],
        ids: Sequence[int],
        new: Sequence[NewDelivery],
        now: datetime,
        event_rows: list[dict[str, Any]],
    ) -> list[Claimed]:
        """The fast path: the claimer takes the just-inserted deliveries that are due."""
        view = NoticeView(
            id=notice_id,
            kind=notice["kind"],
            title=notice["title"],
            body=notice["body"],
            summary=notice.get("summary"),
            table=notice.get("table_data"),
            fields=notice.get("fields") or {},
            urgent=bool(notice["urgent"]),
            publish_at=notice.get("publish_at"),
            created_at=now,
            drill=bool(notice.get("drill")),
        )
        by_account: dict[str, list[int]] = {}
        for i, d in zip(ids, new, strict=True):
            if d.not_before <= now and d.account in claim.limits:
                by_account.setdefault(d.account, []).append(i)
        claimed, _ = self._claim_accounts(
            conn,
            claim,
            [(a, len(got)) for a, got in by_account.items()],
            only_ids=by_account,
            view=view,
            events_out=event_rows,
        )
        return claimed

    def _fan_out(
        self, conn: Connection, notice: Mapping[str, Any], new: Sequence[NewDelivery], now: datetime
    ) -> int:
        """Insert a notice, its deliveries and their events, and announce the work; returns
        the notice id. Only where ``fan_out_in_one_statement`` is set."""
        raise NotImplementedError

    @staticmethod
    def _submit_many(
        conn: Connection, runs: Sequence[Callable[[Connection], Submission]]
    ) -> list[Submission]:
        """Concurrent submits in one transaction (one commit, one NOTIFY); when any of them
        fails, all are rolled back and each runs again on its own."""
        if len(runs) == 1:
            return [runs[0](conn)]
        try:
            return [run(conn) for run in runs]
        except Exception as exc:
            raise GroupFailed from exc

    def _refuse_duplicate(
        self,
        conn: Connection,
        notice: Mapping[str, Any],
        digest: str,
        now: datetime,
        window: timedelta,
    ) -> None:
        """DuplicateNotice naming the newest notice of the same content within ``window``."""
        # Two identical submits at once must not both pass (PostgreSQL: an advisory lock on
        # the content, the same kind of lock that serialises an account's first claim).
        self._lock_account(conn, f"content:{digest}")
        n = notices.c
        earlier = conn.execute(
            select(n.id)
            .where(
                n.content_hash == digest,
                n.created_at >= now - window,
                n.kind == notice["kind"],
                n.title == notice["title"],
                n.body == notice["body"],
                n.drill.is_(bool(notice.get("drill"))),  # a drill rehearses the real one
            )
            .order_by(n.created_at.desc(), n.id.desc())
            .limit(1)
        ).scalar()
        if earlier is not None:
            raise DuplicateNotice(reasons.duplicate_notice(int(earlier), window), int(earlier))

    def _by_key(self, conn: Connection, key: str, fingerprint: str) -> int | None:
        """The notice already stored under this key, or None; IdempotencyConflict when its
        content differs."""
        row = conn.execute(
            select(notices.c.id, notices.c.fingerprint).where(notices.c.idempotency_key == key)
        ).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise IdempotencyConflict(reasons.idempotency_conflict(key, row.id))
        return int(row.id)


def one_per_account(new: Sequence[NewDelivery]) -> None:
    if len({d.account for d in new}) != len(new):
        raise ValueError("a notice has one delivery per channel account")


def notice_row(
    notice: Mapping[str, Any],
    digest: str,
    source: str,
    actor: str,
    now: datetime,
    **extra: Any,
) -> dict[str, Any]:
    """The ``notices`` row for ``notice`` (``digest``: its :func:`content_hash`), with
    ``extra`` columns on top."""
    return {
        **notice,
        **extra,
        "content_hash": digest,
        "source": source,
        "created_by": actor,
        "created_at": now,
    }


def content_hash(kind: str, title: str, body: str) -> str:
    """What the duplicate guard compares: a digest of kind, title and body (also written by
    migration 0007 for the notices it found; keep the two alike)."""
    blob = json.dumps([kind, title, body], ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()
