"""The lean by-notice reach rows (issue 14's 400,000-row report) say what ``reach_groups`` says
by notice, on every backend: each post's latest sample per metric, summed per notice and
account, as of the oldest of those samples; no figure (None, None) where no post has one; two
posts of one notice on one account counted and summed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from helpers import submit
from sqlalchemy import text
from sqlalchemy.engine import Connection
from test_reach_store import post_all

from publisher.contract import MetricSample
from publisher.reach.report import METRICS, Row, utc
from publisher.store import SqlStore, upgrade
from publisher.store.migrate import alembic_config
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
    rows = await store.reach_notice_rows(start, end)
    rows = [Row._make(r) for r in rows]  # the report's layout
    got = {
        (r.key, r.account): (
            r.posts,
            {
                m: (v, utc(t))
                for m, v, t in zip(METRICS, r.values, r.times, strict=True)
                if v is not None
            },
        )
        for r in rows
    }
    assert got == {
        (str(first), "portal"): (2, {"reads": (15, t1), "views": (8, t3)}),  # 9 + 6
        (str(first), "weibo"): (1, {"likes": (0, t3), "reposts": (2, t1)}),
        (str(second), "portal"): (1, {"reads": (4, t3)}),
        (str(second), "weibo"): (1, {}),  # posted, no figure yet: nothing, not 0
    }
    keys = [(r.notice_id, r.account) for r in rows]  # by notice id, then account
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for r in rows:  # no figure is (None, None); the rest carry their time
        assert all((v is None) == (t is None) for v, t in zip(r.values, r.times, strict=True))
        assert r.key == str(r.notice_id) and r.title and r.kind
    grouped = await store.reach_groups(start, end, "notice")
    assert got == {
        (g.key, g.account): (
            g.posts,
            {m: (v, t.astimezone(UTC)) for m, (v, t) in g.figures.items()},
        )
        for g in grouped
    }
    assert third not in {r.notice_id for r in rows}
    assert await store.reach_notice_rows(end, end + timedelta(days=1)) == []


async def test_each_metric_of_a_post_keeps_its_own_newest_figure(store: SqlStore) -> None:
    """Samples of one post arrive metric by metric, out of order, across transactions: each
    metric keeps its own newest figure (at equal times the larger), whatever came before."""
    start = store.clock.now()
    await submit(store, ["weibo"])
    post = (await post_all(store, ["weibo"]))["weibo"]
    t1, t2, t3 = (start + timedelta(hours=h) for h in (1, 2, 3))

    def s(metric: str, value: int, at: datetime) -> MetricSample:
        return MetricSample(post, metric, value, at, "test")

    await store.add_metric_samples([s("likes", 5, t2)])
    await store.add_metric_samples([s("reposts", 1, t1), s("likes", 3, t1)])  # older likes
    await store.add_metric_samples([s("comments", 2, t3), s("reposts", 4, t3)])
    await store.add_metric_samples([s("comments", 3, t3), s("comments", 1, t3)])  # equal times
    await store.add_metric_samples([s("favourites", 9, t3)])  # not a report metric
    rows = await store.reach_notice_rows(start, start + timedelta(days=1))
    (row,) = [Row._make(r) for r in rows]
    got = {
        m: (v, utc(t))
        for m, v, t in zip(METRICS, row.values, row.times, strict=True)
        if v is not None
    }
    assert got == {"likes": (5, t2), "reposts": (4, t3), "comments": (3, t3)}
    assert (await store.latest_metrics([post]))[post]["favourites"] == 9  # the sample is kept


async def test_migration_0018_carries_the_latest_figures_both_ways(store: SqlStore) -> None:
    """0018 turns metric_latest (a row per post and metric) into post_reach (a row per post)
    and back on downgrade, figures and times unchanged."""
    start = store.clock.now()
    await submit(store, ["portal", "weibo"])
    posts = await post_all(store, ["portal", "weibo"])
    t1, t2 = start + timedelta(hours=1), start + timedelta(hours=2)
    await store.add_metric_samples(
        [
            MetricSample(posts["portal"], "reads", 7, t1, "test"),
            MetricSample(posts["weibo"], "likes", 0, t1, "test"),
            MetricSample(posts["weibo"], "reposts", 3, t2, "test"),
        ]
    )
    end = start + timedelta(days=1)
    before = await store.reach_notice_rows(start, end)

    def latest(conn: Connection) -> set[tuple[object, ...]]:
        query = text("SELECT delivery_id, metric, value, observed_at FROM metric_latest")
        return {(r[0], r[1], r[2], utc(r[3])) for r in conn.execute(query)}

    await store._tx(lambda conn: command.downgrade(alembic_config(conn), "0017"))
    assert await store._read(latest) == {
        (posts["portal"], "reads", 7, t1),
        (posts["weibo"], "likes", 0, t1),
        (posts["weibo"], "reposts", 3, t2),
    }
    assert await upgrade(store) == ["0018"]
    assert await store.reach_notice_rows(start, end) == before
