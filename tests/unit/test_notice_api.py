"""``POST /api/notices`` reads a notice as strictly as a file, and its OpenAPI document says
what a notice is (per kind); ``notice submit --now`` and ``allow_past`` publish a past date.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from publisher.cli import main
from tests.helpers import app_client

GENERAL: dict[str, Any] = {"kind": "general", "title": "关于开展安全检查的通知", "body": "正文"}
WARNING: dict[str, Any] = {
    "kind": "weather_warning",
    "title": "市气象台发布暴雨橙色预警信号",
    "body": "预计未来3小时有强降雨。",
    "fields": {"signal": "暴雨", "color": "橙色", "issuer": "市气象台"},
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The application in this process (lifespan run), without a worker: nothing is sent."""
    async with app_client(tmp_path) as http:
        yield http


async def post(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return await client.post(
        "/api/notices", content=raw, headers={"Content-Type": "application/json"}
    )


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({**WARNING, "fields": {"colour": "橙色"}}, "fields.colour: 未知字段，是否应为 color？"),
        ({**WARNING, "fields": {"color": 5}}, "fields.color: 应为 "),
        ({**WARNING, "fields": {"signal": {"a": 1}}}, "fields.signal: 应为文本"),
        ({**WARNING, "fields": {"advice": 5}}, "fields.advice: 应为列表"),
        ({**WARNING, "fields": {"area": 5}}, "fields.area: 应为列表"),
        ({**WARNING, "fields": {"issued_at": 5}}, "fields.issued_at: 应为带时区的日期时间"),
        ({**WARNING, "fields": {"valid_until": 5}}, "fields.valid_until: 应为带时区的日期时间"),
        ({**WARNING, "fields": {"withdrawn": True}}, "fields.withdrawn: 未知字段"),
        ({**WARNING, "fields": {"portal_url": "https://evil.example/phish"}}, "fields.portal_url"),
        ({**GENERAL, "urgent": "yes"}, "urgent: 应为布尔值"),
        ({**GENERAL, "title": "暴雨\u202e预警"}, "title: 含有不允许的字符 U+202E"),
        ({**GENERAL, "fields": {"a\u0000b": 1}}, "字段名含有不允许的字符 U+0000"),
        (
            {**GENERAL, "fields": {"attachments": [{"name": "a", "url": "/\\evil.example/x"}]}},
            "fields.attachments.1.url: ",
        ),
        ({**WARNING, "fields": {"valid_until": ago(hours=1)}}, "fields.valid_until: 已经过去"),
        ({**GENERAL, "publish_at": "2025-01-01T09:00:00+08:00"}, "publish_at: 早于当前时间"),
        (
            b'{"kind": "general", "title": "t", "body": "b", "fields": {"issuer": "\\udfff"}}',
            "U+DFFF",
        ),
        (
            b'{"kind": "general", "title": "t", "body": "b", '
            b'"table": {"columns": ["a"], "rows": [[NaN], [1]]}}',
            "table.rows.1.1: 应为有限的数字",
        ),
        (
            b'{"kind": "general", "title": "t", "body": "b", '
            b'"table": {"columns": ["a"], "rows": [[1e999]]}}',
            "table.rows.1.1: 应为有限的数字",
        ),
        (
            b'{"kind": "general", "title": "t", "body": "b", "table": {"columns": ["a"], "rows": [['
            + b"9" * 5000
            + b"]]}}",
            "table.rows.1.1: 数字超出范围",
        ),
        (b'{"kind": "general", "title": "t",', "请求体不是有效的 JSON"),
    ],
)
async def test_the_api_refuses_with_one_line_and_writes_nothing(
    client: httpx.AsyncClient, body: Any, says: str
) -> None:
    response = await post(client, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert says in error and "\n" not in error, error
    assert (await client.get("/api/deliveries")).json() == []


async def test_allow_past_publishes_a_past_date_now(client: httpx.AsyncClient) -> None:
    response = await post(client, {**GENERAL, "publish_at": ago(days=2), "allow_past": True})
    assert response.status_code == 201, response.text
    (delivery,) = response.json()["deliveries"]
    assert delivery["status"] == "pending"


async def test_the_openapi_document_shows_the_notice_per_kind(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/api/notices"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is True
    assert schema["discriminator"]["propertyName"] == "kind"
    shapes = {s["properties"]["kind"]["const"]: s for s in schema["oneOf"]}
    assert set(shapes) == {
        "weather_warning",
        "approval_list",
        "penalty_disclosure",
        "accident_report",
        "budget_disclosure",
        "general",
    }
    warning_fields = shapes["weather_warning"]["properties"]["fields"]
    assert warning_fields["additionalProperties"] is False
    assert {"signal", "color", "issuer", "area", "issued_at", "valid_until", "advice"} <= set(
        warning_fields["properties"]
    )
    assert "period" in shapes["penalty_disclosure"]["properties"]["fields"]["properties"]
    assert "allow_past" in shapes["general"]["properties"]
    assert "$ref" not in json.dumps(schema)  # nothing it points at is missing
    assert schema != {"title": "Body"}  # what /docs showed before


# -- the command line ------------------------------------------------------------------------


@pytest.mark.usefixtures("clean_env")
def test_notice_submit_refuses_a_past_publish_at_unless_now_is_given() -> None:
    notice = {**GENERAL, "publish_at": "2025-03-01T09:00:00+08:00"}
    Path("n.json").write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()

    refused = runner.invoke(main, ["notice", "submit", "n.json", "--json"])
    assert refused.exit_code == 2, refused.output
    assert "publish_at: 早于当前时间 5 分钟以上" in refused.stderr
    assert "--now" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    taken = runner.invoke(main, ["notice", "submit", "n.json", "--json", "--now"])
    assert taken.exit_code == 0, taken.output
    shown = json.loads(taken.stdout)
    assert {d["status"] for d in shown["deliveries"]} == {"pending"}
