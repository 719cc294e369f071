"""``publisher obligations due DATE --working-days N``: the deadline staff count by hand.

No settings, database or network: the command only reads the holiday calendar. Dates are the
2025 and 2026 arrangements (see test_workdays.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from publisher.obligations.workdays import calendar_version, known_years


@pytest.fixture(autouse=True)
def _empty_directory(clean_env: Path) -> None:
    """Run where no settings or database exist."""


def due(*args: str) -> Result:
    from publisher.cli import main

    return CliRunner().invoke(main, ["obligations", "due", *args])


def test_text_names_the_weekday_and_what_was_skipped() -> None:
    result = due("2025-09-30", "--working-days", "7")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "2025-10-16（星期四）；跳过：国庆节、中秋节 10月1日–8日；调休上班：10月11日（星期六）\n"
    )


def test_the_eve_of_national_day_2026() -> None:
    result = due("2026-09-30", "--working-days", "7")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "2026-10-15（星期四）；跳过：国庆节 10月1日–7日；调休上班：10月10日（星期六）\n"
    )


def test_the_spring_festival_with_two_make_up_saturdays() -> None:
    result = due("2026-02-13", "--working-days", "7")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "2026-03-02（星期一）；跳过：春节 2月15日–23日；"
        "调休上班：2月14日（星期六）、2月28日（星期六）\n"
    )


def test_an_ordinary_week_is_just_the_date() -> None:
    result = due("2026-03-06", "--working-days", "7")

    assert result.exit_code == 0, result.output
    assert result.stdout == "2026-03-17（星期二）\n"


def test_json() -> None:
    result = due("2026-09-24", "--working-days", "10", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "start": "2026-09-24",
        "working_days": 10,
        "due": "2026-10-15",
        "weekday": "星期四",
        "skipped": [
            {"first": "2026-09-25", "last": "2026-09-27", "holidays": ["中秋节"]},
            {"first": "2026-10-01", "last": "2026-10-07", "holidays": ["国庆节"]},
        ],
        "makeup_working_days": ["2026-10-10"],
        "calendar": calendar_version(),
    }


def test_an_unknown_year_is_refused_in_one_line() -> None:
    year = known_years()[1] + 1
    result = due(f"{year}-03-02", "--working-days", "7")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"publisher: 错误: {year} 年的节假日安排尚未收录（{calendar_version()}，"
        f"收录 {known_years()[0]}–{known_years()[1]} 年），请升级该软件包\n"
    )


def test_a_count_into_an_unknown_year_is_refused() -> None:
    last = known_years()[1]
    result = due(f"{last}-12-24", "--working-days", "10")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{last + 1} 年的节假日安排尚未收录" in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["2026-13-01", "--working-days", "7"], "日期应为 YYYY-MM-DD"),
        (["30/09/2026", "--working-days", "7"], "日期应为 YYYY-MM-DD"),
        (["2026-09-30", "--working-days", "seven"], "--working-days 应为 1 到 1000 的整数"),
        (["2026-09-30", "--working-days", "0"], "--working-days 应为 1 到 1000 的整数"),
        (["2026-09-30", "--working-days", "-3"], "--working-days 应为 1 到 1000 的整数"),
        (["2026-09-30", "--working-days", "1001"], "--working-days 应为 1 到 1000 的整数"),
        (["2026-09-30"], "请用 --working-days N 给出工作日数"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], said: str) -> None:
    result = due(*args)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("publisher: 错误: ")
    assert said in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_nothing_is_written(clean_env: Path) -> None:
    due("2026-09-30", "--working-days", "7")

    assert list(clean_env.iterdir()) == []


# -- the late list, the summary, reminders now, freshness (issue 13) ------------------------

STARTER = {
    "approvals",
    "documents",
    "penalties",
    "accidents",
    "budget",
    "final-accounts",
    "annual-report",
    "statistics",
}  # penalty-decisions lists one line per decision: none entered here


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    from publisher.cli import main

    return CliRunner().invoke(main, list(args), env=env)


def test_the_late_list_shows_every_starter_obligation_with_its_due_date_or_why_not() -> None:
    result = cli("obligations", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert {o["name"] for o in body["obligations"]} == STARTER
    for o in body["obligations"]:
        assert (o["due"] is None) == (o["state"] == "unknown")
        if o["due"] is None:
            assert o["problem"].startswith("无法计算（节假日数据未覆盖 ")
        if o["state"] == "overdue":
            assert isinstance(o["days_late"], int)
    only = json.loads(cli("obligations", "--department", "行政审批科", "--json").stdout)
    assert [o["name"] for o in only["obligations"]] == ["approvals"]
    late = json.loads(cli("obligations", "--overdue", "--json").stdout)
    assert {o["state"] for o in late["obligations"]} <= {"overdue"}
    text = cli("obligations", "--department", "行政审批科")
    assert text.exit_code == 0 and "approvals  行政许可结果月度公开  行政审批科" in text.stdout


def test_the_summary_refuses_a_bad_month_in_one_line() -> None:
    result = cli("obligations", "summary", "--month", "2026-13")
    assert result.exit_code == 2
    assert result.stderr == "publisher: 错误: 月份应为 YYYY-MM，如 2026-11，收到的是 '2026-13'\n"
    good = cli("obligations", "summary", "--month", "2026-11", "--json")
    assert good.exit_code == 0, good.output
    report = json.loads(good.stdout)
    assert report["month"] == "2026-11"
    for d in report["departments"]:
        assert d["due"] == sum(d[k] for k in ("on_time", "late", "missing", "pending", "unknown"))


def test_a_broken_obligations_file_is_one_line(clean_env: Path) -> None:
    bad = clean_env / "obligations.toml"
    bad.write_text('[obligations.x]\ntitle = "t"\nkind = "general"\n', encoding="utf-8")
    result = cli("obligations", env={"PUBLISHER_OBLIGATIONS_FILE": str(bad)})
    assert result.exit_code == 2
    assert result.stderr.startswith(f"publisher: 错误: obligations_file: {bad}: 义务 x ")
    assert len(result.stderr.splitlines()) == 1


def test_freshness_lists_every_account_and_portal_category() -> None:
    result = cli("freshness", "--json")
    assert result.exit_code == 0, result.output
    watches = json.loads(result.stdout)["watches"]
    assert [(w["target"], w["name"]) for w in watches] == [
        ("account", "portal"),
        ("account", "weibo"),
        ("account", "wechat"),
        ("account", "oa"),
        ("category", "weather_warning"),
        ("category", "approval_list"),
        ("category", "penalty_disclosure"),
        ("category", "accident_report"),
        ("category", "budget_disclosure"),
        ("category", "general"),
    ]
    assert {(w["state"], w["days"], w["alarm_at"]) for w in watches} == {("none", None, 14)}
    text = cli("freshness")
    assert "渠道 政务微博(沙箱): 无发布记录（提醒 10、12 天，告警 14 天）" in text.stdout


def test_remind_now_is_an_acting_command() -> None:
    refused = cli("--user", "nobody", "obligations", "remind")
    assert refused.exit_code == 2 and "没有用户 nobody" in refused.stderr
    done = cli("obligations", "remind")
    assert done.exit_code == 0, done.output
    assert done.stdout.endswith("发送 0 条，失败 0 条\n")  # the starter names nobody to remind
    audit = cli("audit", "--json")
    assert '"obligations_remind"' in audit.stdout
