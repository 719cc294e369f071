"""``publisher review ...`` on the command line, with the steps from PUBLISHER_REVIEW_STEPS
(a real SQLite file in an empty folder): list, approve, reject, resubmit, the record in
``notice show`` and the audit entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from publisher.cli import main

NOTICE: dict[str, Any] = {
    "kind": "penalty_disclosure",
    "title": "行政处罚信息公开",
    "body": "某某公司未按规定开展安全培训，依法处以罚款。",
}


@pytest.fixture(autouse=True)
def _workspace(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PUBLISHER_ACCOUNTS",
        json.dumps({"portal": {"type": "portal", "display_name": "门户", "sandbox": True}}),
    )
    monkeypatch.setenv(
        "PUBLISHER_REVIEW_STEPS",
        json.dumps({"penalty_disclosure": ["reviewer", {"role": "signer", "all": False}]}),
    )
    for args in (
        ("zhang", "--role", "editor"),
        ("li", "--role", "reviewer", "--oa-id", "LiSi"),
        ("wang", "--role", "signer"),
    ):
        assert cli("user", "add", *args).exit_code == 0


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def submit(path: Path, notice: dict[str, Any] = NOTICE) -> int:
    path.write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    done = cli("--user", "zhang", "notice", "submit", str(path), "--json")
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["status"] == "awaiting_review" and data["deliveries"] == []
    return int(data["id"])


def test_the_chain_on_the_command_line(clean_env: Path) -> None:
    nid = submit(clean_env / "n.json")
    listed = cli("review", "list", "--user", "li")
    assert listed.exit_code == 0, listed.output
    assert f"#{nid} [penalty_disclosure] 行政处罚信息公开  第 1/2 步 审核" in listed.stdout
    assert "← 待您审核" in listed.stdout
    # nobody can message people here (no OA app account): said in the list, never a failure
    assert "未能通知审核人: 没有可发送工作通知的 OA 账号" in listed.stdout
    assert cli("review", "list", "--user", "wang").stdout == "没有待审核的通知\n"

    own = cli("review", "approve", str(nid), "--user", "zhang")
    assert own.exit_code == 2 and "不能审核自己起草的通知" in own.output
    nobody = cli("review", "approve", str(nid))
    assert nobody.exit_code == 2 and "请用 --user 指定用户名" in nobody.output
    early = cli("review", "approve", str(nid), "--user", "wang")
    assert early.exit_code == 2 and "第 1 步由 审核 审核" in early.output

    ok = cli("review", "approve", str(nid), "--user", "li", "--comment", "内容属实")
    assert ok.exit_code == 0 and "现待第 2/2 步审核" in ok.stdout
    signed = cli("review", "approve", str(nid), "--user", "wang")
    assert signed.exit_code == 0 and "审核通过，已放行发布" in signed.stdout
    late = cli("review", "approve", str(nid), "--user", "li")
    assert late.exit_code == 2 and "已审核完毕" in late.output

    shown = cli("notice", "show", str(nid))
    assert "责任: 起草 zhang；审核(第 1 步) li；签发 wang；放行 wang" in shown.stdout
    data = json.loads(cli("notice", "show", str(nid), "--json").stdout)
    assert data["status"] == "queued" and len(data["deliveries"]) == 1
    entries = json.loads(cli("audit", "--json", "--notice", str(nid)).stdout)
    acts = [
        (e["actor"], e["action"], e["source"]) for e in entries if e["action"] != "review.notify"
    ]
    assert acts == [
        ("zhang", "notice.submit", "cli"),
        ("li", "review.approve", "cli"),
        ("wang", "review.approve", "cli"),
    ]


def test_reject_and_resubmit_on_the_command_line(clean_env: Path) -> None:
    nid = submit(clean_env / "n.json")
    bare = cli("review", "reject", str(nid), "--user", "li")
    assert bare.exit_code == 2  # --comment is required
    no = cli("review", "reject", str(nid), "--user", "li", "--comment", "处罚依据未写明")
    assert no.exit_code == 0 and "退回起草人 zhang" in no.stdout
    mine = cli("review", "list", "--user", "zhang")
    assert "已驳回(rejected)" in mine.stdout and "第 1 步 li 驳回：处罚依据未写明" in mine.stdout
    assert json.loads(cli("notice", "show", str(nid), "--json").stdout)["status"] == "rejected"

    revised = clean_env / "r.json"
    revised.write_text(
        json.dumps({**NOTICE, "body": NOTICE["body"] + "依据《安全生产法》第九十七条。"}),
        encoding="utf-8",
    )
    other = cli("review", "resubmit", str(nid), str(revised), "--user", "li")
    assert other.exit_code == 2 and "无权执行 review resubmit" in other.output
    done = cli("review", "resubmit", str(nid), str(revised), "--user", "zhang")
    assert done.exit_code == 0 and "第 2 轮" in done.stdout
    assert cli("review", "approve", str(nid), "--user", "li").exit_code == 0
    assert cli("review", "approve", str(nid), "--user", "wang").exit_code == 0
    data = json.loads(cli("notice", "show", str(nid), "--json").stdout)
    assert data["record"]["review"]["round"] == 2 and len(data["deliveries"]) == 1


def test_other_kinds_are_not_reviewed(clean_env: Path) -> None:
    path = clean_env / "g.json"
    path.write_text(json.dumps({"kind": "general", "title": "工作动态", "body": "正文"}))
    done = cli("notice", "submit", str(path), "--json")
    assert done.exit_code == 0
    data = json.loads(done.stdout)
    assert data["status"] == "queued" and data["record"]["released_by"] == "operator"


def test_warn_is_reviewed_unless_a_duty_officer_sends_it_red(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cap_samples import alert, info

    monkeypatch.setenv("PUBLISHER_REVIEW_STEPS", json.dumps({"_default": ["reviewer"]}))
    assert cli("user", "add", "duty", "--role", "duty_officer").exit_code == 0
    signal = info(event_codes=[("CMA_SIGNAL", "0204")], headline="市气象台发布暴雨红色预警信号")
    (clean_env / "a.xml").write_bytes(alert(signal, identifier="a1"))
    (clean_env / "b.xml").write_bytes(alert(signal, identifier="b1"))
    held = cli("warn", str(clean_env / "a.xml"), "--json")
    assert held.exit_code == 0, held.output
    assert json.loads(held.stdout)["status"] == "awaiting_review"
    fast = cli("--user", "duty", "warn", str(clean_env / "b.xml"), "--json")
    assert fast.exit_code == 0, fast.output
    data = json.loads(fast.stdout)
    assert data["status"] == "queued" and data["record"]["review"]["flag"] == "待补审"
    listed = cli("review", "list").stdout
    assert "[待补审]" in listed and "已由 duty 于" in listed
