"""The ways a CAP warning comes in: ``publisher warn``, ``POST /api/warnings``, and feeds.
Each answers like ``notice submit``; the same CAP message twice is one notice, posted once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cap_samples import IDENTIFIER, OASIS_EXAMPLE, SENDER, alert, info
from click.testing import CliRunner

from publisher.cli import main
from tests.helpers import app_client

RED = alert(info(event_codes=[("CMA_SIGNAL", "0204")], headline="市气象台发布暴雨红色预警信号"))
EXPIRED = alert(info(effective="2026-01-01T06:00:00+08:00", expires="2026-01-01T08:00:00+08:00"))


# -- the command line ------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_env")
def test_warn_publishes_once_per_identifier_and_shows_the_cap_message() -> None:
    Path("red.xml").write_bytes(RED)
    runner = CliRunner()

    first = runner.invoke(main, ["warn", "red.xml", "--json"])
    assert first.exit_code == 0, first.output
    shown = json.loads(first.stdout)
    assert shown["kind"] == "weather_warning" and shown["title"] == "市气象台发布暴雨红色预警信号"
    assert shown["cap"] == {
        "identifier": IDENTIFIER,
        "msgType": "Alert",
        "status": "Actual",
        "references": [],
    }
    assert shown["idempotency_key"] == f"cap:{SENDER}:{IDENTIFIER}"
    assert {d["status"] for d in shown["deliveries"]} == {"pending"}

    again = runner.invoke(main, ["warn", "-", "--json"], input=RED)  # standard input
    assert again.exit_code == 0, again.output
    replay = json.loads(again.stdout)
    assert replay["id"] == shown["id"]
    assert [d["id"] for d in replay["deliveries"]] == [d["id"] for d in shown["deliveries"]]

    text = runner.invoke(main, ["warn", "red.xml"])
    assert text.exit_code == 0, text.output
    assert f"CAP: {IDENTIFIER}  Alert  Actual" in text.stdout


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("doc", "says"),
    [
        (RED.replace(b"<event>", b"<evt>", 1).replace(b"</event>", b"</evt>", 1), "缺少必需元素"),
        (EXPIRED, "失效 (expires)，不再发布"),
        (OASIS_EXAMPLE.read_bytes(), "没有中文内容"),
        (RED + b" " * (2 * 1024 * 1024), "超过 1 MB"),
    ],
    ids=["invalid", "expired", "oasis-example", "2-MB"],
)
def test_warn_refuses_with_exit_2_one_line_and_stores_nothing(doc: bytes, says: str) -> None:
    Path("w.xml").write_bytes(doc)
    runner = CliRunner()
    refused = runner.invoke(main, ["warn", "w.xml"])
    assert refused.exit_code == 2, refused.output
    assert says in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert refused.stdout == ""
    listed = runner.invoke(main, ["notice", "show", "1"])
    assert listed.exit_code == 2 and "1" in listed.stderr  # no notice #1 was stored


@pytest.mark.usefixtures("clean_env")
def test_warn_takes_an_update_as_a_follow_up_of_the_warning_it_references() -> None:
    ref = f"{SENDER},{IDENTIFIER},2026-11-26T16:00:00+08:00"
    Path("u.xml").write_bytes(alert(identifier="u_2", msg_type="Update", references=ref))
    runner = CliRunner()
    unknown = runner.invoke(main, ["warn", "u.xml", "--json"])  # nothing to update yet
    assert unknown.exit_code == 2, unknown.output
    assert "未曾收到，无法更新" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1
    Path("red.xml").write_bytes(RED)
    first = runner.invoke(main, ["warn", "red.xml", "--json"])
    assert first.exit_code == 0, first.output
    taken = runner.invoke(main, ["warn", "u.xml", "--json"])
    assert taken.exit_code == 0, taken.output
    original = json.loads(first.stdout)["id"]
    assert f"已作为通知 #{original} 的后续发布" in taken.stderr
    assert json.loads(taken.stdout)["cap"]["references"] == [ref]
    shown = runner.invoke(main, ["notice", "show", str(original), "--json"])
    assert json.loads(shown.stdout)["followed_by"]["relation"] == "updates"


# -- the API ---------------------------------------------------------------------------------


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(tmp_path) as http:
        yield http


async def post(client: httpx.AsyncClient, body: bytes, media: str = "application/cap+xml") -> Any:
    return await client.post("/api/warnings", content=body, headers={"Content-Type": media})


async def test_the_api_publishes_once_and_answers_like_notices(client: httpx.AsyncClient) -> None:
    first = await post(client, RED)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["cap"]["identifier"] == IDENTIFIER and body["kind"] == "weather_warning"
    again = await post(client, RED, "application/xml; charset=utf-8")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == body["id"]
    assert len((await client.get("/api/deliveries")).json()) == 1  # the portal, once
    shown = (await client.get(f"/api/notices/{body['id']}")).json()
    assert shown["title"] == "市气象台发布暴雨红色预警信号"


@pytest.mark.parametrize(
    ("doc", "media", "status", "says"),
    [
        (RED.replace(b"cap:1.2", b"cap:1.1"), "application/cap+xml", 400, "命名空间"),
        (b"<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>",
         "application/xml", 400, "含有 DTD"),
        (RED + b" " * (2 * 1024 * 1024), "application/cap+xml", 400, "超过 1 MB"),
        (RED, "application/json", 415, "application/cap+xml"),
        (RED, "text/plain", 415, "text/plain"),
        (EXPIRED, "application/cap+xml", 422, "不再发布"),
    ],
    ids=["namespace", "xxe", "2-MB", "json", "text", "expired"],
)  # fmt: skip
async def test_the_api_refuses_in_one_line_and_stores_nothing(
    client: httpx.AsyncClient, doc: bytes, media: str, status: int, says: str
) -> None:
    response = await post(client, doc, media)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert says in error and "\n" not in error, error
    assert (await client.get("/api/deliveries")).json() == []
