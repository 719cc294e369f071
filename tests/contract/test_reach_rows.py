"""The lean by-notice reach rows (issue 14's 400,000-row report) say what ``reach_groups`` says
by notice, on every backend: each post's latest sample per metric, summed per notice and
account, as of the oldest of those samples; no figure (None, None) where no post has one; two
posts of one notice on one account counted and summed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import submit
from test_reach_store import post_all

from publisher.contract import MetricSample
from publisher.reach.report import METRICS, utc
from publisher.store import SqlStore
from publisher.store.schema import deliveries


async def test_notice_rows_match_the_grouped_report(store: SqlStore) -> None:
    clock: object = store.clock
    start = store.clock.now()
    first = await submit(store, ["portal", "weibo"])
    one = await post_all(store, ["portal", "weibo"])
    clock.current += timedelta(hours=1)  # type: ignore[attr-defined]
    second = await submit(store, ["portal", "weibo"])
    two = await post_all(store, ["portal", "weibo"])
    third = await submit(store, ["portal"])
    three = await post_all(store, ["portal"])
    t1, t2, t3 = (start + timedelta(hours=h) for h in (2, 3, 4))

    def s(delivery: int, metric: str, value: int, at: datetime) -> MetricSample:
        return MetricSample(delivery, metric, value, at, "test")

    await store.add_metric_samples(
        [
            s(one["portal"], "reads", 9, t2),
            s(one["portal"], "reads", 5, t1),
            s(one["weibo"], "likes", 0, t3),  # a real zero
            s(one["weibo"], "reposts", 2, t1),
            s(two["portal"], "reads", 4, t3),
            s(three["portal"], "reads", 6, t1),
            s(three["portal"], "views", 8, t3),
        ]
    )
    # the third notice's portal post becomes a second post of the first notice on the portal
    await store._tx(
        lambda c: c.execute(
            deliveries.update().where(deliveries.c.id == three["portal"]).values(notice_id=first)
        )
    )
    end = start + timedelta(days=1)
    rows = await store.reach_notice_rows(start, end, METRICS)
    got = {
        (r[0], r[1]): (
            r[3],
            {m: (v, utc(t)) for m, v, t in zip(METRICS, r[6], r[7], strict=True) if v is not None},
        )
        for r in rows
    }
    assert got == {
        (str(first), "portal"): (2, {"reads": (15, t1), "views": (8, t3)}),  # 9 + 6
        (str(first), "weibo"): (1, {"likes": (0, t3), "reposts": (2, t1)}),
        (str(second), "portal"): (1, {"reads": (4, t3)}),
        (str(second), "weibo"): (1, {}),  # posted, no figure yet: nothing, not 0
    }
    for r in rows:  # no figure is (None, None); the rest carry their time
        assert all((v is None) == (t is None) for v, t in zip(r[6], r[7], strict=True))
        assert isinstance(r[0], str) and r[4] and r[5]  # title, kind
    grouped = await store.reach_groups(start, end, "notice")
    assert got == {
        (g.key, g.account): (
            g.posts,
            {m: (v, t.astimezone(UTC)) for m, (v, t) in g.figures.items()},
        )
        for g in grouped
    }
    assert third not in {int(r[0]) for r in rows}
    assert await store.reach_notice_rows(end, end + timedelta(days=1), METRICS) == []
