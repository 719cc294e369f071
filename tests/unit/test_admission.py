"""Admission rules (concurrency, sliding rate window, breaker) without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from publisher.contract import RateLimit
from publisher.queue.admission import (
    FULL_RETRY_SECONDS,
    AdmissionPolicy,
    admit,
    after_claim,
    after_failure,
    after_success,
)
from publisher.store.records import AccountLimits, AccountState, Admit, Breaker

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
T = NOW.timestamp()
FREE = AccountState("weibo")


def ago(seconds: float) -> float:
    return T - seconds


@pytest.mark.parametrize(
    ("busy", "want", "room", "wait"),
    [
        (0, 5, 3, None),  # at most three at once
        (2, 5, 1, None),  # two already in flight (any worker)
        (3, 5, 0, FULL_RETRY_SECONDS),  # every slot taken: look again shortly
        (0, 2, 2, None),  # never more than asked for
    ],
)
def test_concurrency_leaves_room_for_the_free_slots(
    busy: int, want: int, room: int, wait: float | None
) -> None:
    got = admit(AccountLimits(max_concurrency=3), FREE, busy, want, NOW)
    assert (got.room, got.wait) == (room, wait)


def test_rate_window_is_exact_and_sliding() -> None:
    limits = AccountLimits(max_concurrency=10, rate=RateLimit(2, 10.0))
    full = AccountState("weibo", recent=(ago(9), ago(1)))
    got = admit(limits, full, 0, 5, NOW)
    assert got.room == 0
    assert got.wait == pytest.approx(1.0)  # the older publish leaves the window in 1 s
    later = NOW + timedelta(seconds=1.5)
    assert admit(limits, full, 0, 5, later).room == 1
    assert admit(limits, full, 0, 5, NOW + timedelta(seconds=10)).room == 2


def test_publishes_older_than_the_window_do_not_count() -> None:
    limits = AccountLimits(max_concurrency=10, rate=RateLimit(3, 6.0))
    state = AccountState("weibo", recent=(ago(60), ago(7), ago(5)))
    got = admit(limits, state, 0, 5, NOW)
    assert got == Admit(2, None, (ago(5),))


def test_a_claim_adds_its_publishes_to_the_window() -> None:
    limits = AccountLimits(max_concurrency=10, rate=RateLimit(3, 6.0))
    state = AccountState("weibo", recent=(ago(60), ago(5)))
    admitted = admit(limits, state, 0, 5, NOW)
    after = after_claim(limits, state, admitted, 2, NOW)
    assert after is not None and after.recent == (ago(5), T, T)
    assert admit(limits, after, 0, 5, NOW).room == 0


def test_nothing_to_write_without_a_rate_or_an_open_breaker() -> None:
    limits = AccountLimits(max_concurrency=3)
    assert after_claim(limits, FREE, admit(limits, FREE, 0, 1, NOW), 1, NOW) is None


def test_an_open_breaker_holds_everything_until_its_cooldown_ends() -> None:
    limits = AccountLimits(max_concurrency=5)
    state = AccountState("weibo", Breaker.OPEN, NOW + timedelta(seconds=20), failures=3)
    got = admit(limits, state, 0, 5, NOW)
    assert (got.room, got.wait) == (0, 20.0)
    cooled = NOW + timedelta(seconds=20)
    probe = admit(limits, state, 0, 5, cooled)
    assert probe.room == 1  # one probe only
    after = after_claim(limits, state, probe, 1, cooled)
    assert after is not None and after.breaker == Breaker.HALF_OPEN


def test_half_open_waits_for_its_probe() -> None:
    state = AccountState("weibo", Breaker.HALF_OPEN, NOW - timedelta(seconds=1), failures=3)
    assert admit(AccountLimits(max_concurrency=5), state, 1, 5, NOW) == Admit(0)


def test_failures_open_the_breaker_at_the_threshold() -> None:
    state = FREE
    for _ in range(2):
        state, tripped = after_failure(state, 3, 60.0, NOW, "HTTP 503")
        assert not tripped and state.breaker == Breaker.CLOSED
    state, tripped = after_failure(state, 3, 60.0, NOW, "HTTP 503")
    assert tripped and state.breaker == Breaker.OPEN and state.failures == 3
    assert state.open_until == NOW + timedelta(seconds=60) and state.last_error == "HTTP 503"


def test_a_failed_probe_reopens_at_once_and_a_success_closes() -> None:
    probing = AccountState("weibo", Breaker.HALF_OPEN, NOW, failures=1)
    reopened, tripped = after_failure(probing, 5, 30.0, NOW, "timeout")
    assert tripped and reopened.open_until == NOW + timedelta(seconds=30)
    closed = after_success(reopened)
    assert (closed.breaker, closed.failures, closed.open_until) == (Breaker.CLOSED, 0, None)


def test_the_policy_applies_its_breaker_settings() -> None:
    policy = AdmissionPolicy(breaker_threshold=1, breaker_cooldown=5.0)
    state, tripped = policy.failed(FREE, NOW, "boom")
    assert tripped and state.open_until == NOW + timedelta(seconds=5)
    assert policy.admit(AccountLimits(2), state, 0, 2, NOW) == Admit(0, 5.0)
