"""The portal's side of follow-ups (``channels/portal/lifecycle.py``): states, what a page
says, the "warnings in force" box, and CAP messages (valid CAP 1.2, read back with the
intake's own parser: an update is an Update and a lift a Cancel, each referencing the
message of the notice it follows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from channels.portal.cap import CapSource, alert_xml, build_alert
from channels.portal.lifecycle import in_force_now, page_values
from publisher.cap.parse import parse_cap
from publisher.store.portal import PortalNotice

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
SOURCE = CapSource(
    "portal@yjj.example.gov.cn", "yjj.example.gov.cn.notice.", "本市", "Actual", ZONE
)
FIELDS = {"signal": "暴雨", "color": "红色", "issuer": "市气象台", "area": ["城区"]}


def notice(notice_id: int, **extra: Any) -> PortalNotice:
    base: dict[str, Any] = dict(
        id=notice_id,
        kind="weather_warning",
        title=f"暴雨预警 {notice_id}",
        body_html="<p>正文</p>",
        body="正文",
        summary=None,
        table=None,
        fields=FIELDS,
        urgent=True,
        created_at=NOW - timedelta(hours=1),
        posted_at=NOW - timedelta(hours=1),
        all_cancelled=False,
    )
    base.update(extra)
    return PortalNotice(**base)


def page(notice_id: int) -> str:
    return f"/portal/notices/{notice_id}"


def followed(notice_id: int, relation: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "notice_id": notice_id,
        "relation": relation,
        "title": "后续",
        "at": NOW,
        "reason": reason,
    }


def follows(notice_id: int, relation: str) -> dict[str, Any]:
    return {
        "relation": relation,
        "notice_id": notice_id,
        "title": "原预警",
        "reason": None,
        "changes": "由红色调整为橙色" if relation == "updates" else None,
        "posted_at": (NOW - timedelta(hours=1)).isoformat(),
        "url": "https://yjj.example.gov.cn/portal/notices/5",
    }


def test_states_and_what_the_original_page_says() -> None:
    superseded = notice(5, followed_by=followed(7, "updates"))
    assert superseded.state(NOW, ZONE) == "superseded" and not in_force_now(superseded, NOW, ZONE)
    values = page_values(superseded, page, ZONE)
    assert values["newer_url"] == "/portal/notices/7" and not values["hide_content"]

    lifted = notice(5, followed_by=followed(8, "lifts", "雨停"))
    assert lifted.state(NOW, ZONE) == "lifted" and not in_force_now(lifted, NOW, ZONE)
    assert page_values(lifted, page, ZONE)["lifted_at"] == "2026-11-26 16:00"

    withdrawn = notice(5, followed_by=followed(9, "withdraws", "错发"))
    assert withdrawn.state(NOW, ZONE) == "withdrawn"
    shown = page_values(withdrawn, page, ZONE)
    assert shown["withdrawn_reason"] == "错发" and shown["hide_content"]
    assert shown["withdrawn_at"] == "2026-11-26 16:00"

    active = notice(5, fields={**FIELDS, "valid_until": (NOW + timedelta(hours=1)).isoformat()})
    assert in_force_now(active, NOW, ZONE)
    assert not in_force_now(active, NOW + timedelta(hours=2), ZONE)  # expired, by the clock
    lift = notice(8, follows=follows(5, "lifts"))
    assert lift.state(NOW, ZONE) == "active" and not in_force_now(lift, NOW, ZONE)


def test_an_update_page_links_back_and_says_what_changed() -> None:
    update = notice(7, follows=follows(5, "updates"))
    values = page_values(update, page, ZONE)
    assert values["follows_word"] == "更新了" and values["follows_url"] == "/portal/notices/5"
    assert values["follows_changes"] == "由红色调整为橙色"


def test_cap_messages_of_follow_ups_are_valid_and_reference_the_original() -> None:
    update = notice(7, follows=follows(5, "updates"))
    parsed = parse_cap(alert_xml(build_alert(SOURCE, update, page(7), NOW)))
    assert parsed.msg_type == "Update" and parsed.identifier == "yjj.example.gov.cn.notice.7"
    assert parsed.references == (
        "portal@yjj.example.gov.cn,yjj.example.gov.cn.notice.5,2026-11-26T15:00:00+08:00",
    )
    lift = notice(8, follows=follows(7, "lifts"))
    parsed = parse_cap(alert_xml(build_alert(SOURCE, lift, page(8), NOW)))
    assert parsed.msg_type == "Cancel"
    assert parsed.references[0].split(",")[1] == "yjj.example.gov.cn.notice.7"
    # the lifted warning stays the Alert it was, its urgency Past (the Cancel is the lift's)
    lifted = notice(7, followed_by=followed(8, "lifts"))
    parsed = parse_cap(alert_xml(build_alert(SOURCE, lifted, page(7), NOW)))
    assert parsed.msg_type == "Alert" and parsed.infos[0].urgency == "Past"
    # an ordinary warning is unchanged
    assert parse_cap(alert_xml(build_alert(SOURCE, notice(3), page(3), NOW))).msg_type == "Alert"
