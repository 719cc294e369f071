"""``publisher serve`` runs the obligations' reminders on its scheduler: a decision not yet on
every channel reaches its responsible person over the OA sandbox, once, however many runs."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from publisher.errors import UnknownHolidayYear
from publisher.obligations import workdays

from .procs import Workspace, http

pytestmark = pytest.mark.slow

OBLIGATIONS = """
[obligations.penalty-decisions]
title = "行政处罚决定公示"
kind = "penalty_disclosure"
channels = ["portal", "weibo"]
department = "执法监督科"
responsible = ["zhaoliu"]
head = ["sunqi"]
every = "notice"
date_field = "decided_on"
working_days = 7
"""


def test_serve_reminds_the_responsible_person_once(workspace: Workspace) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    try:  # decided so that the 7 working days end on the next working day: a reminder is due
        decided = workdays.add_working_days(today, -6)
        due = workdays.add_working_days(decided, 7)
    except UnknownHolidayYear:
        pytest.skip("the holiday data does not cover the days around today")
    assert due > today
    (workspace.dir / "config").mkdir()
    workspace.write("config/obligations.toml", OBLIGATIONS)
    workspace.env["PUBLISHER_OBLIGATIONS_INTERVAL"] = "1"
    server = workspace.serve()
    notice = {
        "kind": "penalty_disclosure",
        "title": "行政处罚决定书（安监罚〔2026〕1号）",
        "body": "当事人：某某有限公司。违法事实：未按规定开展安全培训。",
        "channels": ["portal"],  # not yet on Weibo: the obligation is open
        "fields": {"decided_on": decided.isoformat()},
    }
    workspace.write("decision.json", notice)
    submitted = workspace.cli("notice", "submit", "decision.json", "--wait", "60", "--json")
    assert submitted.returncode == 0, submitted

    def cards() -> list[dict[str, str]]:
        with http() as client:
            posts = client.get(f"{server.url}/_sandbox/wecom_app/posts").json()["posts"]
        return [p["payload"] for p in posts if p["payload"].get("msgtype") == "textcard"]

    deadline = time.monotonic() + 30
    while not cards() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # three more runs of the job
    got = [(c["touser"], c["textcard"]["title"]) for c in cards()]
    assert got == [("zhaoliu", "信息公开提醒：行政处罚决定公示")], workspace.logs()[-3000:]
    text = cards()[0]["textcard"]["description"]
    assert f"{due.month}月{due.day}日" in text and "微博" in text
    with http() as client:
        listed = client.get(f"{server.url}/api/obligations").json()["obligations"]
    assert [(o["name"], o["state"], o["due"]) for o in listed] == [
        ("penalty-decisions", "pending", due.isoformat())
    ]
    assert date.fromisoformat(listed[0]["due"]) == due
