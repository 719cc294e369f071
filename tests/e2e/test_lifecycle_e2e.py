"""Update, lift (解除) and withdraw (撤回) end to end on the four default channels.

``publisher serve`` with its embedded defaults (``portal``, ``weibo``, ``wechat``, ``oa``, all
on the sandbox it mounts), a JSON warning and a JSON notice submitted and posted everywhere,
then ``publisher notice update|lift|withdraw --wait`` and a CAP Alert/Update/Cancel through
``publisher warn``. What this side guarantees is checked, not each channel's wording (the
channel templates of follow-ups are another piece of work): one follow-up delivery per
account, posted exactly once, linked both ways, and the portal's states.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cap_samples import SENDER, alert, info

from .channel_procs import Sandboxes, visible_text
from .procs import Result, Server, Workspace, free_port, http

pytestmark = pytest.mark.slow

BEIJING = timezone(timedelta(hours=8))
NOW = datetime.now(BEIJING).replace(second=0, microsecond=0)
CHANNELS = {"portal", "weibo", "wechat", "oa"}

RED: dict[str, Any] = {
    "kind": "weather_warning",
    "title": "市气象台发布暴雨红色预警信号",
    "body": "预计未来3小时内我市城区将出现100毫米以上强降雨。",
    "fields": {
        "signal": "暴雨",
        "color": "红色",
        "issuer": "市气象台",
        "area": ["城区"],
        "issued_at": NOW.isoformat(),
        "valid_until": (NOW + timedelta(hours=6)).isoformat(),
    },
}
ORANGE: dict[str, Any] = {
    **RED,
    "title": "市气象台发布暴雨橙色预警信号",
    "body": "降雨有所减弱，预计未来3小时内我市城区仍将出现50毫米以上降雨。",
    "fields": {**RED["fields"], "color": "橙色"},
}
PENALTY: dict[str, Any] = {
    "kind": "penalty_disclosure",
    "title": "2026年第三季度行政处罚结果公示",
    "body": "现将本局2026年第三季度作出的行政处罚决定公示如下。处罚对象：华东化工储运有限公司。",
}


@dataclass
class Site:
    ws: Workspace
    server: Server
    sandboxes: Sandboxes

    def cli(self, *args: str) -> Result:
        return self.ws.cli(*args)

    def run(self, *args: str) -> dict[str, Any]:
        done = self.ws.cli(*args, "--wait", "60", "--json")
        assert done.returncode == 0, done
        data: dict[str, Any] = done.json()
        return data

    def page(self, path: str) -> str:
        with http() as client:
            response = client.get(f"{self.server.url}{path}")
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.text

    def counts(self) -> dict[str, int]:
        """What each platform's sandbox holds: Weibo statuses, WeCom messages, WeChat drafts."""
        return {
            "weibo": len(self.sandboxes.weibo()),
            "oa": len(self.sandboxes.wecom()),
            "wechat": len(self.sandboxes.wechat_drafts()),
        }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ws = Workspace(tmp_path_factory.mktemp("lifecycle"))
    try:
        port = free_port()
        ws.env["PUBLISHER_PORT"] = str(port)
        server = ws.serve(port)
        yield Site(ws, server, Sandboxes(f"{server.url}/_sandbox"))
    except BaseException:
        print(ws.logs()[-20_000:])
        raise
    finally:
        ws.close()


def posted_once_everywhere(data: dict[str, Any], original: dict[str, Any] | None = None) -> None:
    """One delivery per default account, each posted at its first attempt, with a remote id
    of its own (not the original's post)."""
    deliveries = {d["channel"]: d for d in data["deliveries"]}
    assert set(deliveries) == CHANNELS, data["deliveries"]
    for channel, d in deliveries.items():
        assert d["status"] == "posted" and d["attempts"] == 1, (channel, d)
    if original is not None:
        before = {d["channel"]: d["remote_id"] for d in original["deliveries"]}
        for channel in ("weibo", "oa"):
            assert deliveries[channel]["remote_id"] != before[channel]


def in_force(site: Site) -> list[int]:
    """The notice ids in the front page's "warnings in force" box."""
    html = site.page("/portal")
    box = re.search(r'<section class="in-force".*?</section>', html, re.S)
    return [int(i) for i in re.findall(r"/portal/notices/(\d+)", box.group(0))] if box else []


def test_a_json_warning_updated_then_lifted_on_every_channel(site: Site) -> None:
    site.ws.write("red.json", RED)
    site.ws.write("orange.json", ORANGE)
    red = site.run("notice", "submit", "red.json")
    posted_once_everywhere(red)
    assert red["id"] in in_force(site)
    before = site.counts()

    orange = site.run("notice", "update", str(red["id"]), "orange.json")
    posted_once_everywhere(orange, red)
    assert orange["follows"]["notice_id"] == red["id"]
    assert orange["follows"]["relation"] == "updates"
    after = site.counts()
    assert after == {k: v + 1 for k, v in before.items()}  # one follow-up post each
    shown = site.cli("notice", "show", str(red["id"]), "--json").json()
    assert shown["followed_by"]["notice_id"] == orange["id"]
    assert {d["status"] for d in shown["deliveries"]} == {"posted"}  # nothing of it re-sent

    old = site.page(f"/portal/notices/{red['id']}")
    assert "本预警已更新" in visible_text(old)
    assert f'href="/portal/notices/{orange["id"]}"' in old or (
        f"/portal/notices/{orange['id']}" in old
    )
    new = site.page(f"/portal/notices/{orange['id']}")
    assert "本预警更新了" in visible_text(new) and "由红色调整为橙色" in visible_text(new)
    assert f"/portal/notices/{red['id']}" in new
    boxed = in_force(site)
    assert orange["id"] in boxed and red["id"] not in boxed

    lift = site.run("notice", "lift", str(orange["id"]), "--reason", "降雨明显减弱")
    posted_once_everywhere(lift, orange)
    assert lift["follows"] == {
        "notice_id": orange["id"],
        "relation": "lifts",
        "title": ORANGE["title"],
        "reason": "降雨明显减弱",
        "at": lift["created_at"],
    }
    assert site.counts() == {k: v + 1 for k, v in after.items()}
    lifted = visible_text(site.page(f"/portal/notices/{orange['id']}"))
    assert "本预警已解除" in lifted and "解除时间" in lifted
    lift_page = site.page(f"/portal/notices/{lift['id']}")
    assert "【解除】" in visible_text(lift_page) and f"/portal/notices/{orange['id']}" in lift_page
    assert in_force(site) == []

    again = site.cli("notice", "lift", str(orange["id"]))
    assert again.returncode == 2 and again.stdout == ""
    assert "不能再解除" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert site.counts() == {k: v + 1 for k, v in after.items()}  # nothing more was posted

    # each follow-up on each account exactly once
    rows = site.ws.query(
        "SELECT notice_id, account, COUNT(*) FROM deliveries WHERE notice_id IN (?, ?, ?) "
        "GROUP BY notice_id, account",
        red["id"],
        orange["id"],
        lift["id"],
    )
    assert len(rows) == 12 and all(n == 1 for *_, n in rows)


def test_a_json_notice_withdrawn_on_every_channel(site: Site) -> None:
    site.ws.write("penalty.json", PENALTY)
    penalty = site.run("notice", "submit", "penalty.json")
    posted_once_everywhere(penalty)
    assert f"/portal/notices/{penalty['id']}" in site.page("/portal/category/penalty_disclosure")
    before = site.counts()
    refused = site.cli("notice", "withdraw", str(penalty["id"]))
    assert refused.returncode == 2 and "撤回必须说明原因" in refused.stderr

    withdrawal = site.run(
        "notice", "withdraw", str(penalty["id"]), "--reason", "处罚决定已依法变更"
    )
    posted_once_everywhere(withdrawal)
    assert withdrawal["follows"]["relation"] == "withdraws"
    # Weibo (statuses/destroy) and WeCom (message/recall, within 24 h) take the original back
    # instead of posting a correction (the accounts' default `recall = true`).
    originals = {d["channel"]: d["remote_id"] for d in penalty["deliveries"]}
    recalled = {d["channel"]: d["remote_id"] for d in withdrawal["deliveries"]}
    assert recalled["weibo"] == originals["weibo"] and recalled["oa"] == originals["oa"]
    weibo = {p["idstr"]: p for _, p in site.sandboxes.weibo()}
    assert weibo[originals["weibo"]].get("deleted") is True
    wecom = {str(p.get("msgid")): p for p in site.sandboxes.get("wecom_app")["posts"]}
    assert wecom[originals["oa"]].get("recalled") is True
    after = site.counts()
    assert after["weibo"] == before["weibo"] and after["oa"] == before["oa"]  # nothing new
    portal = next(d for d in withdrawal["deliveries"] if d["channel"] == "portal")
    assert portal["url"].endswith(f"/portal/notices/{penalty['id']}")  # no page of its own

    page = visible_text(site.page(f"/portal/notices/{penalty['id']}"))
    assert "本信息已撤回" in page and "处罚决定已依法变更" in page and "撤回时间" in page
    assert "华东化工储运有限公司" not in page  # the content is no longer shown
    for path in ("/portal/category/penalty_disclosure", "/portal", "/portal/rss.xml"):
        text = site.page(path)
        for nid in (penalty["id"], withdrawal["id"]):
            assert f"/portal/notices/{nid}<" not in text and f'/portal/notices/{nid}"' not in text
    with http() as client:
        moved = client.get(f"{site.server.url}/portal/notices/{withdrawal['id']}")
    assert moved.status_code == 302
    assert moved.headers["location"] == f"/portal/notices/{penalty['id']}"

    twice = site.cli("notice", "withdraw", str(penalty["id"]), "--reason", "再次")
    assert twice.returncode == 2 and "不能再撤回" in twice.stderr
    shown = site.cli("notice", "show", str(withdrawal["id"])).stdout
    assert f"撤回通知 #{penalty['id']}" in shown and "处罚决定已依法变更" in shown


def test_cap_update_and_cancel_on_every_channel(site: Site) -> None:
    sent = "2026-11-26T16:00:00+08:00"
    red = info(event_codes=[("CMA_SIGNAL", "0204")], headline="市气象台发布暴雨红色预警信号")
    orange = info(event_codes=[("CMA_SIGNAL", "0203")], headline="市气象台更新暴雨橙色预警信号")
    site.ws.write("a.xml", alert(red, identifier="e2e_1"))
    ref = f"{SENDER},e2e_1,{sent}"
    site.ws.write("u.xml", alert(orange, identifier="e2e_2", msg_type="Update", references=ref))
    site.ws.write("c.xml", alert(info(), identifier="e2e_3", msg_type="Cancel", references=ref))
    site.ws.write("x.xml", alert(info(), identifier="e2e_4", msg_type="Cancel", references=ref))
    first = site.run("warn", "a.xml")
    posted_once_everywhere(first)
    update = site.run("warn", "u.xml")
    posted_once_everywhere(update, first)
    assert update["cap"]["msgType"] == "Update" and update["cap"]["references"] == [ref]
    assert site.run("warn", "u.xml")["id"] == update["id"]  # the same Update again
    cancel = site.run("warn", "c.xml")
    posted_once_everywhere(cancel, update)
    assert cancel["cap"]["msgType"] == "Cancel"
    shown = site.cli("notice", "show", str(update["id"]), "--json").json()
    assert shown["follows"]["notice_id"] == first["id"]
    assert shown["followed_by"]["notice_id"] == cancel["id"]
    assert site.run("warn", "c.xml")["id"] == cancel["id"]
    lifted_twice = site.cli("warn", "x.xml")
    assert lifted_twice.returncode == 2 and "不能再解除" in lifted_twice.stderr

    feed = site.page("/portal/cap.xml")
    assert "<msgType>Update</msgType>" in feed.replace("cap:", "")
    assert "<msgType>Cancel</msgType>" in feed.replace("cap:", "")
    message = site.page(f"/portal/notices/{cancel['id']}/cap.xml")
    assert "Cancel" in message and f"notice.{update['id']}," in message  # references the update
