"""Obligations without a database: due dates in working days (2026's Spring Festival and
National Day with their make-up Saturdays), states, freshness thresholds, the summary's sums,
and definitions refused in one line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from publisher.errors import ConfigError, InputError
from publisher.obligations import periods
from publisher.obligations.freshness import watch
from publisher.obligations.spec import Obligation, parse
from publisher.obligations.status import Status, notice_statuses, period_status
from publisher.obligations.summary import Department, parse_month
from publisher.settings import load_settings
from publisher.store.obligations import Disclosure, LastPost
from tests.obligation_kit import ZONE, local


def spec(**extra: Any) -> Obligation:
    raw = {"title": "行政许可结果月度公开", "kind": "approval_list", "department": "行政审批科"}
    raw.update(extra)
    return Obligation.model_validate(raw)


MONTHLY = spec(every="month", working_days=12, channels=["portal", "wechat"])


def test_a_monthly_due_date_skips_the_spring_festival_and_counts_its_makeup_saturday() -> None:
    january = periods.period_of("month", date(2026, 1, 15))
    # From Sat 31 Jan: 2-6, 9-13 Feb (10), Sat 14 Feb worked in exchange (11), then the
    # holiday 15-23 Feb, so the 12th working day is Tue 24 Feb.
    assert periods.due_date(MONTHLY, january.end) == (date(2026, 2, 24), None)
    eleven = spec(every="month", working_days=11)
    assert periods.due_date(eleven, january.end) == (date(2026, 2, 14), None)
    assert (january.window_start, january.window_end) == (date(2026, 2, 1), date(2026, 2, 28))


def test_a_quarterly_due_date_skips_national_day_and_counts_saturday_10_october() -> None:
    q3 = periods.period_of("quarter", date(2026, 8, 1))
    assert (q3.key, q3.label) == ("2026-Q3", "2026年第3季度")
    ten = spec(every="quarter", working_days=10)
    # 8, 9, 10 (Sat, make-up), 12-16, 19, 20 October.
    assert periods.due_date(ten, q3.end) == (date(2026, 10, 20), None)


def test_seven_working_days_for_a_decision_dated_the_day_before_a_holiday() -> None:
    rule = spec(kind="penalty_disclosure", every="notice", date_field="decided_on", working_days=7)
    # Wed 30 Sep, eve of National Day: 8, 9, 10 (Sat), 12, 13, 14, 15 October.
    assert periods.due_date(rule, date(2026, 9, 30)) == (date(2026, 10, 15), None)
    # Sat 14 Feb, a make-up working day and the eve of the Spring Festival: 24-28 Feb
    # (the 28th a make-up Saturday), 2 and 3 March.
    assert periods.due_date(rule, date(2026, 2, 14)) == (date(2026, 3, 3), None)


def test_a_year_the_holiday_data_does_not_cover_is_said_plainly_never_guessed() -> None:
    december = periods.period_of("month", date(2026, 12, 10))
    assert periods.due_date(MONTHLY, december.end) == (None, "无法计算（节假日数据未覆盖 2027 年）")
    row = period_status("approvals", MONTHLY, ["portal"], december, [], date(2027, 1, 5), ZONE)
    assert (row.state, row.due, row.problem) == (
        "unknown",
        None,
        "无法计算（节假日数据未覆盖 2027 年）",
    )


def test_the_annual_report_is_due_on_its_date_in_the_following_year() -> None:
    report = spec(kind="general", every="year", due="01-31")
    y2025 = periods.period_of("year", date(2025, 6, 1))
    assert periods.due_date(report, y2025.end) == (date(2026, 1, 31), None)
    assert report.rule_text() == "每年，次年 1月31日前"


def disclosure(account: str, posted: date | None, notice_id: int = 1, **kw: Any) -> Disclosure:
    return Disclosure(
        notice_id=notice_id,
        kind=kw.get("kind", "approval_list"),
        title=kw.get("title", "2026年1月行政许可结果"),
        fields=kw.get("fields", {}),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        account=account,
        status="posted" if posted else "pending",
        posted_at=local(posted) if posted else None,
    )


JANUARY = periods.period_of("month", date(2026, 1, 15))
CHANNELS = ["portal", "wechat"]


def state(found: list[Disclosure], today: date) -> tuple[str, int | None]:
    row = period_status("approvals", MONTHLY, CHANNELS, JANUARY, found, today, ZONE)
    return row.state, row.days_late


def test_met_needs_every_channel_by_the_due_date() -> None:
    both = [disclosure("portal", date(2026, 2, 10)), disclosure("wechat", date(2026, 2, 24))]
    assert state(both, date(2026, 3, 20)) == ("met", 0)


def test_met_late_counts_working_days_to_the_last_channel() -> None:
    late = [disclosure("portal", date(2026, 2, 10)), disclosure("wechat", date(2026, 2, 27))]
    assert state(late, date(2026, 3, 20)) == ("met_late", 3)  # 25, 26, 27 Feb


def test_one_channel_missing_is_pending_then_due_today_then_overdue() -> None:
    one = [disclosure("portal", date(2026, 2, 10))]
    assert state(one, date(2026, 2, 13)) == ("pending", None)
    assert state(one, date(2026, 2, 24)) == ("due_today", 0)
    assert state(one, date(2026, 2, 28)) == ("overdue", 4)  # 25-28, the 28th a make-up day


def test_posts_outside_the_window_or_of_another_title_do_not_count() -> None:
    narrow = spec(every="month", working_days=12, title_contains="行政许可", channels=["portal"])
    early = [disclosure("portal", date(2026, 1, 30))]  # during January itself
    other = [disclosure("portal", date(2026, 2, 3), title="其他通知")]
    for found in (early, other):
        row = period_status("a", narrow, ["portal"], JANUARY, found, date(2026, 3, 2), ZONE)
        assert row.state == "overdue"


def test_each_decision_is_due_seven_working_days_after_its_date() -> None:
    rule = spec(kind="penalty_disclosure", every="notice", date_field="decided_on", working_days=7)
    found = [
        disclosure(
            "portal",
            date(2026, 10, 15),
            1,
            kind="penalty_disclosure",
            fields={"decided_on": "2026-09-30"},
            title="处罚决定一",
        ),
        disclosure(
            "portal",
            date(2026, 10, 16),
            2,
            kind="penalty_disclosure",
            fields={"decided_on": "2026-09-30"},
            title="处罚决定二",
        ),
        disclosure(
            "portal",
            None,
            3,
            kind="penalty_disclosure",
            fields={"decided_on": "2026-10-09"},
            title="处罚决定三",
        ),
        disclosure("portal", date(2026, 10, 16), 4, kind="penalty_disclosure", title="无日期"),
    ]
    rows = notice_statuses("pd", rule, ["portal"], found, date(2026, 10, 22), ZONE)
    got = [(r.notice_id, r.due, r.state, r.days_late) for r in rows]
    assert got == [
        (1, date(2026, 10, 15), "met", 0),
        (2, date(2026, 10, 15), "met_late", 1),
        # From Fri 9 Oct: 10 (Sat, make-up), 12-16, 19; late by 20, 21, 22 October.
        (3, date(2026, 10, 19), "overdue", 3),
    ]


def fresh(
    days_ago: dict[str, int], today: date = date(2026, 12, 4), **settings: Any
) -> dict[str, Any]:
    s = load_settings(
        accounts={
            "portal": {"type": "portal", "sandbox": True},
            "weibo": {"type": "weibo", "access_token": "t", "sandbox": True},
        },
        **settings,
    )
    posts = []
    for name, ago in days_ago.items():
        at = local(date.fromordinal(today.toordinal() - ago))
        if name.startswith("portal:"):
            posts.append(LastPost("portal", "portal", name.split(":")[1], at))
        else:
            posts.append(LastPost(name, name, "general", at))
    return {(w.target, w.name): (w.days, w.state) for w in watch(s, posts, today)}


@pytest.mark.parametrize(
    ("days", "expected"),
    [(9, "ok"), (10, "reminded"), (12, "reminded"), (13, "reminded"), (14, "alarm")],
)
def test_an_account_is_reminded_at_day_10_and_12_and_alarms_at_14(days: int, expected: str) -> None:
    assert fresh({"weibo": days})[("account", "weibo")] == (days, expected)


def test_a_notice_column_is_watched_over_180_days() -> None:
    got = fresh(
        {"portal:general": 179, "portal:approval_list": 14},
        freshness_notice_categories=["general"],
    )
    assert got[("category", "general")] == (179, "reminded")
    assert got[("category", "approval_list")] == (14, "alarm")
    got = fresh({"portal:general": 180}, freshness_notice_categories=["general"])
    assert got[("category", "general")] == (180, "alarm")
    assert fresh({"portal:general": 20}, freshness_notice_categories=["general"])[
        ("category", "general")
    ] == (20, "ok")


def test_a_watch_can_be_switched_off_and_never_posted_is_not_an_alarm() -> None:
    got = fresh({"weibo": 30}, freshness_thresholds={"weibo": []})
    assert got[("account", "weibo")] == (30, "off")
    assert got[("category", "weather_warning")] == (None, "none")


def test_freshness_thresholds_must_rise() -> None:
    with pytest.raises(ConfigError, match="PUBLISHER_FRESHNESS_DAYS 无效: 应为递增的正整数天数"):
        load_settings(freshness_days=[14, 10])


def row(state: str, late: int | None) -> Status:
    return Status(
        "x",
        MONTHLY,
        ("portal",),
        "2026-01",
        "2026年1月",
        None,
        date(2026, 2, 24),
        state,
        late,
        None,
        None,
        None,
    )


def test_the_summary_adds_up() -> None:
    d = Department("行政审批科")
    for r in [
        row("met", 0),
        row("met_late", 3),
        row("overdue", 5),
        row("pending", None),
        row("due_today", 0),
        row("unknown", None),
        row("met", 0),
    ]:
        d.add(r)
    out = d.as_json()
    assert (out["due"], out["on_time"], out["late"], out["missing"]) == (7, 2, 1, 1)
    assert (out["pending"], out["unknown"], out["late_working_days"]) == (2, 1, 8)
    assert out["due"] == sum(out[k] for k in ("on_time", "late", "missing", "pending", "unknown"))
    assert [i["days_late"] for i in out["late_items"]] == [3, 5]


def test_months_and_definitions_are_refused_in_one_line() -> None:
    assert parse_month("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(InputError, match="月份应为 YYYY-MM"):
        parse_month("2026-13")
    with pytest.raises(InputError, match=r"^义务 x: working_days 和 due 须给出且只给出一个$"):
        parse("x", {"title": "t", "kind": "general", "department": "d", "every": "month"})
    with pytest.raises(InputError, match=r"^义务 x working_days: 应为整数$"):
        parse(
            "x",
            {
                "title": "t",
                "kind": "general",
                "department": "d",
                "every": "month",
                "working_days": "7",
            },
        )
    with pytest.raises(InputError, match="未知的通知类型"):
        parse(
            "x",
            {"title": "t", "kind": "nope", "department": "d", "every": "month", "working_days": 7},
        )
    with pytest.raises(InputError, match="义务名称"):
        parse("Bad Name", {})
