"""PostgreSQL: several ``publisher worker`` processes on one database share the queue exactly.

The receiver is a ``publisher sandbox`` at ``/receive-plain``: it ignores keys, so a delivery
sent twice shows up twice. Accounts use ``idempotency = "lookup"``, so a worker killed
mid-send is reconciled by asking the receiver, never by blind re-posting.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from datetime import datetime
from typing import Any

import psycopg
import pytest

from publisher.notice import parse_notice
from publisher.runtime import Runtime
from publisher.settings import Settings

from .procs import Proc, Sink, Workspace

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ACCOUNTS = ("w1", "w2", "w3", "w4")
WORKERS = 4


def accounts(sink: Sink) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "type": "webhook",
            "url": f"{sink.url}/receive-plain",
            "idempotency": "lookup",
            "lookup_url": f"{sink.url}/lookup?key={{key}}",
        }
        for name in ACCOUNTS
    }


def toml(accts: dict[str, dict[str, Any]]) -> str:
    out = []
    for name, options in accts.items():
        out.append(f"[accounts.{name}]")
        out.extend(f'{k} = "{v}"' for k, v in options.items())
    return "\n".join(out) + "\n"


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]


def states(url: str) -> dict[str, int]:
    return dict(query(url, "SELECT status, count(*) FROM deliveries GROUP BY status"))


async def submit_many(url: str, accts: dict[str, dict[str, Any]], count: int) -> float:
    """Submit ``count`` notices to every account, as a script using the API would; seconds taken."""
    settings = Settings(database_url=url, accounts=accts, _env_file=None)  # type: ignore[call-arg]
    rt = await Runtime.open(settings)
    try:
        started = time.monotonic()
        for n in range(count):
            notice = parse_notice(
                {
                    "kind": "general",
                    "title": f"检查通报 第{n}号",
                    "body": f"第{n}号通报：请认真落实。",
                }
            )
            await rt.intake.submit(notice, source="api", actor="e2e")
        return time.monotonic() - started
    finally:
        await rt.close()


def wait_all_final(url: str, total: int, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        now = states(url)
        done = sum(now.get(s, 0) for s in ("posted", "failed", "needs_review", "cancelled"))
        if done >= total or time.monotonic() > deadline:
            return now
        time.sleep(0.2)


def start_workers(ws: Workspace, count: int) -> list[Proc]:
    procs = [ws.start(f"worker-{n}", "worker") for n in range(count)]
    for proc in procs:  # all started at once: they also race to migrate the fresh database
        proc.wait_log("已启动", timeout=60)
    return procs


def check_receiver(sink: Sink, url: str, total: int) -> list[dict[str, Any]]:
    posts = sink.posts()
    per_key = Counter(p["idempotency_key"] for p in posts)
    twice = {k: n for k, n in per_key.items() if n > 1}
    assert not twice, f"sent more than once: {list(twice.items())[:10]}"
    rows = query(url, "SELECT idempotency_key, remote_id FROM deliveries")
    assert len(rows) == total
    assert set(per_key) == {key for key, _ in rows}
    assert dict(rows) == {p["idempotency_key"]: p["id"] for p in posts}
    return posts


def test_four_workers_share_2000_deliveries_exactly(workspace: Workspace, pg_url: str) -> None:
    sink = workspace.sandbox()
    accts = accounts(sink)
    workspace.config(toml(accts))
    workspace.env["PUBLISHER_DATABASE_URL"] = pg_url
    workers = start_workers(workspace, WORKERS)
    time.sleep(1.0)  # idle now: only NOTIFY (or the 5 s poll) can wake them

    # -- a notice from the CLI is picked up at once (LISTEN/NOTIFY, not the 5 s poll) ----------
    latencies = []
    for n in range(3):
        workspace.write(
            f"n{n}.json",
            {"kind": "general", "title": f"即时{n}", "body": "正文", "channels": ["w1"]},
        )
        result = workspace.cli("notice", "submit", f"n{n}.json", "--wait", "10", "--json")
        assert result.returncode == 0, result
        data = result.json()
        created = data["created_at"]
        posted = data["deliveries"][0]["posted_at"]
        latencies.append(
            (datetime.fromisoformat(posted) - datetime.fromisoformat(created)).total_seconds()
        )
        time.sleep(0.7)
    print(f"\nPostgreSQL submit->posted_at with idle workers: {[round(x, 3) for x in latencies]} s")
    assert max(latencies) < 1.0, latencies

    # -- 500 notices x 4 accounts --------------------------------------------------------------
    count = 500
    total = count * len(ACCOUNTS) + 3
    started = time.monotonic()
    submit_s = asyncio.run(submit_many(pg_url, accts, count))
    final = wait_all_final(pg_url, total, timeout=180)
    elapsed = time.monotonic() - started
    assert final == {"posted": total}, final
    assert all(w.alive() for w in workers), workspace.logs()

    check_receiver(sink, pg_url, total)
    sending = query(
        pg_url,
        "SELECT delivery_id, count(*) FROM events WHERE action = 'sending' GROUP BY delivery_id",
    )
    assert len(sending) == total
    assert {n for _, n in sending} == {1}, "a delivery was claimed for sending more than once"
    assert query(pg_url, "SELECT count(*) FROM events WHERE action = 'reconcile'") == [(0,)]
    by_worker = dict(
        query(pg_url, "SELECT actor, count(*) FROM events WHERE action = 'sending' GROUP BY actor")
    )
    print(
        f"PostgreSQL x{WORKERS} workers: {total} deliveries posted in {elapsed:.1f} s "
        f"(submit {submit_s:.1f} s); per worker: {sorted(by_worker.values(), reverse=True)}"
    )
    assert len(by_worker) >= 2, by_worker  # the work really was shared


def test_a_worker_killed_midway_loses_nothing(workspace: Workspace, pg_url: str) -> None:
    sink = workspace.sandbox()
    sink.faults(latency_ms=40)  # deliveries spend time in flight, so the kill catches some
    accts = accounts(sink)
    workspace.config(toml(accts))
    workspace.env["PUBLISHER_DATABASE_URL"] = pg_url
    workspace.env["PUBLISHER_LEASE_SECONDS"] = "2"
    workers = start_workers(workspace, WORKERS)

    count = 250
    total = count * len(ACCOUNTS)
    started = time.monotonic()
    asyncio.run(submit_many(pg_url, accts, count))
    victim = workers[1]
    deadline = time.monotonic() + 60
    while states(pg_url).get("posted", 0) < total // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim_id = query(pg_url, "SELECT id FROM workers WHERE pid = %s", victim.pid)
    held = 0
    while time.monotonic() < deadline:  # kill it while it holds work, or the test proves nothing
        # Freeze it first, so what it holds cannot change between looking and killing.
        victim.popen.send_signal(signal.SIGSTOP)
        time.sleep(0.05)  # a commit already on its way lands now, not after the kill
        held = query(
            pg_url,
            "SELECT count(*) FROM deliveries WHERE status = 'sending' AND worker_id = %s",
            victim_id[0][0] if victim_id else "",
        )[0][0]
        if held:
            break
        victim.popen.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    victim.kill()
    replacement = workspace.start("worker-restarted", "worker")
    replacement.wait_log("已启动", timeout=60)

    final = wait_all_final(pg_url, total, timeout=180)
    elapsed = time.monotonic() - started
    assert final == {"posted": total}, final
    check_receiver(sink, pg_url, total)
    reconciled = dict(
        query(
            pg_url,
            "SELECT action, count(*) FROM events WHERE action IN ('reconcile', 'reconciled') "
            "GROUP BY action",
        )
    )
    sent_twice = query(
        pg_url,
        "SELECT delivery_id FROM events WHERE action = 'sending' GROUP BY delivery_id "
        "HAVING count(*) > 1 EXCEPT SELECT delivery_id FROM events WHERE action = 'reconcile'",
    )
    assert sent_twice == [], "a delivery was sent again without being reconciled first"
    print(
        f"\nPostgreSQL kill -9 of one of {WORKERS} workers: it held {held} deliveries; "
        f"{total} posted in {elapsed:.1f} s; reconcile events {reconciled}"
    )
    assert held > 0, "the kill landed while the worker held nothing; the test proved nothing"
    assert reconciled.get("reconcile", 0) >= held  # every one it held was reconciled


def test_a_worker_stops_cleanly_on_sigterm(workspace: Workspace, pg_url: str) -> None:
    sink = workspace.sandbox()
    sink.faults(latency_ms=1500)
    workspace.config(toml(accounts(sink)))
    workspace.env["PUBLISHER_DATABASE_URL"] = pg_url
    [worker] = start_workers(workspace, 1)
    workspace.write(
        "n.json", {"kind": "general", "title": "停机测试", "body": "正文", "channels": ["w1"]}
    )
    assert workspace.cli("notice", "submit", "n.json").returncode == 0
    deadline = time.monotonic() + 10
    while states(pg_url).get("sending", 0) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)

    worker.popen.send_signal(signal.SIGTERM)
    code = worker.popen.wait(30)

    assert code == 0, worker.log()
    assert "Traceback" not in worker.log()
    assert states(pg_url) == {"posted": 1}  # the delivery in flight was finished, not dropped
    assert query(pg_url, "SELECT count(*) FROM workers") == [(0,)]  # and it signed off
