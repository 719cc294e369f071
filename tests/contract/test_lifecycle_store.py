"""Follow-ups in the store (``publisher/store/lifecycle.py``), over SQLite and PostgreSQL:
linked both ways, at most one per notice even when two race, cancelling what of the original
has not started, a withdrawal's claim carrying the original's post, and the portal's reads
(a withdrawn notice leaves every list and shows no content; a withdrawal has no page)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from helpers import delivery as fake_delivery
from helpers import notice_row, submit
from sqlalchemy import select

from publisher.errors import NotFoundError, StateError
from publisher.queue.admission import AdmissionPolicy
from publisher.states import Status
from publisher.store import SqlStore
from publisher.store.lifecycle import FollowedAlready
from publisher.store.records import AccountLimits, ClaimRequest, Outcome, Submission
from publisher.store.schema import events

OPEN = AccountLimits(max_concurrency=50)
POLICY = AdmissionPolicy(3, 60.0)


def delivery(account: str, now: Any) -> Any:
    """A delivery to ``account``; the account named ``portal`` is of channel type portal."""
    made = fake_delivery(account, now)
    return dataclasses.replace(made, channel="portal") if account == "portal" else made


async def portal_notice(store: SqlStore, title: str) -> int:
    made = await store.submit(
        notice=notice_row(title),
        new_deliveries=[delivery("portal", store.clock.now())],
        source="test",
        actor="tester",
    )
    return made.notice_id


def follows(original: int, relation: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "relation": relation,
        "notice_id": original,
        "title": "原通知",
        "reason": reason,
        "changes": None,
        "posted_at": None,
        "url": f"http://127.0.0.1/portal/notices/{original}",
    }


async def follow(
    store: SqlStore,
    original: int,
    relation: str,
    accounts: Sequence[str] = ("portal",),
    *,
    key: str | None = None,
    reason: str | None = None,
    title: str | None = None,
) -> Submission:
    now = store.clock.now()
    return await store.follow_up(
        original_id=original,
        relation=relation,
        notice=notice_row(title or f"{relation} of {original}", idempotency_key=key),
        follows=follows(original, relation, reason),
        new_deliveries=[delivery(a, now) for a in accounts],
        source="test",
        actor="tester",
        cancel_waiting=True,
    )


async def post_all(store: SqlStore, accounts: Sequence[str]) -> list[Any]:
    """Claim every due delivery of ``accounts`` and record it posted; the claims."""
    limits = dict.fromkeys(accounts, OPEN)
    got, _ = await store.claim(ClaimRequest("w1", limits, 30.0, POLICY), 50)
    for c in got:
        if not c.marked:
            assert await store.mark_sending(c.delivery, "w1")
        outcome = Outcome(
            to_status=Status.POSTED,
            action="posted",
            remote_id=f"r{c.delivery.id}",
            url=f"https://channel.example/{c.delivery.id}",
            success=True,
        )
        assert await store.finish(c.delivery, "w1", outcome, POLICY)
    return got


async def test_a_follow_up_is_linked_both_ways_and_carries_its_mapping(store: SqlStore) -> None:
    original = await submit(store, ["portal", "weibo"])
    await post_all(store, ["portal", "weibo"])
    done = await follow(store, original, "updates", ["portal", "weibo"])
    assert done.created
    record = await store.get_notice(done.notice_id)
    assert (record.follows_id, record.relation) == (original, "updates")
    assert record.view().follows == follows(original, "updates")
    links = await store.notice_links(original)
    assert links.follows is None and links.followed_by is not None
    assert (links.followed_by.notice_id, links.followed_by.relation) == (done.notice_id, "updates")
    back = await store.notice_links(done.notice_id)
    assert back.follows is not None and back.follows.notice_id == original
    assert back.followed_by is None
    assert await store.current_version(original) == done.notice_id
    # the original's event log says it was followed (the portal's page version changes)
    shown = await store.get_notice(original)
    assert any(
        e.action == "updates" and f"#{done.notice_id}" in (e.reason or "") for e in shown.events
    )


async def test_a_second_follow_up_is_refused_and_nothing_is_written(store: SqlStore) -> None:
    original = await submit(store, ["portal"])
    lifted = await follow(store, original, "lifts", reason="雨停")
    with pytest.raises(FollowedAlready) as refused:
        await follow(store, original, "withdraws", reason="错发")
    assert refused.value.link.notice_id == lifted.notice_id
    assert refused.value.link.relation == "lifts"
    # a lift or withdrawal is final: it cannot be followed itself
    with pytest.raises(StateError, match="解除"):
        await follow(store, lifted.notice_id, "updates")
    with pytest.raises(NotFoundError):
        await follow(store, 999_999, "lifts")
    assert len(await store.list_deliveries()) == 2  # the original's and the lift's


async def test_two_racing_follow_ups_make_exactly_one(store: SqlStore) -> None:
    original = await submit(store, ["portal"])
    results = await asyncio.gather(
        *(follow(store, original, "lifts", title=f"解除 {i}") for i in range(6)),
        return_exceptions=True,
    )
    made = [r for r in results if isinstance(r, Submission)]
    refused = [r for r in results if isinstance(r, FollowedAlready)]
    assert len(made) == 1 and len(refused) == 5, results
    links = await store.notice_links(original)
    assert links.followed_by is not None and links.followed_by.notice_id == made[0].notice_id


async def test_the_same_key_returns_the_same_follow_up(store: SqlStore) -> None:
    original = await submit(store, ["portal"])
    first = await follow(store, original, "updates", key="cap:s:u_2")
    again = await follow(store, original, "updates", key="cap:s:u_2")
    assert again == Submission(first.notice_id, False)
    assert await store.notice_by_key("cap:s:u_2") == first.notice_id
    assert await store.notice_by_key("cap:s:nothing") is None


async def test_what_of_the_original_has_not_started_is_cancelled(store: SqlStore) -> None:
    original = await submit(store, ["portal", "weibo", "oa"])
    await post_all(store, ["portal"])  # weibo and oa still pending
    await follow(store, original, "withdraws", ["portal"], reason="错发")
    statuses = {d.account: d.status for d in (await store.get_notice(original)).deliveries}
    assert statuses == {"portal": "posted", "weibo": "cancelled", "oa": "cancelled"}

    def cancelled(conn: Any) -> list[Any]:
        return conn.execute(
            select(events.c.reason).where(
                events.c.notice_id == original, events.c.action == "cancelled"
            )
        ).all()

    assert len(await store._read(cancelled)) == 2


async def test_a_claimed_withdrawal_carries_the_original_post(store: SqlStore) -> None:
    original = await submit(store, ["weibo", "oa"])
    await post_all(store, ["weibo"])
    withdrawal = await follow(store, original, "withdraws", ["weibo", "oa"], reason="错发")
    limits = {"weibo": OPEN, "oa": OPEN}
    got, _ = await store.claim(ClaimRequest("w2", limits, 30.0, POLICY), 50)
    by_account = {
        c.delivery.account: c for c in got if c.delivery.notice_id == withdrawal.notice_id
    }
    weibo = by_account["weibo"].outgoing()
    assert weibo.notice.follows is not None and weibo.notice.follows["relation"] == "withdraws"
    assert weibo.recall is not None and weibo.recall.remote_id is not None
    original_weibo = next(
        d for d in (await store.get_notice(original)).deliveries if d.account == "weibo"
    )
    assert weibo.recall.delivery_id == original_weibo.id
    assert by_account["oa"].outgoing().recall is None  # the original never reached OA


async def test_open_warnings_are_those_nothing_follows(store: SqlStore) -> None:
    now = store.clock.now()
    ids = []
    for title in ("甲", "乙", "丙"):
        made = await store.submit(
            notice=notice_row(title, kind="weather_warning"),
            new_deliveries=[delivery("portal", now)],
            source="test",
            actor="tester",
        )
        ids.append(made.notice_id)
    update = await follow(store, ids[0], "updates")
    await follow(store, ids[1], "lifts")
    found = [n.id for n in await store.open_warnings("weather_warning", now - timedelta(days=1))]
    assert found == [ids[2]]  # the update is kind general here (notice_row's default)
    assert update.notice_id not in found


async def test_the_portal_drops_a_withdrawn_notice_and_its_withdrawal(store: SqlStore) -> None:
    kept = await portal_notice(store, "保留")
    gone = await portal_notice(store, "撤回的")
    await post_all(store, ["portal"])
    store.clock.advance(5)  # type: ignore[attr-defined]
    withdrawal = await follow(store, gone, "withdraws", ["portal"], reason="内容有误")
    await post_all(store, ["portal"])
    listed = [n.id for n in await store.portal_notices()]
    assert listed == [kept]
    assert await store.portal_count() == 1
    page = await store.portal_page(limit=10)
    assert [n.id for n in page.items] == [kept]
    shown = await store.portal_notice(gone)
    assert shown is not None and shown.withdrawn and shown.body == "" and shown.body_html == ""
    assert shown.followed_by is not None and shown.followed_by["reason"] == "内容有误"
    assert shown.withdrawn_at == (await store.get_notice(withdrawal.notice_id)).created_at
    assert await store.portal_notice(withdrawal.notice_id) is None
    assert await store.portal_withdrawal_of(withdrawal.notice_id) == gone
    assert await store.portal_withdrawal_of(kept) is None


async def test_the_portal_reads_updated_and_lifted_states(store: SqlStore) -> None:
    updated = await portal_notice(store, "旧")
    lifted = await portal_notice(store, "将解除")
    await post_all(store, ["portal"])
    newer = await follow(store, updated, "updates", ["portal"])
    lift = await follow(store, lifted, "lifts", ["portal"])
    await post_all(store, ["portal"])
    old = await store.portal_notice(updated)
    assert old is not None and old.superseded and old.followed_by is not None
    assert old.followed_by["notice_id"] == newer.notice_id
    was = await store.portal_notice(lifted)
    assert was is not None and was.lifted
    new = await store.portal_notice(newer.notice_id)
    assert new is not None and new.follows is not None and new.follows["relation"] == "updates"
    listed = {n.id for n in await store.portal_notices()}
    assert listed == {updated, lifted, newer.notice_id, lift.notice_id}  # all still listed
