"""Follow-ups by API and command line (issue 11): ``PUT /api/notices/{id}``, ``POST
…/lift``, ``POST …/withdraw``, ``DELETE /api/notices/{id}``; ``publisher notice
update|lift|withdraw``. Statuses and exit codes as for submitting, one Chinese line for a
refusal, links shown on both sides, an audit entry for each."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from publisher.cli import main
from publisher.clock import SystemClock
from publisher.store import open_store
from tests.helpers import app_client

WARNING: dict[str, Any] = {
    "kind": "weather_warning",
    "title": "市气象台发布暴雨红色预警信号",
    "body": "预计未来3小时有强降雨。",
    "fields": {"signal": "暴雨", "color": "红色", "issuer": "市气象台"},
}
ORANGE: dict[str, Any] = {
    **WARNING,
    "title": "市气象台发布暴雨橙色预警信号",
    "fields": {**WARNING["fields"], "color": "橙色"},
}
GENERAL: dict[str, Any] = {"kind": "general", "title": "关于开展安全检查的通知", "body": "正文"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def client(clean_env: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(clean_env) as http:
        yield http


async def api_audit(folder: Path) -> list[Any]:
    store = open_store(f"sqlite:///{folder / 'publisher.db'}", SystemClock())
    try:
        return await store.audit_entries()
    finally:
        await store.close()


async def submit(client: httpx.AsyncClient, body: dict[str, Any]) -> int:
    made = await client.post("/api/notices", content=json.dumps(body), headers=JSON)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def one_line(response: httpx.Response, status: int, says: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert says in error and "\n" not in error, error


def audit() -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["audit", "--json"])
    assert result.exit_code == 0, result.output
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


async def test_update_lift_and_withdraw_by_api(client: httpx.AsyncClient, clean_env: Path) -> None:
    red = await submit(client, WARNING)
    put = await client.put(f"/api/notices/{red}", content=json.dumps(ORANGE), headers=JSON)
    assert put.status_code == 201, put.text
    orange = put.json()
    assert orange["follows"]["notice_id"] == red and orange["follows"]["relation"] == "updates"
    assert orange["followed_by"] is None and orange["title"] == ORANGE["title"]
    shown = (await client.get(f"/api/notices/{red}")).json()
    assert shown["followed_by"]["notice_id"] == orange["id"] and shown["follows"] is None

    lift = await client.post(f"/api/notices/{orange['id']}/lift", json={"reason": "雨势减弱"})
    assert lift.status_code == 201, lift.text
    assert lift.json()["follows"] == {
        "notice_id": orange["id"],
        "relation": "lifts",
        "title": ORANGE["title"],
        "reason": "雨势减弱",
        "at": lift.json()["created_at"],
    }
    one_line(await client.post(f"/api/notices/{orange['id']}/lift"), 409, "不能再解除")
    one_line(
        await client.put(f"/api/notices/{orange['id']}", content=json.dumps(ORANGE), headers=JSON),
        409,
        "不能再更新",
    )
    one_line(
        await client.post(f"/api/notices/{orange['id']}/withdraw", json={"reason": "x"}),
        409,
        "不能再撤回",
    )
    one_line(await client.post(f"/api/notices/{red}/lift"), 409, "请对最新的通知解除")

    general = await submit(client, GENERAL)
    one_line(await client.post(f"/api/notices/{general}/lift"), 422, "只有预警可以解除")
    one_line(await client.post(f"/api/notices/{general}/withdraw"), 422, "撤回必须说明原因")
    one_line(await client.delete(f"/api/notices/{general}"), 422, "撤回必须说明原因")
    one_line(await client.delete("/api/notices/99999?reason=x"), 404, "没有 id 为 99999 的通知")
    one_line(await client.post("/api/notices/99999/lift"), 404, "99999")
    extra = await client.post(f"/api/notices/{general}/withdraw", json={"why": "x"})
    assert extra.status_code == 422  # an unknown field is refused, never ignored
    gone = await client.delete(f"/api/notices/{general}", params={"reason": "内容有误"})
    assert gone.status_code == 201, gone.text
    assert gone.json()["follows"]["reason"] == "内容有误"
    assert gone.json()["title"].startswith("【撤回】")

    entries = await api_audit(clean_env)
    actions = [(e.action, e.notice_id, e.detail.get("follows")) for e in entries]
    assert ("notice.update", orange["id"], red) in actions
    assert ("notice.lift", lift.json()["id"], orange["id"]) in actions
    assert ("notice.withdraw", gone.json()["id"], general) in actions
    assert len([a for a in actions if a[0].startswith("notice.") and a[2]]) == 3  # refusals: none


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.mark.usefixtures("clean_env")
def test_update_lift_and_withdraw_on_the_command_line() -> None:
    Path("red.json").write_text(json.dumps(WARNING, ensure_ascii=False), encoding="utf-8")
    Path("orange.json").write_text(json.dumps(ORANGE, ensure_ascii=False), encoding="utf-8")
    Path("general.json").write_text(json.dumps(GENERAL, ensure_ascii=False), encoding="utf-8")
    red = json.loads(cli("notice", "submit", "red.json", "--json").stdout)["id"]

    updated = cli("notice", "update", str(red), "orange.json", "--json")
    assert updated.exit_code == 0, updated.output
    orange = json.loads(updated.stdout)
    assert orange["follows"]["notice_id"] == red
    assert {d["channel"] for d in orange["deliveries"]} == {"portal", "weibo", "wechat", "oa"}

    text = cli("notice", "show", str(red))
    assert f"被通知 #{orange['id']} 更新" in text.stdout
    text = cli("notice", "show", str(orange["id"]))
    assert f"更新通知 #{red} {WARNING['title']}" in text.stdout

    lifted = cli("notice", "lift", str(orange["id"]), "--reason", "雨势减弱")
    assert lifted.exit_code == 0, lifted.output
    assert "【解除】" in lifted.stdout and f"解除通知 #{orange['id']}" in lifted.stdout
    again = cli("notice", "lift", str(orange["id"]))
    assert again.exit_code == 2 and again.stdout == ""
    assert "不能再解除" in again.stderr and len(again.stderr.strip().splitlines()) == 1

    general = json.loads(cli("notice", "submit", "general.json", "--json").stdout)["id"]
    no_reason = cli("notice", "withdraw", str(general))
    assert no_reason.exit_code == 2 and "撤回必须说明原因" in no_reason.stderr
    not_a_warning = cli("notice", "lift", str(general))
    assert not_a_warning.exit_code == 2 and "只有预警可以解除" in not_a_warning.stderr
    unknown = cli("notice", "withdraw", "777", "--reason", "x")
    assert unknown.exit_code == 2 and "没有 id 为 777 的通知" in unknown.stderr
    done = cli("notice", "withdraw", str(general), "--reason", "处罚决定已变更", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["follows"]["reason"] == "处罚决定已变更"
    # the deliveries the original had not started were cancelled with it
    shown = json.loads(cli("notice", "show", str(general), "--json").stdout)
    assert {d["status"] for d in shown["deliveries"]} == {"cancelled"}
    assert shown["followed_by"]["relation"] == "withdraws"

    entries = [
        e for e in audit() if e["action"] in ("notice.update", "notice.lift", "notice.withdraw")
    ]
    assert [e["action"] for e in entries] == ["notice.update", "notice.lift", "notice.withdraw"]
    assert all(e["source"] == "cli" for e in entries)
