"""Follow-ups taken in (``publisher.lifecycle``): routing to where the original went, the
``follows`` mapping templates get, plain refusals, CAP Update and Cancel, and lift posts at
expiry. The store is a real SQLite one; deliveries are marked posted through the store as a
worker would (the end-to-end tests post them through the sandbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cap_samples import SENDER, alert, info

from publisher.cap.intake import take_in
from publisher.errors import CapRefused, InputError, NotFoundError, StateError
from publisher.lifecycle import Lifecycle
from publisher.lifecycle.expiry import lift_expired
from publisher.notice import NoticeInput
from publisher.queue.admission import AdmissionPolicy
from publisher.queue.intake import Intake
from publisher.settings import load_settings
from publisher.states import Status
from publisher.store.records import AccountLimits, ClaimRequest, Outcome
from tests.conftest import FakeClock
from tests.helpers import open_intake

POLICY = AdmissionPolicy(3, 60.0)
ACCOUNTS = {
    "portal": {"type": "portal", "sandbox": True},
    "hook": {"type": "webhook", "url": "http://127.0.0.1:9/hook", "lift_at_expiry": True},
    "other": {"type": "webhook", "url": "http://127.0.0.1:9/other"},
}


def warning(colour: str = "红色", **fields: Any) -> NoticeInput:
    return NoticeInput.model_validate(
        {
            "kind": "weather_warning",
            "title": f"市气象台发布暴雨{colour}预警信号",
            "body": "预计未来3小时内将出现强降雨。",
            "fields": {"signal": "暴雨", "color": colour, "issuer": "市气象台", **fields},
        }
    )


GENERAL = NoticeInput.model_validate(
    {"kind": "general", "title": "关于开展安全检查的通知", "body": "各单位请自查。"}
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def intake(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Intake]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
        accounts=ACCOUNTS,
        base_url="https://yjj.example.gov.cn",
        metrics_interval=0,
    )
    async with open_intake(settings, clock) as made:
        yield made


async def post_due(intake: Intake) -> None:
    """Everything due is claimed and posted, as a worker would."""
    store = intake.store
    assert store is not None
    limits = {a.name: AccountLimits(max_concurrency=50) for a in intake.channels}
    got, _ = await store.claim(ClaimRequest("w", limits, 30.0, POLICY), 100)  # type: ignore[attr-defined]
    for c in got:
        if not c.marked:
            assert await store.mark_sending(c.delivery, "w")  # type: ignore[attr-defined]
        done = Outcome(Status.POSTED, "posted", remote_id=f"r{c.delivery.id}", success=True)
        assert await store.finish(c.delivery, "w", done, POLICY)  # type: ignore[attr-defined]


async def accounts_of(intake: Intake, notice_id: int) -> dict[str, str]:
    record = await intake.store.get_notice(notice_id)  # type: ignore[union-attr]
    return {d.account: d.status for d in record.deliveries}


# -- routing and the follows mapping ----------------------------------------------------------


async def test_an_update_goes_where_the_original_went_and_says_what_changed(
    intake: Intake, clock: FakeClock
) -> None:
    red = await intake.submit(
        warning(valid_until=(clock.now() + timedelta(hours=3)).isoformat()),
        source="cli",
        actor="duty",
    )
    await post_due(intake)
    posted_at = (await intake.store.get_notice(red.notice_id)).deliveries[0].posted_at  # type: ignore[union-attr]
    clock.advance(600)
    orange = warning("橙色", valid_until=(clock.now() + timedelta(hours=6)).isoformat())
    done = await Lifecycle(intake).update(red.notice_id, orange, source="cli", actor="duty")
    assert done.created
    assert await accounts_of(intake, done.notice_id) == {
        "portal": "pending",
        "hook": "pending",
        "other": "pending",
    }
    record = await intake.store.get_notice(done.notice_id)  # type: ignore[union-attr]
    assert record.follows is not None
    assert record.follows["relation"] == "updates"
    assert record.follows["notice_id"] == red.notice_id
    assert record.follows["title"] == "市气象台发布暴雨红色预警信号"
    assert record.follows["changes"].startswith("由红色调整为橙色，有效期调整至")
    assert record.follows["posted_at"] == posted_at.isoformat()  # type: ignore[union-attr]
    assert record.follows["url"] == f"https://yjj.example.gov.cn/portal/notices/{red.notice_id}"
    assert record.follows["reason"] is None
    assert record.view().follows == record.follows  # what the worker hands adapters


async def test_waiting_deliveries_of_the_original_are_cancelled_not_followed(
    intake: Intake,
) -> None:
    first = await intake.submit(warning(), source="cli", actor="duty")
    store = intake.store
    # only the portal went out; hook and other still wait
    portal_only = {"portal": AccountLimits(max_concurrency=5)}
    got, _ = await store.claim(ClaimRequest("w", portal_only, 30.0, POLICY), 5)  # type: ignore[union-attr]
    for c in got:
        assert await store.mark_sending(c.delivery, "w")  # type: ignore[union-attr]
        assert await store.finish(
            c.delivery, "w", Outcome(Status.POSTED, "posted", remote_id="1", success=True), POLICY
        )  # type: ignore[union-attr]
    lift = await Lifecycle(intake).lift(first.notice_id, "雨势减弱", source="cli", actor="duty")
    assert await accounts_of(intake, first.notice_id) == {
        "portal": "posted",
        "hook": "cancelled",
        "other": "cancelled",
    }
    assert await accounts_of(intake, lift.notice_id) == {"portal": "pending"}
    record = await store.get_notice(lift.notice_id)  # type: ignore[union-attr]
    assert record.title == "【解除】市气象台发布暴雨红色预警信号"
    assert "解除原因：雨势减弱" in record.body
    assert record.fields["color"] == "红色" and record.fields["issuer"] == "市气象台"
    assert record.follows is not None and record.follows["reason"] == "雨势减弱"


async def test_a_withdrawal_reaches_the_accounts_that_had_the_original(intake: Intake) -> None:
    made = await intake.submit(GENERAL, source="cli", actor="editor")
    await post_due(intake)
    done = await Lifecycle(intake).withdraw(
        made.notice_id, "处罚决定已变更", source="api", actor="editor"
    )
    assert await accounts_of(intake, done.notice_id) == {
        "portal": "pending",
        "hook": "pending",
        "other": "pending",
    }
    record = await intake.store.get_notice(done.notice_id)  # type: ignore[union-attr]
    assert record.kind == "general" and record.title.startswith("【撤回】")
    assert record.follows == {
        "relation": "withdraws",
        "notice_id": made.notice_id,
        "title": "关于开展安全检查的通知",
        "reason": "处罚决定已变更",
        "changes": None,
        "posted_at": record.follows["posted_at"] if record.follows else None,
        "url": f"https://yjj.example.gov.cn/portal/notices/{made.notice_id}",
    }
    assert record.follows and record.follows["posted_at"]


# -- refusals: one line each, nothing stored ----------------------------------------------------


async def test_refusals_say_plainly_what_happened(intake: Intake, clock: FakeClock) -> None:
    lc = Lifecycle(intake)
    general = await intake.submit(GENERAL, source="cli", actor="editor")
    red = await intake.submit(warning(), source="cli", actor="duty")
    await post_due(intake)
    before = len(await intake.store.list_deliveries())  # type: ignore[union-attr]

    with pytest.raises(InputError, match="只有预警可以解除"):
        await lc.lift(general.notice_id, None, source="cli", actor="duty")
    with pytest.raises(InputError, match="撤回必须说明原因"):
        await lc.withdraw(general.notice_id, "  ", source="cli", actor="editor")
    with pytest.raises(NotFoundError):
        await lc.withdraw(999, "原因", source="cli", actor="editor")
    with pytest.raises(NotFoundError):
        await lc.lift(999, None, source="cli", actor="duty")
    with pytest.raises(InputError, match="更新应与原通知类型相同"):
        await lc.update(red.notice_id, GENERAL, source="cli", actor="duty")
    assert len(await intake.store.list_deliveries()) == before  # type: ignore[union-attr]

    clock.advance(60)
    lift = await lc.lift(red.notice_id, None, source="cli", actor="duty")
    when = (clock.now()).astimezone(intake.settings.zone).strftime("%Y-%m-%d %H:%M")
    with pytest.raises(
        StateError, match=f"已于 {when} 解除 \\(通知 #{lift.notice_id}\\)，不能再解除"
    ):
        await lc.lift(red.notice_id, None, source="cli", actor="duty")
    with pytest.raises(StateError, match="不能再更新"):
        await lc.update(red.notice_id, warning("橙色"), source="cli", actor="duty")
    with pytest.raises(StateError, match="不能再撤回"):
        await lc.withdraw(red.notice_id, "错发", source="cli", actor="duty")
    with pytest.raises(StateError, match=r"是对通知 #\d+ 的解除"):
        await lc.lift(lift.notice_id, None, source="cli", actor="duty")

    newer = await lc.update(
        general.notice_id,
        GENERAL.model_copy(update={"title": "更正后的通知"}),
        source="cli",
        actor="editor",
    )
    with pytest.raises(StateError, match=f"被通知 #{newer.notice_id} 更新，请对最新的通知撤回"):
        await lc.withdraw(general.notice_id, "错发", source="cli", actor="editor")


# -- CAP Update and Cancel --------------------------------------------------------------------


RED = alert(
    info(event_codes=[("CMA_SIGNAL", "0204")], headline="市气象台发布暴雨红色预警信号"),
    identifier="red_1",
)
REF = f"{SENDER},red_1,2026-11-26T16:00:00+08:00"
NOBODY = f"{SENDER},nobody_1,2026-11-26T16:00:00+08:00"


async def test_cap_update_and_cancel_follow_the_warning_they_reference(intake: Intake) -> None:
    first = await take_in(intake, RED, via="api", actor="feed")
    await post_due(intake)
    orange = alert(
        info(event_codes=[("CMA_SIGNAL", "0203")], headline="市气象台更新暴雨橙色预警信号"),
        identifier="red_2",
        msg_type="Update",
        references=REF,
    )
    update = await take_in(intake, orange, via="api", actor="feed")
    assert update.submitted.created and update.action == "notice.update"
    record = await intake.store.get_notice(update.submitted.notice_id)  # type: ignore[union-attr]
    assert record.follows_id == first.submitted.notice_id and record.relation == "updates"
    assert record.follows and record.follows["changes"] == "由红色调整为橙色"
    again = await take_in(intake, orange, via="feed", actor="feed")  # the same Update again
    assert again.submitted == type(again.submitted)(update.submitted.notice_id, False)
    await post_due(intake)

    # a Cancel referencing the first message lifts the newest version (the update)
    cancel = alert(
        info(headline="市气象台解除暴雨预警信号", description="降雨已明显减弱。"),
        identifier="red_3",
        msg_type="Cancel",
        references=REF,
    )
    lifted = await take_in(intake, cancel, via="cli", actor="duty")
    assert lifted.action == "notice.lift"
    record = await intake.store.get_notice(lifted.submitted.notice_id)  # type: ignore[union-attr]
    assert record.follows_id == update.submitted.notice_id and record.relation == "lifts"
    assert record.fields["cap"]["msgType"] == "Cancel"
    assert record.fields["cap"]["references"] == [REF]
    assert record.follows and record.follows["reason"] == "降雨已明显减弱。"
    replay = await take_in(intake, cancel, via="cli", actor="duty")
    assert replay.submitted.notice_id == lifted.submitted.notice_id and not replay.submitted.created

    # another Cancel of the same warning: it was lifted already
    twice = alert(info(), identifier="red_4", msg_type="Cancel", references=REF)
    with pytest.raises(StateError, match="不能再解除"):
        await take_in(intake, twice, via="cli", actor="duty")


@pytest.mark.parametrize(
    ("msg_type", "references", "says"),
    [
        ("Update", NOBODY, "引用的预警 nobody_1 未曾收到，无法更新"),
        ("Cancel", NOBODY, "引用的预警 nobody_1 未曾收到，无法解除"),
        ("Cancel", None, "没有 references，无法确定解除哪条预警"),
    ],
)  # fmt: skip
async def test_cap_follow_ups_of_unknown_warnings_are_refused(
    intake: Intake, msg_type: str, references: str | None, says: str
) -> None:
    extra = {"references": references} if references else {}
    doc = alert(info(), identifier="x_9", msg_type=msg_type, **extra)
    with pytest.raises(CapRefused, match=says):
        await take_in(intake, doc, via="api", actor="feed")
    assert await intake.store.list_deliveries() == []  # type: ignore[union-attr]


# -- lift posts at expiry -------------------------------------------------------------------


async def test_a_lift_is_posted_once_at_expiry_to_the_accounts_asking(
    intake: Intake, clock: FakeClock
) -> None:
    until = clock.now() + timedelta(hours=2)
    made = await intake.submit(warning(valid_until=until.isoformat()), source="cli", actor="duty")
    lasting = await intake.submit(
        warning("黄色", valid_until=(until + timedelta(days=1)).isoformat()),
        source="cli",
        actor="duty",
    )
    await post_due(intake)
    lc = Lifecycle(intake)
    assert await lift_expired(lc, clock.now()) == []  # not yet
    clock.advance(2 * 3600)
    lifts = await lift_expired(lc, clock.now())
    assert len(lifts) == 1
    # only hook asked (a webhook does not link to a portal copy, so no portal delivery)
    assert await accounts_of(intake, lifts[0]) == {"hook": "pending"}
    record = await intake.store.get_notice(lifts[0])  # type: ignore[union-attr]
    assert record.follows_id == made.notice_id and record.relation == "lifts"
    clock.advance(60)
    assert await lift_expired(lc, clock.now()) == []  # once
    links = await intake.store.notice_links(lasting.notice_id)  # type: ignore[union-attr]
    assert links.followed_by is None


async def test_a_drill_s_follow_ups_are_drills_labelled_on_the_drill_accounts(
    intake: Intake,
) -> None:
    drill = warning().model_copy(update={"drill": True})
    made = await intake.submit(drill, source="cli", actor="duty")
    await post_due(intake)
    assert set(await accounts_of(intake, made.notice_id)) == {"portal"}  # the sandbox only
    lift = await Lifecycle(intake).lift(made.notice_id, "演练结束", source="cli", actor="duty")
    record = await intake.store.get_notice(lift.notice_id)  # type: ignore[union-attr]
    assert record.drill
    assert {d.account for d in record.deliveries} == {"portal"}
    (delivery,) = record.deliveries
    assert delivery.rendered["parts"]["title"].startswith("【演练】")
