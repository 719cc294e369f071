"""How Intake stores a notice whose kind is reviewed: checked and rendered like any other,
then held (no delivery) until its last approval, or released at once on the fast path."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from publisher import checks
from publisher.auth.roles import RESERVED_NAMES
from publisher.errors import LimitViolationError, NotFoundError
from publisher.notice import NoticeInput, check_timing
from publisher.review.steps import Step, fast_path
from publisher.store.records import NewDelivery

if TYPE_CHECKING:
    from publisher.queue.intake import Intake, Submitted
    from publisher.store import Store


async def roles_of(store: Store, name: str) -> frozenset[str]:
    """The roles of an enabled user; none for ``operator``, ``service`` and unknown names."""
    if name in RESERVED_NAMES:
        return frozenset()
    try:
        user = await store.get_user(name)
    except NotFoundError:
        return frozenset()
    return frozenset() if user.disabled else user.roles


async def prepare(
    intake: Intake, notice: NoticeInput
) -> tuple[NoticeInput, list[NewDelivery], list[str]]:
    """What Intake.submit checks and renders, without storing: the notice (PII masked when
    asked), its deliveries, and the content checks' warnings."""
    from publisher.queue.intake import ROUTINE_PRIORITY, URGENT_PRIORITY
    from publisher.store.records import new_key

    now = intake.clock.now()
    check_timing(notice, now)
    report = await checks.check_notice(notice, intake.settings, with_pii=False)
    report.raise_for_errors()
    notice = intake.guard_pii(notice)
    previews = [intake.preview(notice, account) for account in intake.targets(notice)]
    problems = [v for p in previews for v in p.violations]
    if problems:
        raise LimitViolationError(problems)
    priority = URGENT_PRIORITY if notice.is_urgent else ROUTINE_PRIORITY
    new = [
        NewDelivery(
            account=p.account,
            channel=p.channel,
            priority=priority,
            not_before=now,  # the store sets it at release: not before publish_at
            max_attempts=intake.channels.get(p.account).capabilities.max_attempts,
            idempotency_key=new_key(),
            rendered={"format": p.rendered.format.value, "parts": dict(p.rendered.parts)},
        )
        for p in previews
    ]
    return notice, new, [w.describe() for w in report.warnings]


async def submit(
    intake: Intake, notice: NoticeInput, steps: list[Step], *, source: str, actor: str
) -> Submitted:
    """Store ``notice`` under review (``awaiting_review``) and tell the first step's people;
    a duty officer's orange or red warning goes out at once and is reviewed after."""
    from publisher.queue.intake import DUPLICATE_WINDOW, Submitted
    from publisher.review.desk import Desk

    if intake.store is None:
        raise RuntimeError("this Intake only previews: it was built without a store")
    store = cast("Store", intake.store)
    checked, new, warnings = await prepare(intake, notice)
    now_out = fast_path(
        checked.kind, checked.model_dump(mode="json")["fields"], await roles_of(store, actor)
    )
    done = await store.submit_for_review(
        notice=intake._row(checked),
        held=new,
        source=source,
        actor=actor,
        steps=[s.as_json() for s in steps],
        release_now=now_out,
        duplicate_window=None if checked.allow_duplicate else DUPLICATE_WINDOW,
        warnings=warnings,
    )
    if done.created:
        if now_out and intake.claimer is not None:
            intake.claimer.wake()
        desk = Desk(store, intake.settings, intake.channels)
        review = await store.review_of(done.notice_id)
        if review is not None:
            await desk.tell_next(review, actor=actor, source=source)
    return Submitted(done.notice_id, done.created)
