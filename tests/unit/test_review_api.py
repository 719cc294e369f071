"""The review chain over the API: held notices, who may decide, 403 / 409, revision and
rejection, the fast path, the record and the audit (in-process app, a real SQLite file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from publisher.auth.secrets import new_token, token_digest
from publisher.settings import load_settings
from publisher.web.app import create_app

PORTAL_ONLY = {"portal": {"type": "portal", "display_name": "门户网站", "sandbox": True}}
SERVICE_TOKEN = "service-" + "s" * 32
STEPS = {
    "_default": ["reviewer", "signer"],
    "weather_warning": ["reviewer"],
    "accident_report": [{"role": "reviewer", "all": True}],
}
NOTICE: dict[str, Any] = {
    "kind": "general",
    "title": "关于开展安全生产大检查的通知",
    "body": "各有关单位：请于本月底前完成自查，其它事项另行通知。",
}


def warning(color: str) -> dict[str, Any]:
    return {
        "kind": "weather_warning",
        "title": f"暴雨{color}预警",
        "body": "预计未来 3 小时城区将出现强降雨。",
        "fields": {"signal": "暴雨", "color": color},
    }


class Api:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.tokens: dict[str, str] = {"service": SERVICE_TOKEN}
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://test")

    async def user(self, name: str, *roles: str) -> None:
        store = self.app.state.runtime.store
        await store.add_user(name, roles)
        self.tokens[name] = new_token()
        await store.replace_token(name, token_digest(self.tokens[name]))

    async def call(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kw.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kw)

    async def submit(self, who: str, notice: dict[str, Any] = NOTICE) -> dict[str, Any]:
        answer = await self.call(who, "POST", "/api/notices", json=notice)
        assert answer.status_code == 201, answer.text
        data: dict[str, Any] = answer.json()
        return data

    async def approve(self, who: str, nid: int, **body: Any) -> httpx.Response:
        return await self.call(who, "POST", f"/api/notices/{nid}/approve", json=body)

    async def reviews(self, who: str) -> list[dict[str, Any]]:
        answer = await self.call(who, "GET", "/api/reviews")
        assert answer.status_code == 200, answer.text
        data: list[dict[str, Any]] = answer.json()
        return data

    async def notice(self, nid: int) -> dict[str, Any]:
        answer = await self.call("service", "GET", f"/api/notices/{nid}")
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
        accounts=PORTAL_ONLY,
        metrics_interval=0,
        api_token=SERVICE_TOKEN,
        review_steps=STEPS,
    )
    app = create_app(settings, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        made = Api(app)
        await made.user("editor1", "editor")
        await made.user("duty1", "duty_officer")
        await made.user("rev1", "reviewer")
        await made.user("rev2", "reviewer")
        await made.user("sign1", "signer")
        await made.user("both", "reviewer", "signer")
        await made.user("selfrev", "editor", "reviewer")
        await made.user("comms", "comms_officer")
        yield made
        await made.http.aclose()


async def test_a_submitted_notice_awaits_review_and_nothing_is_queued(api: Api) -> None:
    data = await api.submit("editor1")
    assert data["status"] == "awaiting_review"
    assert data["deliveries"] == []
    assert data["record"]["drafted_by"] == "editor1" and data["record"]["released_by"] is None
    nid = data["id"]

    mine = await api.reviews("rev1")
    assert [r["notice_id"] for r in mine] == [nid] and mine[0]["yours"]
    assert mine[0]["step"] == 1 and mine[0]["steps"][0]["role"] == "reviewer"
    assert mine[0]["waiting_for"] == ["both", "rev1", "rev2", "selfrev"]
    assert any("其它" in w for w in mine[0]["warnings"])  # discouraged wording, shown
    assert await api.reviews("sign1") == []  # not the signer's turn yet
    assert [r["yours"] for r in await api.reviews("editor1")] == [False]  # the author's own

    assert (await api.approve("rev1", nid)).status_code == 200
    assert (await api.notice(nid))["deliveries"] == []  # one step left: nothing yet
    assert [r["notice_id"] for r in await api.reviews("sign1")] == [nid]
    last = await api.approve("sign1", nid, comment="同意发布")
    assert last.status_code == 200 and last.json()["released"] is True

    shown = await api.notice(nid)
    assert shown["status"] == "queued" and [d["channel"] for d in shown["deliveries"]] == ["portal"]
    record = shown["record"]
    assert [r["actor"] for r in record["reviewed_by"]] == ["rev1"]
    assert [r["actor"] for r in record["signed_by"]] == ["sign1"]
    assert record["released_by"] == "sign1" and record["review"]["state"] == "approved"
    assert await api.reviews("rev1") == []


async def test_the_author_and_the_wrong_role_get_403(api: Api) -> None:
    nid = (await api.submit("selfrev"))["id"]
    own = await api.approve("selfrev", nid)
    assert own.status_code == 403 and "不能审核自己" in own.json()["error"]
    wrong = await api.approve("sign1", nid)
    assert wrong.status_code == 403 and "审核" in wrong.json()["error"]
    service = await api.approve("service", nid)
    assert service.status_code == 403  # approvals name a person
    assert (await api.approve("comms", nid)).status_code == 403
    assert (await api.notice(nid))["status"] == "awaiting_review"


async def test_nobody_approves_twice_in_one_chain(api: Api) -> None:
    nid = (await api.submit("editor1"))["id"]
    assert (await api.approve("both", nid)).status_code == 200
    twice = await api.approve("both", nid)  # now the signer's step: both holds signer too
    assert twice.status_code == 403 and "不能审核两次" in twice.json()["error"]
    assert (await api.notice(nid))["deliveries"] == []


async def test_a_step_already_decided_answers_409(api: Api) -> None:
    nid = (await api.submit("editor1", warning("黄色")))["id"]  # one step: reviewer
    assert (await api.approve("rev1", nid)).status_code == 200
    late = await api.approve("rev2", nid)
    assert late.status_code == 409 and "已审核完毕" in late.json()["error"]
    again = await api.call("rev2", "POST", f"/api/notices/{nid}/reject", json={"comment": "不同意"})
    assert again.status_code == 409
    assert len((await api.notice(nid))["deliveries"]) == 1  # released once


async def test_an_edit_after_approval_voids_it(api: Api) -> None:
    nid = (await api.submit("editor1"))["id"]
    seen = (await api.reviews("rev1"))[0]["fingerprint"]
    assert (await api.approve("rev1", nid, fingerprint=seen)).status_code == 200
    revised = {**NOTICE, "body": "各有关单位：请于下月底前完成自查。"}
    other = await api.call("rev1", "POST", f"/api/notices/{nid}/resubmit", json=revised)
    assert other.status_code == 403  # only the author revises
    done = await api.call("editor1", "POST", f"/api/notices/{nid}/resubmit", json=revised)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "awaiting_review"
    item = (await api.reviews("rev2"))[0]
    assert item["round"] == 2 and item["step"] == 1 and item["fingerprint"] != seen
    assert all(s["decisions"] == [] for s in item["steps"])  # the approval is void
    assert (await api.approve("sign1", nid)).status_code == 403  # back at the reviewer's step
    stale = await api.approve("rev2", nid, fingerprint=seen)
    assert stale.status_code == 409 and "已被修改" in stale.json()["error"]
    assert (await api.approve("rev1", nid, fingerprint=item["fingerprint"])).status_code == 200
    assert (await api.approve("sign1", nid)).json()["released"] is True
    body = (await api.call("service", "GET", f"/api/notices/{nid}")).json()
    assert [r["actor"] for r in body["record"]["reviewed_by"]] == ["rev1"]


async def test_a_rejection_goes_back_to_the_author_who_resubmits(api: Api) -> None:
    nid = (await api.submit("editor1"))["id"]
    bare = await api.call("rev1", "POST", f"/api/notices/{nid}/reject", json={})
    assert bare.status_code == 422  # a rejection says why
    no = await api.call(
        "rev1", "POST", f"/api/notices/{nid}/reject", json={"comment": "标题不准确"}
    )
    assert no.status_code == 200 and no.json()["state"] == "rejected"
    assert (await api.notice(nid))["status"] == "rejected"
    assert await api.reviews("rev2") == []
    mine = await api.reviews("editor1")
    assert mine[0]["rejected"]["comment"] == "标题不准确" and mine[0]["rejected"]["by"] == "rev1"
    assert (await api.approve("rev2", nid)).status_code == 409

    revised = {**NOTICE, "title": "关于开展安全生产大检查的补充通知"}
    done = await api.call("editor1", "POST", f"/api/notices/{nid}/resubmit", json=revised)
    assert done.status_code == 200 and done.json()["title"] == revised["title"]
    assert (await api.approve("rev1", nid)).status_code == 200  # a new round
    assert (await api.approve("sign1", nid)).json()["released"] is True
    audit = await api.app.state.runtime.store.audit_entries(notice_id=nid)
    actions = [(e.actor, e.action, e.source) for e in audit if e.action != "review.notify"]
    assert actions == [
        ("editor1", "notice.submit", "api"),
        ("rev1", "review.reject", "api"),
        ("editor1", "review.resubmit", "api"),
        ("rev1", "review.approve", "api"),
        ("sign1", "review.approve", "api"),
    ]


async def test_everyone_is_reviewed_even_the_service_token(api: Api) -> None:
    data = await api.submit("service")
    assert data["status"] == "awaiting_review"
    assert (await api.approve("rev1", data["id"])).status_code == 200


async def test_a_duty_officers_orange_warning_goes_out_at_once_flagged(api: Api) -> None:
    data = await api.submit("duty1", warning("橙色"))
    assert data["status"] == "queued" and len(data["deliveries"]) == 1
    assert data["record"]["released_by"] == "duty1"
    assert data["record"]["review"]["flag"] == "待补审"
    flagged = await api.reviews("rev1")
    assert flagged[0]["flagged"] and flagged[0]["flag"] == "待补审"
    assert (await api.approve("rev1", data["id"])).status_code == 200
    assert await api.reviews("rev1") == []
    after = (await api.notice(data["id"]))["record"]
    assert after["review"]["flag"] is None and after["released_by"] == "duty1"

    yellow = await api.submit("duty1", warning("黄色"))  # not orange or red: reviewed first
    assert yellow["status"] == "awaiting_review"
    red = await api.submit("editor1", warning("红色"))  # not a duty officer
    assert red["status"] == "awaiting_review"


async def test_without_review_steps_nothing_changes(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
        accounts=PORTAL_ONLY,
        metrics_interval=0,
    )
    app = create_app(settings, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            data = (await http.post("/api/notices", json=NOTICE)).json()
            assert data["status"] == "queued" and len(data["deliveries"]) == 1
            assert data["record"]["released_by"] == "api" and data["record"]["review"] is None
            assert (await http.get("/api/reviews")).json() == []


def test_bad_review_steps_are_refused_with_one_line() -> None:
    from publisher.errors import ConfigError

    for bad, words in [
        ({"nokind": ["reviewer"]}, "未知的通知类型"),
        ({"_default": ["boss"]}, "未知角色"),
        ({"_default": ["reviewer"] * 4}, "0 到 3 个步骤"),
        ({"_default": [{"users": []}]}, "非空的用户名列表"),
        ({"_default": [{"role": "signer", "all": "yes"}]}, "all 应为 true 或 false"),
    ]:
        with pytest.raises((ConfigError, ValueError), match=words):
            load_settings(review_steps=bad)


async def test_a_cap_warning_is_reviewed_unless_a_duty_officer_sends_it_red(api: Api) -> None:
    from cap_samples import alert, info

    def red(identifier: str) -> bytes:
        signal = info(event_codes=[("CMA_SIGNAL", "0204")], headline="市气象台发布暴雨红色预警信号")
        return alert(signal, identifier=identifier)

    cap = {"Content-Type": "application/cap+xml"}
    by_editor = await api.call("editor1", "POST", "/api/warnings", content=red("e1"), headers=cap)
    assert by_editor.status_code == 201, by_editor.text
    assert by_editor.json()["status"] == "awaiting_review"
    assert by_editor.json()["deliveries"] == []
    by_duty = await api.call("duty1", "POST", "/api/warnings", content=red("d1"), headers=cap)
    assert by_duty.status_code == 201, by_duty.text
    assert by_duty.json()["status"] == "queued"
    assert by_duty.json()["record"]["review"]["flag"] == "待补审"


async def test_an_all_step_waits_for_every_holder_of_the_role(api: Api) -> None:
    report = {"kind": "accident_report", "title": "一起事故的调查情况", "body": "调查已结束。"}
    nid = (await api.submit("editor1", report))["id"]
    item = (await api.reviews("rev1"))[0]
    assert item["steps"][0]["all"] and item["steps"][0]["who"] == "审核（全部）"
    for who in ("rev1", "rev2", "both"):
        answer = await api.approve(who, nid)
        assert answer.status_code == 200 and answer.json()["released"] is False
    assert (await api.reviews("selfrev"))[0]["waiting_for"] == ["selfrev"]
    assert (await api.notice(nid))["deliveries"] == []
    last = await api.approve("selfrev", nid)
    assert last.json()["released"] is True
    assert len((await api.notice(nid))["deliveries"]) == 1
