"""Update, lift (解除) and withdraw (撤回) a notice: each a follow-up notice of its own.

A follow-up is checked and rendered at intake like any notice (templates see
``notice.follows``, :mod:`publisher.lifecycle.content`), stored with its link to the
original in one transaction, and delivered exactly once like any other notice.

Where it goes: to the accounts where the original was delivered — posted, or in flight
(leased, sending, confirming, or needing review: it may be on the channel). The original's
deliveries that have not started (pending, waiting to retry) are cancelled in the same
transaction: an outdated, lifted or withdrawn notice is never sent after its follow-up. An
update also goes to those accounts instead (it replaces the original there); a lift or a
withdrawal does not (nothing of the original reached them). An update of a notice that
reached no account goes where the update itself says (its ``channels`` or its kind's route).
Accounts whose posts link to the portal copy bring the portal along, as at submit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from publisher import checks, kinds
from publisher.errors import IdempotencyConflict, InputError, LimitViolationError, StateError
from publisher.lifecycle.content import (
    follows_mapping,
    lift_notice,
    warning_changes,
    withdraw_notice,
)
from publisher.notice import NoticeInput, check_timing, notice_fingerprint
from publisher.queue.intake import ROUTINE_PRIORITY, URGENT_PRIORITY, Intake, Submitted
from publisher.registry import Account
from publisher.states import Status
from publisher.store import Store, reasons
from publisher.store.lifecycle import LIFTS, UPDATES, VERBS, WITHDRAWS, FollowedAlready, FollowLink
from publisher.store.records import NewDelivery, NoticeRecord, new_key

REACHED = frozenset(
    {Status.POSTED, Status.LEASED, Status.SENDING, Status.CONFIRMING, Status.NEEDS_REVIEW}
)
NOT_STARTED = frozenset({Status.PENDING, Status.RETRY_WAIT})
REASON_MAX = 500


def _reason(reason: str | None, *, required: bool) -> str | None:
    text = (reason or "").strip()
    if required and not text:
        raise InputError("撤回必须说明原因 (--reason 或 reason)")
    if len(text) > REASON_MAX:
        raise InputError(f"原因过长：{len(text)} 字，最多 {REASON_MAX} 字")
    return text or None


class Lifecycle:
    """Follow-ups of published notices, on top of :class:`publisher.queue.intake.Intake`."""

    def __init__(self, intake: Intake) -> None:
        if intake.store is None:
            raise RuntimeError("follow-ups need a store")
        self.intake = intake
        self.store: Store = intake.store  # type: ignore[assignment]
        self.zone: ZoneInfo = intake.settings.zone

    def _at(self, link: FollowLink) -> str:
        return link.at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def _refuse_followed(self, notice_id: int, link: FollowLink, relation: str) -> StateError:
        verb = VERBS[relation]
        if link.relation == UPDATES:
            return StateError(
                f"通知 #{notice_id} 已于 {self._at(link)} 被通知 #{link.notice_id} 更新，"
                f"请对最新的通知{verb}"
            )
        return StateError(
            f"通知 #{notice_id} 已于 {self._at(link)} {VERBS[link.relation]} "
            f"(通知 #{link.notice_id})，不能再{verb}"
        )

    async def _original(self, notice_id: int, relation: str) -> NoticeRecord:
        """The notice to follow, once nothing forbids it (one line saying why otherwise)."""
        original = await self.store.get_notice(notice_id)  # NotFoundError: 404
        if original.relation in (LIFTS, WITHDRAWS):
            raise StateError(
                f"通知 #{notice_id} 是对通知 #{original.follows_id} 的"
                f"{VERBS[original.relation]}，不能再{VERBS[relation]}"
            )
        links = await self.store.notice_links(notice_id)
        if links.followed_by is not None:
            raise self._refuse_followed(notice_id, links.followed_by, relation)
        if relation == LIFTS and original.kind != kinds.Kind.WEATHER_WARNING:
            raise InputError(
                f"只有预警可以解除：通知 #{notice_id} 是{kinds.label(original.kind)}"
                "；要收回它请用撤回 (withdraw)"
            )
        return original

    async def _replayed(self, key: str | None, fingerprint: str | None) -> Submitted | None:
        """The follow-up already stored under ``key``; with ``fingerprint``, its content must
        be the same (IdempotencyConflict otherwise)."""
        if key is None:
            return None
        existing = await self.store.notice_by_key(key)
        if existing is None:
            return None
        if fingerprint is not None:
            record = await self.store.get_notice(existing)
            if record.fingerprint != fingerprint:
                raise IdempotencyConflict(reasons.idempotency_conflict(key, existing))
        return Submitted(existing, False)

    async def update(
        self, notice_id: int, notice: NoticeInput, *, source: str, actor: str
    ) -> Submitted:
        """The original ``notice_id`` is superseded by ``notice`` (same kind)."""
        replay = await self._replayed(notice.idempotency_key, notice_fingerprint(notice))
        if replay is not None:
            return replay
        original = await self._original(notice_id, UPDATES)
        if notice.kind != original.kind:
            raise InputError(
                f"更新应与原通知类型相同：通知 #{notice_id} 是{kinds.label(original.kind)}，"
                f"更新是{kinds.label(notice.kind)}"
            )
        changes = None
        if original.kind == kinds.Kind.WEATHER_WARNING:
            after = notice.model_dump(mode="json")["fields"]
            changes = warning_changes(original.fields, after, self.zone)
        follows = follows_mapping(
            UPDATES, original, self.intake.settings.public_base_url, changes=changes
        )
        return await self._follow(UPDATES, original, notice, follows, source, actor)

    async def lift(
        self,
        notice_id: int,
        reason: str | None,
        *,
        source: str,
        actor: str,
        key: str | None = None,
        accounts: Collection[str] | None = None,
        cap: Mapping[str, Any] | None = None,
    ) -> Submitted:
        """Lift (解除) the warning ``notice_id``. ``key``: the same key again returns the
        same lift; ``accounts``: only these of the original's accounts (expiry lifts);
        ``cap``: the CAP Cancel message it came from (kept as ``fields.cap``)."""
        replay = await self._replayed(key, None)
        if replay is not None:
            return replay
        why = _reason(reason, required=False)
        original = await self._original(notice_id, LIFTS)
        now = self.intake.clock.now()
        notice = lift_notice(original, why, now, self.zone, cap)
        if key is not None:
            notice = notice.model_copy(update={"idempotency_key": key})
        follows = follows_mapping(LIFTS, original, self.intake.settings.public_base_url, why)
        return await self._follow(LIFTS, original, notice, follows, source, actor, accounts)

    async def withdraw(
        self, notice_id: int, reason: str | None, *, source: str, actor: str
    ) -> Submitted:
        """Withdraw (撤回) the notice ``notice_id``, of any kind; ``reason`` is required."""
        original = await self._original(notice_id, WITHDRAWS)  # 404 / 409 first
        why = _reason(reason, required=True)
        assert why is not None
        now = self.intake.clock.now()
        notice = withdraw_notice(original, why, now, self.zone)
        follows = follows_mapping(WITHDRAWS, original, self.intake.settings.public_base_url, why)
        return await self._follow(WITHDRAWS, original, notice, follows, source, actor)

    def _targets(
        self,
        relation: str,
        original: NoticeRecord,
        notice: NoticeInput,
        only: Collection[str] | None,
    ) -> list[Account]:
        wanted = REACHED | NOT_STARTED if relation == UPDATES else REACHED
        names = [
            d.account
            for d in original.deliveries
            if d.status in wanted and d.account in self.intake.channels
        ]
        if only is not None:
            names = [n for n in names if n in only]
        names = list(dict.fromkeys(names))
        if not names:
            if relation != UPDATES or only is not None:
                return []
            return self.intake.targets(notice)
        return self.intake.targets(notice.model_copy(update={"channels": names}))

    async def _follow(
        self,
        relation: str,
        original: NoticeRecord,
        notice: NoticeInput,
        follows: dict[str, object],
        source: str,
        actor: str,
        only: Collection[str] | None = None,
    ) -> Submitted:
        intake = self.intake
        if original.drill and not notice.drill:  # a drill's follow-ups are drills too
            notice = notice.model_copy(update={"drill": True})
        check_timing(notice, intake.clock.now())
        (await checks.check_notice(notice, intake.settings, with_pii=False)).raise_for_errors()
        notice = intake.guard_pii(notice)
        targets = self._targets(relation, original, notice, only)
        previews = [intake.preview(notice, account, follows) for account in targets]
        problems = [v for p in previews for v in p.violations]
        if problems:
            raise LimitViolationError(problems)
        now = intake.clock.now()
        not_before = max(now, notice.publish_at) if notice.publish_at else now
        urgent = notice.is_urgent or original.urgent
        new: Sequence[NewDelivery] = [
            NewDelivery(
                account=p.account,
                channel=p.channel,
                priority=URGENT_PRIORITY if urgent else ROUTINE_PRIORITY,
                not_before=not_before,
                max_attempts=intake.channels.get(p.account).capabilities.max_attempts,
                idempotency_key=new_key(),
                rendered={"format": p.rendered.format.value, "parts": dict(p.rendered.parts)},
            )
            for p in previews
        ]
        try:
            done = await self.store.follow_up(
                original_id=original.id,
                relation=relation,
                notice=intake._row(notice),
                follows=follows,
                new_deliveries=new,
                source=source,
                actor=actor,
                cancel_waiting=True,
            )
        except FollowedAlready as exc:  # another follow-up won a race: say so in local time
            raise self._refuse_followed(original.id, exc.link, relation) from None
        if intake.claimer is not None and done.created:
            intake.claimer.wake()
        return Submitted(done.notice_id, done.created)
