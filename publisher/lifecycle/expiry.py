"""Lift posts at expiry: at a warning's ``valid_until``, a lift (解除) follow-up to the
accounts that ask for one (``lift_at_expiry = true``), once.

A scheduled job of ``publisher serve`` (every :data:`INTERVAL` seconds, one runner per fire
across processes). Each warning is lifted at most once: the lift's idempotency key is
``lift-at-expiry:<notice id>``, and a warning already updated, lifted or withdrawn has a
follow-up and is skipped. The portal marks an expired warning 已过期 by itself (read time),
with or without this job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from publisher import kinds
from publisher.errors import InputError, StateError
from publisher.lifecycle.service import REACHED, Lifecycle
from publisher.registry import Account
from publisher.scheduler import Scheduler
from publisher.store.portal import parse_time

log = logging.getLogger("publisher.lifecycle")

JOB = "lift_at_expiry"
INTERVAL = 60.0
LOOKBACK = timedelta(days=31)  # warnings made longer ago than this are not looked at
REASON = "预警有效期已到，自动解除"
ACTOR = "scheduler"


def lifting_accounts(accounts: Iterable[Account]) -> set[str]:
    return {a.name for a in accounts if getattr(a.adapter.ctx.options, "lift_at_expiry", False)}


async def lift_expired(lifecycle: Lifecycle, now: datetime) -> list[int]:
    """Lift every warning past its ``valid_until`` on the accounts asking for it; the ids of
    the lifts made now."""
    wanted = lifting_accounts(lifecycle.intake.channels)
    if not wanted:
        return []
    zone = lifecycle.zone
    made = []
    for warning in await lifecycle.store.open_warnings(kinds.Kind.WEATHER_WARNING, now - LOOKBACK):
        until = parse_time(warning.fields.get("valid_until"), zone)
        if until is None or until > now:
            continue
        posted = {d.account for d in warning.deliveries if d.status in REACHED} & wanted
        if not posted:
            continue
        try:
            done = await lifecycle.lift(
                warning.id,
                REASON,
                source="expiry",
                actor=ACTOR,
                key=f"lift-at-expiry:{warning.id}",
                accounts=posted,
            )
        except (StateError, InputError) as exc:  # followed meanwhile, or refused: say why
            log.warning("expiry lift of notice #%s not made: %s", warning.id, exc)
            continue
        if done.created:
            made.append(done.notice_id)
    return made


def schedule(scheduler: Scheduler, lifecycle: Lifecycle) -> None:
    """Register the job when any account asks for lift posts at expiry."""
    if not lifting_accounts(lifecycle.intake.channels):
        return

    async def run() -> None:
        await lift_expired(lifecycle, lifecycle.intake.clock.now())

    scheduler.every(JOB, INTERVAL, run)
