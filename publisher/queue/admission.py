"""Admission: may a claim take another delivery for an account, and how many?

Three rules, decided per account inside the claim's transaction (so they hold across every
worker process) from the account's shared state row and its count of deliveries in flight:

* **Concurrency**: at most ``max_concurrency`` deliveries in flight (leased or sending under a
  live lease), counted over every worker.
* **Rate**: at most ``rate.count`` publishes in any ``rate.per_seconds`` window. The window is
  exact and sliding: the start times of recent publishes are kept, not a token bucket, so a
  burst right after a quiet spell never exceeds what the channel allows.
* **Breaker**: after ``threshold`` consecutive failures the account's breaker opens and
  nothing is sent for ``cooldown`` seconds; then one probe goes out (half-open) and its
  outcome closes the breaker (success) or opens it again (failure).

Pure functions over plain records: no database, no clock, no I/O. The store calls them
through :class:`AdmissionPolicy` (it satisfies :class:`publisher.store.base.Admission`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from publisher.store.records import AccountLimits, AccountState, Admit, Breaker

# Every slot is taken, maybe by other workers, whose finishes wake nobody here: look again
# shortly rather than at the next poll.
FULL_RETRY_SECONDS = 0.05


def admit(limits: AccountLimits, state: AccountState, busy: int, want: int, now: datetime) -> Admit:
    """How many of ``want`` due deliveries a claim may take for this account at ``now``.

    ``busy`` is the account's deliveries in flight (every worker). When nothing may be taken,
    ``wait`` says when asking again is worth it: when the breaker's cooldown ends, when the
    oldest publish leaves the rate window, or shortly when every slot is taken (None when only
    another delivery's outcome can free the account: a half-open probe in flight).
    """
    room = min(want, limits.max_concurrency - busy)
    if state.breaker in (Breaker.OPEN, Breaker.HALF_OPEN):
        if state.breaker == Breaker.OPEN and state.open_until and state.open_until > now:
            return Admit(0, (state.open_until - now).total_seconds())
        if busy:
            return Admit(0)  # half-open: wait for the probe's outcome
        room = min(room, 1)  # half-open (or cooled down): one probe
    stamp = now.timestamp()
    window: tuple[float, ...] = ()
    wait: float | None = None
    if limits.rate is not None:
        start = stamp - limits.rate.per_seconds
        window = tuple(sorted(t for t in state.recent if t > start))
        free = limits.rate.count - len(window)
        if free <= 0:
            wait = window[-limits.rate.count] + limits.rate.per_seconds - stamp
        room = min(room, free)
    if room <= 0:
        if busy >= limits.max_concurrency:
            wait = FULL_RETRY_SECONDS if wait is None else min(wait, FULL_RETRY_SECONDS)
        return Admit(0, wait, window)
    return Admit(room, None, window)


def after_claim(
    limits: AccountLimits, state: AccountState, admitted: Admit, publishes: int, now: datetime
) -> AccountState | None:
    """The account's state once a claim took work: ``publishes`` new sends enter the rate
    window, and a cooled-down breaker turns half-open (its probe is out). None when nothing
    needs writing."""
    if limits.rate is None and state.breaker != Breaker.OPEN:
        return None
    breaker = Breaker.HALF_OPEN if state.breaker == Breaker.OPEN else state.breaker
    return replace(state, recent=admitted.window + (now.timestamp(),) * publishes, breaker=breaker)


def after_failure(
    state: AccountState, threshold: int, cooldown: float, now: datetime, error: str | None
) -> tuple[AccountState, bool]:
    """The account's state after a failed attempt, and whether the breaker (re)opened: at
    ``threshold`` consecutive failures, or at once when the failure was the half-open probe."""
    failures = state.failures + 1
    trip = state.breaker == Breaker.HALF_OPEN or failures >= threshold
    if not trip:
        return replace(state, failures=failures, last_error=error), False
    opened = replace(
        state,
        failures=failures,
        last_error=error,
        breaker=Breaker.OPEN,
        open_until=now + timedelta(seconds=cooldown),
    )
    return opened, True


def after_success(state: AccountState) -> AccountState:
    """A success closes the breaker and forgets past failures."""
    return replace(state, failures=0, breaker=Breaker.CLOSED, open_until=None)


@dataclass(frozen=True)
class AdmissionPolicy:
    """The admission rules with this deployment's breaker settings, as the store asks them."""

    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0

    def admit(
        self, limits: AccountLimits, state: AccountState, busy: int, want: int, now: datetime
    ) -> Admit:
        return admit(limits, state, busy, want, now)

    def claimed(
        self,
        limits: AccountLimits,
        state: AccountState,
        admitted: Admit,
        publishes: int,
        now: datetime,
    ) -> AccountState | None:
        return after_claim(limits, state, admitted, publishes, now)

    def failed(
        self, state: AccountState, now: datetime, error: str | None
    ) -> tuple[AccountState, bool]:
        return after_failure(state, self.breaker_threshold, self.breaker_cooldown, now, error)
