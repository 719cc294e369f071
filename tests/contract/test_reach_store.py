"""The reach report's store side on every backend: each post's latest sample per metric (the
newest observation, not the last stored; at equal times the larger), summed per account; a
metric never sampled is absent; and the notices first published in a period."""

from __future__ import annotations

from datetime import timedelta

from helpers import submit

from publisher.contract import MetricSample
from publisher.queue.admission import AdmissionPolicy
from publisher.states import Status
from publisher.store import SqlStore
from publisher.store.records import AccountLimits, ClaimRequest, Outcome

POSTED = Outcome(to_status=Status.POSTED, action="posted", remote_id="r", success=True)


async def post_all(store: SqlStore, accounts: list[str]) -> dict[str, int]:
    """Claim and post every waiting delivery; returns delivery ids by account."""
    limits = {a: AccountLimits(max_concurrency=50) for a in accounts}
    got = await store.claim(ClaimRequest("w1", limits, 30.0, AdmissionPolicy(3, 60.0)), 50)
    out = {}
    for item in got[0]:
        assert await store.mark_sending(item.delivery, "w1")
        assert await store.finish(item.delivery, "w1", POSTED, AdmissionPolicy(3, 60.0))
        out[item.delivery.account] = item.delivery.id
    return out


async def test_latest_sample_per_metric_summed(store: SqlStore) -> None:
    clock: object = store.clock
    start = store.clock.now()
    first = await submit(store, ["portal", "weibo"])
    one = await post_all(store, ["portal", "weibo"])
    clock.current += timedelta(hours=1)  # type: ignore[attr-defined]
    second = await submit(store, ["portal", "weibo"])
    two = await post_all(store, ["portal", "weibo"])
    t1, t2, t3 = (start + timedelta(hours=h) for h in (2, 3, 4))

    def s(delivery: int, metric: str, value: int, at: object) -> MetricSample:
        return MetricSample(delivery, metric, value, at, "test")  # type: ignore[arg-type]

    await store.add_metric_samples(
        [s(one["portal"], "reads", 9, t2), s(one["portal"], "reads", 5, t1)]  # newest first
    )
    await store.add_metric_samples([s(one["portal"], "reads", 7, t1)])  # stored later, older
    await store.add_metric_samples(
        [s(two["portal"], "reads", 3, t3), s(two["portal"], "reads", 4, t3)]  # equal times
    )
    await store.add_metric_samples([s(two["weibo"], "likes", 0, t3)])
    groups = await store.reach_groups(start, start + timedelta(days=1), "channel")
    figures = {g.account: (g.posts, dict(g.figures)) for g in groups}
    assert figures == {
        "portal": (2, {"reads": (13, t2)}),  # 9 + 4, as of the older of the two
        "weibo": (2, {"likes": (0, t3)}),  # a real zero; no reads: absent
    }
    # a later sample moves the figure; an earlier one does not
    await store.add_metric_samples([s(one["portal"], "reads", 20, t3)])
    await store.add_metric_samples([s(one["portal"], "reads", 1, t1)])
    groups = await store.reach_groups(start, start + timedelta(days=1), "notice")
    found = {(g.key, g.account): dict(g.figures) for g in groups}
    assert found[(str(first), "portal")] == {"reads": (20, t3)}

    published = await store.published_notices(start, start + timedelta(days=1))
    assert [p.notice_id for p in published] == [first, second]
    assert [p.posts for p in published] == [2, 2]
    assert await store.published_notices(start + timedelta(minutes=30), t3) == published[1:]
