"""The review chain in the store (``ReviewStore`` in publisher/store/base.py), over SQLite and
PostgreSQL: nothing claimable before the last approval, one decision per step and person,
approvals bound to the content, revision starting over, concurrent approvals."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from helpers import delivery, notice_row

from publisher.errors import NotFoundError, StateError
from publisher.queue.admission import AdmissionPolicy
from publisher.store import SqlStore, open_store
from publisher.store.records import AccountLimits, ClaimRequest
from publisher.store.reviews import Decision, ReviewRefused, ReviewState

TWO_STEPS = [{"role": "reviewer", "all": False}, {"role": "signer", "all": False}]
LIMITS = {"portal": AccountLimits(max_concurrency=10), "oa": AccountLimits(max_concurrency=10)}


def request() -> ClaimRequest:
    return ClaimRequest("w1", LIMITS, 30.0, AdmissionPolicy())


async def held(
    store: SqlStore, clock: Any, steps: list[dict[str, Any]] = TWO_STEPS, **extra: Any
) -> int:
    now = clock.now()
    done = await store.submit_for_review(
        notice=notice_row(**extra),
        held=[delivery("portal", now), delivery("oa", now)],
        source="api",
        actor="editor1",
        steps=steps,
        warnings=["“进一步” 为不建议的表述"],
    )
    assert done.created
    return done.notice_id


async def approve(store: SqlStore, nid: int, step: int, who: str, **kw: Any) -> Any:
    return await store.decide_review(
        nid, step=step, actor=who, decision=Decision.APPROVE, comment=None, required=None, **kw
    )


async def test_nothing_is_claimable_until_the_last_approval(store: SqlStore, clock: Any) -> None:
    nid = await held(store, clock)
    review = await store.review_of(nid)
    assert review is not None
    assert (review.state, review.step, review.round, review.held) == ("awaiting_review", 0, 1, 2)
    assert review.warnings == ["“进一步” 为不建议的表述"]
    assert (await store.get_notice(nid)).deliveries == []
    assert (await store.claim(request(), 10))[0] == []

    first = await approve(store, nid, 0, "rev1")
    assert first.advanced and not first.released
    assert (await store.claim(request(), 10))[0] == []  # one step left: still nothing

    clock.advance(60)
    last = await approve(store, nid, 1, "sign1")
    assert last.released and last.review.state == ReviewState.APPROVED
    assert last.review.released_by == "sign1" and last.review.released_at == clock.now()
    claimed, _ = await store.claim(request(), 10)
    assert sorted(c.delivery.account for c in claimed) == ["oa", "portal"]
    actions = [e.action for e in (await store.get_notice(nid)).events]
    assert actions[:5] == ["submitted", "awaiting_review", "approved", "approved", "released"]
    assert await store.open_reviews() == []


async def test_release_waits_for_publish_at(store: SqlStore, clock: Any) -> None:
    later = clock.now() + timedelta(hours=2)
    nid = await held(store, clock, steps=[{"role": "reviewer", "all": False}], publish_at=later)
    await approve(store, nid, 0, "rev1")
    notice = await store.get_notice(nid)
    assert {d.not_before for d in notice.deliveries} == {later}
    assert (await store.claim(request(), 10))[0] == []


async def test_the_author_never_approves_and_nobody_decides_twice(
    store: SqlStore, clock: Any
) -> None:
    nid = await held(store, clock)
    with pytest.raises(ReviewRefused, match="不能审核自己"):
        await approve(store, nid, 0, "editor1")
    await approve(store, nid, 0, "both")
    with pytest.raises(ReviewRefused, match="同一人不能审核两次"):
        await approve(store, nid, 1, "both")
    with pytest.raises(StateError, match="第 1 步审核已有结果"):
        await approve(store, nid, 0, "rev2")
    review = await store.review_of(nid)
    assert review is not None and [d.actor for d in review.decisions] == ["both"]


async def test_an_all_step_waits_for_everyone_required(store: SqlStore, clock: Any) -> None:
    nid = await held(store, clock, steps=[{"users": ["a", "b"], "all": True}])
    need = frozenset({"a", "b"})
    kw: dict[str, Any] = dict(step=0, decision=Decision.APPROVE, comment=None, required=need)
    one = await store.decide_review(nid, actor="a", **kw)
    assert not one.advanced and not one.released
    two = await store.decide_review(nid, actor="b", **kw)
    assert two.advanced and two.released


async def test_a_revision_voids_the_approvals_and_starts_over(store: SqlStore, clock: Any) -> None:
    nid = await held(store, clock)
    before = await store.review_of(nid)
    assert before is not None
    await approve(store, nid, 0, "rev1")
    with pytest.raises(ReviewRefused, match="只有起草人"):
        await store.revise_review(nid, actor="rev1", notice=notice_row(), held=[], steps=TWO_STEPS)
    revised = notice_row(body="各有关单位：请于下月底前完成自查。", fingerprint="fp-2")
    now = clock.now()
    review = await store.revise_review(
        nid, actor="editor1", notice=revised, held=[delivery("portal", now)], steps=TWO_STEPS
    )
    assert (review.state, review.step, review.round, review.held) == ("awaiting_review", 0, 2, 1)
    assert review.fingerprint == "fp-2" and review.current() == []
    assert (await store.get_notice(nid)).body == "各有关单位：请于下月底前完成自查。"
    # an approval given for the old content is refused; rev1 may approve the new round
    with pytest.raises(StateError, match="已被修改"):
        await approve(store, nid, 0, "rev2", fingerprint=before.fingerprint)
    assert (await approve(store, nid, 0, "rev1", fingerprint="fp-2")).advanced


async def test_a_rejection_returns_it_and_a_resubmission_is_reviewed_again(
    store: SqlStore, clock: Any
) -> None:
    nid = await held(store, clock)
    got = await store.decide_review(
        nid, step=0, actor="rev1", decision=Decision.REJECT, comment="标题不准确", required=None
    )
    assert got.review.state == ReviewState.REJECTED and not got.released
    with pytest.raises(StateError):
        await approve(store, nid, 0, "rev2")
    assert [r.notice_id for r in await store.open_reviews()] == [nid]  # still the author's
    review = await store.revise_review(
        nid,
        actor="editor1",
        notice=notice_row(title="新标题", fingerprint="fp-3"),
        held=[delivery("portal", clock.now())],
        steps=TWO_STEPS,
    )
    assert review.state == ReviewState.AWAITING and review.round == 2
    await approve(store, nid, 0, "rev1")  # rejected in round 1, may approve round 2
    assert (await approve(store, nid, 1, "sign1")).released
    assert (await store.get_notice(nid)).title == "新标题"


async def test_a_fast_path_notice_goes_out_at_once_and_stays_flagged(
    store: SqlStore, clock: Any
) -> None:
    now = clock.now()
    done = await store.submit_for_review(
        notice=notice_row(kind="weather_warning"),
        held=[delivery("portal", now)],
        source="api",
        actor="duty1",
        steps=TWO_STEPS,
        release_now=True,
    )
    review = await store.review_of(done.notice_id)
    assert review is not None and review.flagged
    assert (review.released_by, review.released_at) == ("duty1", now)
    assert len((await store.claim(request(), 10))[0]) == 1
    await approve(store, done.notice_id, 0, "rev1")
    last = await approve(store, done.notice_id, 1, "sign1")
    assert not last.released  # it was out already
    assert not last.review.flagged and last.review.released_by == "duty1"
    assert len((await store.get_notice(done.notice_id)).deliveries) == 1


async def test_concurrent_approvals_of_one_step_one_wins(
    database_url: str, store: SqlStore, clock: Any
) -> None:
    nid = await held(store, clock, steps=[{"role": "reviewer", "all": False}])
    others = [open_store(database_url, clock) for _ in range(4)]
    try:
        results = await asyncio.gather(
            *(approve(s, nid, 0, f"rev{i}") for i, s in enumerate(others)),
            return_exceptions=True,
        )
    finally:
        for s in others:
            await s.close()
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and won[0].released
    assert len(lost) == 3 and all(type(e) is StateError for e in lost), lost
    notice = await store.get_notice(nid)
    assert len(notice.deliveries) == 2  # released once, not once per approver
    review = await store.review_of(nid)
    assert review is not None and len(review.decisions) == 1


async def test_unknown_and_unreviewed_notices(store: SqlStore, clock: Any) -> None:
    with pytest.raises(NotFoundError):
        await approve(store, 999, 0, "rev1")
    plain = await store.submit(notice=notice_row(), new_deliveries=[], source="api", actor="x")
    with pytest.raises(StateError, match="不需要审核"):
        await approve(store, plain.notice_id, 0, "rev1")
    assert await store.review_of(plain.notice_id) is None


async def test_oa_ids_and_role_holders(store: SqlStore) -> None:
    await store.add_user("li", ["reviewer"])
    await store.add_user("wang", ["reviewer", "signer"])
    await store.add_user("zhao", ["reviewer"])
    await store.disable_user("zhao")
    await store.set_oa_id("li", "LiSi")
    assert await store.holders("reviewer") == ["li", "wang"]
    assert await store.oa_ids(["li", "wang", "nobody"]) == {"li": "LiSi"}
    with pytest.raises(NotFoundError):
        await store.set_oa_id("nobody", "x")
