"""Intake: check, render and fan out a notice in one transaction, or reject it whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from publisher import checks, drills, pii
from publisher.contract import Clock, Rendered
from publisher.errors import LimitViolationError, PersonalDataFound, Violation
from publisher.notice import NoticeInput, check_timing, notice_fingerprint
from publisher.registry import Account, Channels
from publisher.render import Renderer
from publisher.review import intake as reviewed  # review chain
from publisher.review.steps import steps_for  # review chain
from publisher.settings import Settings
from publisher.store.base import NoticeStore
from publisher.store.records import Claimed, ClaimRequest, NewDelivery, new_key
from publisher.validate import fit

URGENT_PRIORITY = 100
ROUTINE_PRIORITY = 0
# Without an idempotency key, the same kind, title and body within this window is refused
# unless the notice says ``allow_duplicate`` (a resubmitted file posted twice everywhere).
DUPLICATE_WINDOW = timedelta(hours=24)


class Claimer(Protocol):
    """A worker in this process: it may take new deliveries at submit (the fast path)."""

    def claim_request(self, urgent: bool) -> ClaimRequest | None: ...

    def adopt(self, claimed: Sequence[Claimed]) -> None: ...

    def wake(self) -> None: ...


@dataclass(frozen=True)
class Preview:
    account: str
    channel: str
    rendered: Rendered
    violations: list[Violation]


@dataclass(frozen=True)
class Submitted:
    notice_id: int
    created: bool


class Intake:
    def __init__(
        self,
        settings: Settings,
        store: NoticeStore | None,
        channels: Channels,
        renderer: Renderer,
        clock: Clock,
        claimer: Claimer | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.channels = channels
        self.renderer = renderer
        self.clock = clock
        self.claimer = claimer

    def guard_pii(self, notice: NoticeInput) -> NoticeInput:
        """Refuse personal data with its locations, or mask it when the notice asks."""
        data = notice.model_dump(mode="python")
        masked, findings = pii.guard(data, frozenset(self.settings.pii_allow))
        if not findings:
            return notice
        if notice.pii != "mask":
            raise PersonalDataFound([f.describe() for f in findings])
        return NoticeInput.model_validate(masked)

    def targets(self, notice: NoticeInput) -> list[Account]:
        """The accounts a notice goes to: its own list or its kind's route, plus the copy.

        When a target links to the full copy (Weibo, WeChat, OA) and none hosts it, the
        first account that hosts copies (the portal) is added, so the link always works.
        """
        names = notice.channels or self.settings.accounts_for(notice.kind)
        chosen = [self.channels.get(name) for name in names]
        if notice.drill:  # drills (issue 11 C): only accounts that take drills
            chosen = drills.route(chosen, named=notice.channels is not None)
        caps = [a.capabilities for a in chosen]
        if any(c.links_to_copy for c in caps) and not any(c.hosts_copies for c in caps):
            hosts = (a for a in self.channels if a.capabilities.hosts_copies)
            host = next((a for a in hosts if not notice.drill or drills.takes_drills(a)), None)
            if host is not None:
                chosen.append(host)
        return chosen

    def preview(
        self, notice: NoticeInput, account: Account, follows: Mapping[str, Any] | None = None
    ) -> Preview:
        """Exactly what ``account`` would receive, with any rule it breaks. ``follows``: a
        follow-up's link to the notice it follows (``notice.follows`` in templates; None for
        an ordinary notice; see ``publisher.lifecycle``)."""
        caps = account.capabilities
        data = notice.model_dump(mode="python")
        data["urgent"] = notice.is_urgent
        data["follows"] = dict(follows) if follows is not None else None
        context = self.renderer.notice_context(
            data, {"name": account.name, **account.adapter.ctx.options.model_dump(mode="json")}
        )

        def render(use_summary: bool) -> Rendered:
            rendered = self.renderer.render(
                channel=account.type_name,
                kind=notice.kind,
                fmt=caps.formats[0],
                parts=caps.parts,
                context={**context, "use_summary": use_summary},
            )
            return drills.label(rendered) if notice.drill else rendered  # 【演练】

        rendered, problems = fit(account.name, render(False), caps, lambda: render(True))
        return Preview(account.name, account.type_name, rendered, problems)

    async def submit(self, notice: NoticeInput, *, source: str, actor: str) -> Submitted:
        # review chain: a reviewed kind is held until its last approval (publisher/review)
        steps = steps_for(self.settings.review_steps, notice.kind)
        if steps:
            return await reviewed.submit(self, notice, steps, source=source, actor=actor)
        check_timing(notice, self.clock.now())  # an expired warning, a past publish_at
        # content checks (names, words, links when on, attachments); warnings show in preview
        (await checks.check_notice(notice, self.settings, with_pii=False)).raise_for_errors()
        notice = self.guard_pii(notice)
        previews = [self.preview(notice, account) for account in self.targets(notice)]
        problems = [v for p in previews for v in p.violations]
        if problems:
            raise LimitViolationError(problems)
        now = self.clock.now()
        not_before = max(now, notice.publish_at) if notice.publish_at else now
        priority = URGENT_PRIORITY if notice.is_urgent else ROUTINE_PRIORITY
        new = [
            NewDelivery(
                account=p.account,
                channel=p.channel,
                priority=priority,
                not_before=not_before,
                max_attempts=self.channels.get(p.account).capabilities.max_attempts,
                idempotency_key=new_key(),
                rendered={"format": p.rendered.format.value, "parts": dict(p.rendered.parts)},
            )
            for p in previews
        ]
        claimer = self.claimer
        request = claimer.claim_request(notice.is_urgent) if claimer is not None else None
        if self.store is None:
            raise RuntimeError("this Intake only previews: it was built without a store")
        done = await self.store.submit(
            notice=self._row(notice),
            new_deliveries=new,
            source=source,
            actor=actor,
            claim=request,
            duplicate_window=None if notice.allow_duplicate else DUPLICATE_WINDOW,
        )
        if claimer is not None:
            claimer.adopt(done.claimed)
            if done.created and len(done.claimed) < len(new):
                claimer.wake()
        return Submitted(done.notice_id, done.created)

    @staticmethod
    def _row(notice: NoticeInput) -> dict[str, Any]:
        return {
            "kind": notice.kind,
            "title": notice.title,
            "body": notice.body,
            "summary": notice.summary,
            "table_data": notice.table.model_dump(mode="json") if notice.table else None,
            "fields": notice.model_dump(mode="json")["fields"],
            "urgent": notice.is_urgent,
            "publish_at": notice.publish_at,
            "idempotency_key": notice.idempotency_key,
            "fingerprint": notice_fingerprint(notice),
            "drill": notice.drill,
        }
