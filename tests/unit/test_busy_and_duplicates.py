"""Two refusals a user must be able to act on.

* A database held by another writer past the busy timeout: ``POST /api/notices`` answers 503
  with ``Retry-After`` and one Chinese line (not a 500 with a traceback), the CLI exits 4 with
  one line, and nothing is written; once the lock is gone, the same request succeeds.
* The same content submitted again within 24 hours without an idempotency key: refused with
  409 / exit 2, naming the first notice, unless ``allow_duplicate`` / ``--allow-duplicate``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.settings import load_settings
from publisher.web.app import create_app

NOTICE: dict[str, Any] = {
    "kind": "general",
    "title": "关于开展安全生产大检查的通知",
    "body": "各有关单位：请于本月底前完成自查。",
}
PORTAL_ONLY = {"portal": {"type": "portal", "display_name": "门户网站", "sandbox": True}}


@pytest.fixture
def db(clean_env: Path) -> Path:
    return clean_env / "publisher.db"


@pytest.fixture
async def client(db: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The application without a worker; a write waits at most 0.3 s for the lock."""
    settings = load_settings(
        database_url=f"sqlite:///{db}?timeout=0.3", accounts=PORTAL_ONLY, metrics_interval=0
    )
    app = create_app(settings, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.fixture
def locked(db: Path) -> Iterator[sqlite3.Connection]:
    """Another program holding the database's write lock until the test releases it."""
    other = sqlite3.connect(db, isolation_level=None, timeout=5)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def notices_in(other: sqlite3.Connection) -> int:
    return int(other.execute("SELECT count(*) FROM notices").fetchone()[0])


async def test_a_locked_database_answers_503_with_retry_after_then_works(
    client: httpx.AsyncClient, db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = sqlite3.connect(db, isolation_level=None, timeout=5)
    try:
        other.execute("BEGIN EXCLUSIVE")
        busy = await client.post("/api/notices", json=NOTICE)
        assert busy.status_code == 503, busy.text
        assert int(busy.headers["Retry-After"]) > 0
        error = busy.json()["error"]
        assert error.startswith("数据库正忙") and "\n" not in error
        assert "Traceback" not in caplog.text
        assert notices_in(other) == 0  # nothing written
        other.execute("ROLLBACK")
    finally:
        other.close()

    again = await client.post("/api/notices", json=NOTICE)
    assert again.status_code == 201, again.text


def test_the_cli_exits_4_with_one_line_while_the_database_is_locked(
    db: Path, locked: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{db}?timeout=0.3")
    Path("n.json").write_text(json.dumps(NOTICE, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["notice", "submit", "n.json"])
    assert result.exit_code == 4, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "数据库正忙" in lines[0], result.stderr


def test_a_bad_busy_timeout_in_the_url_is_one_line(clean_env: Path) -> None:
    url = f"sqlite:///{clean_env / 'p.db'}?timeout=soon"
    result = CliRunner().invoke(main, ["deliveries", "list"], env={"PUBLISHER_DATABASE_URL": url})
    assert result.exit_code == 2, result.output
    assert "timeout='soon' 无效" in result.stderr


# -- the duplicate guard ----------------------------------------------------------------------


async def test_the_api_refuses_the_same_content_twice_unless_allowed(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/api/notices", json=NOTICE)
    assert first.status_code == 201, first.text
    first_id = first.json()["id"]

    again = await client.post("/api/notices", json=NOTICE)
    assert again.status_code == 409, again.text
    assert again.json()["duplicate_of"] == first_id
    assert again.json()["error"].startswith(f"与 24 小时内提交的通知 #{first_id} 内容相同")
    assert len((await client.get("/api/deliveries")).json()) == 1  # nothing written

    allowed = await client.post("/api/notices", json={**NOTICE, "allow_duplicate": True})
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["id"] != first_id

    keyed = {**NOTICE, "idempotency_key": "bureau-7"}
    made = await client.post("/api/notices", json=keyed)
    replay = await client.post("/api/notices", json=keyed)
    assert (made.status_code, replay.status_code) == (201, 200)  # the key rules, as before
    assert replay.json()["id"] == made.json()["id"]


@pytest.mark.usefixtures("clean_env")
def test_notice_submit_refuses_the_same_content_twice_unless_allow_duplicate() -> None:
    Path("n.json").write_text(json.dumps(NOTICE, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(main, ["notice", "submit", "n.json", "--json"])
    assert first.exit_code == 0, first.output
    first_id = json.loads(first.stdout)["id"]

    refused = runner.invoke(main, ["notice", "submit", "n.json", "--json"])
    assert refused.exit_code == 2, refused.output
    (line,) = refused.stderr.strip().splitlines()
    assert f"与 24 小时内提交的通知 #{first_id} 内容相同" in line and "--allow-duplicate" in line

    allowed = runner.invoke(main, ["notice", "submit", "n.json", "--json", "--allow-duplicate"])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.stdout)["id"] != first_id
