"""``publisher check`` exit codes and output; intake refuses errors; preview shows warnings.

Errors: exit 2 (HTTP 422), one line per finding, nothing written. Warnings: exit 0, printed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from publisher.cli import main
from tests.helpers import app_client

pytestmark = pytest.mark.usefixtures("clean_env")

CLEAN: dict[str, Any] = {
    "kind": "general",
    "title": "关于开展冬季安全生产大检查的通知",
    "body": "根据《中华人民共和国安全生产法》，市应急管理局决定开展大检查。",
}
MISSPELT = {**CLEAN, "body": "根据《中华人民共合国安全生产法》，市应急管理局决定开展大检查。"}
DISCOURAGED = {**CLEAN, "summary": "其它事项另行通知"}
BAD_ATTACHMENT = {**CLEAN, "fields": {"attachments": [{"name": "a.exe", "url": "/a.exe"}]}}


def run(*args: str, notice: dict[str, Any] | None = None) -> Result:
    if notice is not None:
        Path("notice.json").write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    return CliRunner().invoke(main, list(args))


def test_a_clean_notice_exits_0() -> None:
    result = run("check", "notice.json", notice=CLEAN)
    assert result.exit_code == 0, result.output
    assert result.stdout == "检查通过\n"


def test_warnings_only_exit_0_and_are_printed() -> None:
    result = run("check", "notice.json", notice=DISCOURAGED)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "警告: summary 第1个字符起: 不建议使用「其它」，建议改为「其他」",
        "检查完成: 0 处错误，1 处警告",
    ]


def test_errors_exit_2_with_one_line_each() -> None:
    result = run(
        "check", "notice.json", notice={**MISSPELT, **BAD_ATTACHMENT, "body": MISSPELT["body"]}
    )
    assert result.exit_code == 2, result.output
    out = result.stdout.splitlines()
    assert out[0] == "错误: body 第4个字符起: 中华人民共合国 疑为 中华人民共和国"
    assert out[1].startswith("错误: fields.attachments[1].name: 附件「a.exe」的类型 .exe")
    assert out[2] == "检查完成: 2 处错误，0 处警告"


def test_json_output() -> None:
    result = run("check", "notice.json", "--json", notice=MISSPELT)
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["warnings"] == []
    (error,) = data["errors"]
    assert error["check"] == "names" and error["where"] == "body" and error["position"] == 4


def test_a_file_that_is_not_a_notice_exits_2_with_one_line() -> None:
    Path("notice.json").write_text("{", encoding="utf-8")
    result = run("check", "notice.json")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_checks_dir_is_a_setting_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_CHECKS_DIR", "/nonexistent/checks")
    result = run("check", "notice.json", notice=CLEAN)
    assert result.exit_code == 2
    assert "PUBLISHER_CHECKS_DIR" in result.stderr and "Traceback" not in result.output


def test_preview_prints_warnings_and_refuses_errors() -> None:
    shown = run("preview", "notice.json", "--channel", "portal", notice=DISCOURAGED)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[-1] == (
        "警告: summary 第1个字符起: 不建议使用「其它」，建议改为「其他」"
    )
    as_json = run("preview", "notice.json", "--channel", "portal", "--json")
    assert json.loads(as_json.stdout)[0]["channel"] == "portal"  # JSON keeps its shape
    assert "publisher: 警告: summary" in as_json.stderr

    refused = run("preview", "notice.json", notice=MISSPELT)
    assert refused.exit_code == 2
    assert "body 第4个字符起: 中华人民共合国 疑为 中华人民共和国" in refused.stderr


def test_notice_submit_refuses_errors_and_writes_nothing(clean_env: Path) -> None:
    result = run("notice", "submit", "notice.json", notice=MISSPELT)
    assert result.exit_code == 2
    assert "中华人民共合国 疑为 中华人民共和国" in result.stderr
    with sqlite3.connect(clean_env / "publisher.db") as conn:  # opened, migrated, left empty
        assert conn.execute("select count(*) from notices").fetchone() == (0,)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(tmp_path) as http:
        yield http


async def test_the_api_answers_422_for_errors_and_accepts_warnings(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.post("/api/notices", json=BAD_ATTACHMENT)
    assert refused.status_code == 422
    assert "fields.attachments[1].name" in refused.json()["error"]
    assert (await client.get("/api/deliveries")).json() == []

    accepted = await client.post("/api/notices", json=DISCOURAGED)
    assert accepted.status_code == 201, accepted.text
