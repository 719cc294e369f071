"""Reading each account's breaker back (the console's 渠道状态 page), on both backends."""

from __future__ import annotations

from datetime import timedelta

from helpers import submit

from publisher.queue.admission import AdmissionPolicy
from publisher.states import Status
from publisher.store import SqlStore
from publisher.store.records import AccountLimits, ClaimRequest, Outcome

OPEN = AccountLimits(max_concurrency=50)
BREAKER = AdmissionPolicy(3, 60.0)


def failed(store: SqlStore) -> Outcome:
    why = "HTTP 503 from channel.example"
    return Outcome(
        to_status=Status.RETRY_WAIT,
        action="retry",
        reason=why,
        error=why,
        not_before=store.clock.now(),
        failure=True,
    )


async def test_account_states_show_an_open_breaker_and_its_last_error(store: SqlStore) -> None:
    assert await store.account_states() == []  # nothing sent yet: no rows, all closed
    for _ in range(3):
        await submit(store, ["oa"])
    await submit(store, ["portal"])
    got, _ = await store.claim(ClaimRequest("w1", {"oa": OPEN, "portal": OPEN}, 30.0, BREAKER), 50)
    for item in got:
        assert await store.mark_sending(item.delivery, "w1")
        outcome = failed(store) if item.delivery.account == "oa" else None
        if outcome is not None:
            assert await store.finish(item.delivery, "w1", outcome, BREAKER)
    states = {s.account: s for s in await store.account_states()}
    assert states["oa"].breaker == "open" and states["oa"].failures == 3
    assert states["oa"].last_error == "HTTP 503 from channel.example"
    assert states["oa"].open_until == store.clock.now() + timedelta(seconds=60)
    assert states.get("portal") is None or states["portal"].breaker == "closed"
