"""``publisher schedule add|list|remove|run-now`` on a real SQLite file in an empty folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from schedule_kit import GOOD_ROWS, PORTAL, write_csv, write_template

from publisher.cli import main


@pytest.fixture(autouse=True)
def _workspace(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_ACCOUNTS", json.dumps(PORTAL))
    write_template(clean_env)


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def listed() -> dict[str, Any]:
    result = cli("schedule", "list", "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


ADD = ("schedule", "add", "每月行政许可公示", "--notice", "approvals.json", "--data", "行政许可-*")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--cron", "0 9 1 *"), "cron 表达式 '0 9 1 *' 无效：应为 5 个字段"),
        (("--cron", "0 9 31 2-x *"), "cron 表达式 '0 9 31 2-x *' 无效"),
    ],
)
def test_a_bad_cron_is_one_line_and_stores_nothing(args: tuple[str, ...], said: str) -> None:
    result = cli(*ADD, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"publisher: 错误: {said}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert listed()["schedules"] == []


def test_a_missing_notice_file_is_one_line_and_stores_nothing() -> None:
    result = cli("schedule", "add", "x", "--cron", "0 9 1 * *", "--notice", "nowhere.json")
    assert result.exit_code == 2
    assert result.stderr == "publisher: 错误: 通知模板 nowhere.json: 文件不存在\n"
    assert listed()["schedules"] == []


def test_add_list_run_now_remove_and_the_audit_log(clean_env: Path) -> None:
    result = cli(*ADD, "--cron", "0 9 1 * *")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("已添加计划 每月行政许可公示，下次执行: ")
    [entry] = listed()["schedules"]
    assert entry["cron"] == "0 9 1 * *" and entry["data"] == "行政许可-*"
    assert entry["next_fire"].endswith("T09:00:00+08:00") and entry["next_fire"][8:10] == "01"
    assert entry["last_fire"] is None

    # no data file yet: nothing posted, exit 1, the reason shown
    result = cli("schedule", "run-now", "每月行政许可公示")
    assert result.exit_code == 1
    assert result.stdout.startswith("计划 每月行政许可公示: 缺少数据文件")

    write_csv(clean_env / "inbox", GOOD_ROWS)
    result = cli("schedule", "run-now", "每月行政许可公示", "--json")
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert done["outcome"] == "posted" and done["notice_id"] == 1
    shown = json.loads(cli("notice", "show", "1", "--json").stdout)
    assert shown["title"].endswith("月行政许可公示")
    assert [d["channel"] for d in shown["deliveries"]] == ["portal"]
    [entry] = listed()["schedules"]
    assert entry["last_fire"]["outcome"] == "posted" and entry["last_fire"]["notice_id"] == 1
    text = cli("schedule", "list").stdout
    assert "上次执行:" in text and "已发布 (通知 #1)" in text

    assert cli("schedule", "remove", "每月行政许可公示").exit_code == 0
    assert listed()["schedules"] == []
    again = cli("schedule", "remove", "每月行政许可公示")
    assert again.exit_code == 2 and again.stderr == "publisher: 错误: 没有计划 每月行政许可公示\n"

    actions = [e["action"] for e in json.loads(cli("audit", "--json").stdout)]
    assert actions == ["schedule.add", "schedule.run", "schedule.run", "schedule.remove"]


def test_a_reader_may_not_add_a_schedule() -> None:
    assert cli("user", "add", "wang", "--role", "comms_officer").exit_code == 0
    result = cli("--user", "wang", *ADD, "--cron", "0 9 1 * *")
    assert result.exit_code == 2
    assert "无权执行 schedule add" in result.stderr
    assert listed()["schedules"] == []


def test_doctor_names_a_fire_that_posted_nothing() -> None:
    assert cli(*ADD, "--cron", "0 9 1 * *").exit_code == 0
    assert cli("schedule", "run-now", "每月行政许可公示").exit_code == 1
    result = cli("doctor")
    assert result.exit_code == 1
    [line] = [s for s in result.stdout.splitlines() if "计划" in s]
    assert line.startswith("✗ 计划 每月行政许可公示: ") and "缺少数据文件" in line
