"""The crash test: ``kill -9`` the server mid-fan-out, again and again; nothing lost, nothing twice.

A long-lived ``publisher sandbox`` is the receiver. 500 notices x 3 webhook accounts are
submitted through the HTTP API (each with its own notice idempotency key, re-sent after every
crash until the server answers) while ``publisher serve`` (SQLite) is killed with SIGKILL ten
times at random moments and restarted each time. At the end every delivery is ``posted``,
no notice exists twice, and the receiver holds exactly one post per delivery key, whose id
is the remote id we recorded:

* ``lookup``: the receiver ignores keys (``/receive-plain``), so a delivery caught in
  ``sending`` must be reconciled by asking ``/lookup?key=`` before any re-post;
* ``remote_key``: the receiver honours ``Idempotency-Key`` (``/receive``), so re-posting
  with the same key is safe and answered with the first post.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import pytest

from .procs import Server, Submitter, Workspace, free_port, http

pytestmark = pytest.mark.slow

NOTICES = 500
ACCOUNTS = ("oa_a", "oa_b", "oa_c")
KILLS = 10


def crash_config(sink_url: str, mode: str) -> str:
    path = "receive-plain" if mode == "lookup" else "receive"
    blocks = [
        f"""
[accounts.{name}]
type = "webhook"
url = "{sink_url}/{path}"
idempotency = "{mode}"
lookup_url = "{sink_url}/lookup?key={{key}}"
max_concurrency = 4
"""
        for name in ACCOUNTS
    ]
    routes = ", ".join(f'"{a}"' for a in ACCOUNTS)
    return "".join(blocks) + f"\n[routes]\ngeneral = [{routes}]\n"


def crash_notices(count: int) -> list[dict[str, Any]]:
    return [
        {
            "kind": "general",
            "title": f"安全生产检查通报 第{n}号",
            "body": f"各单位：第{n}号通报内容。请认真落实。",
            "idempotency_key": f"crash-notice-{n}",
        }
        for n in range(count)
    ]


@pytest.mark.parametrize("mode", ["lookup", "remote_key"])
def test_kill_9_during_delivery_loses_nothing_and_posts_nothing_twice(
    workspace: Workspace, mode: str
) -> None:
    rng = random.Random()
    started = time.monotonic()
    sink = workspace.sandbox()
    sink.faults(latency_ms=60)  # a little network time, so kills land mid-request too
    workspace.config(crash_config(sink.url, mode))
    workspace.env["PUBLISHER_LEASE_SECONDS"] = "2"
    port = free_port()
    workspace.env["PUBLISHER_PORT"] = str(port)
    server = workspace.serve(port, name="serve-0")

    submitter = Submitter(server.url, crash_notices(NOTICES), deadline=time.monotonic() + 150)
    submitter.start()
    kills: list[dict[str, Any]] = []
    for k in range(KILLS):
        time.sleep(rng.uniform(0.2, 1.0))
        assert server.proc.alive(), (server.proc.popen.returncode, server.proc.log())
        server.proc.kill()
        states = dict(workspace.query("SELECT status, count(*) FROM deliveries GROUP BY status"))
        kills.append({"at": round(time.monotonic() - started, 1), **states})
        server = Server(workspace.start(f"serve-{k + 1}", "serve", "--port", str(port)), port)
        server.proc.wait_http(f"{server.url}/healthz")
    submitter.join(timeout=150)
    assert not submitter.is_alive(), "submitting did not finish"
    if submitter.error is not None:
        raise submitter.error

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = dict(workspace.query("SELECT status, count(*) FROM deliveries GROUP BY status"))
        if states.get("posted", 0) == NOTICES * len(ACCOUNTS) or set(states) - {
            "pending",
            "leased",
            "sending",
            "posted",
            "retry_wait",
        }:
            break
        time.sleep(0.25)
    elapsed = time.monotonic() - started

    # -- what we recorded ------------------------------------------------------------------------
    assert workspace.query("SELECT count(*) FROM notices") == [(NOTICES,)]  # none twice
    assert len(set(submitter.ids.values())) == NOTICES
    rows = workspace.query("SELECT idempotency_key, status, remote_id, account FROM deliveries")
    assert len(rows) == NOTICES * len(ACCOUNTS)
    assert Counter(status for _, status, _, _ in rows) == {"posted": NOTICES * len(ACCOUNTS)}, (
        Counter(status for _, status, _, _ in rows)
    )

    # -- what the receiver got -------------------------------------------------------------------
    posts = sink.posts()
    per_key = Counter(p["idempotency_key"] for p in posts)
    twice = {key: n for key, n in per_key.items() if n > 1}
    assert not twice, f"posted more than once: {list(twice.items())[:10]}"
    assert set(per_key) == {key for key, _, _, _ in rows}  # none lost, none unknown
    remote = {p["idempotency_key"]: p["id"] for p in posts}
    assert {key: rid for key, _, rid, _ in rows} == remote  # we recorded the receiver's ids

    # -- the kills really landed mid-delivery, and recovery went through reconciliation --------
    in_flight = [k.get("sending", 0) + k.get("leased", 0) for k in kills]
    assert sum(1 for n in in_flight if n) >= KILLS // 2, kills
    reconciled = workspace.query(
        "SELECT action, count(*) FROM events WHERE action IN ('reconcile', 'reconciled') "
        "GROUP BY action"
    )
    print(
        f"\ncrash[{mode}]: {len(posts)} posts for {len(rows)} deliveries in {elapsed:.1f} s; "
        f"{KILLS} kills, in flight at each kill: {in_flight}; reconcile events: "
        f"{dict(reconciled)}; notice submits replayed after a crash: {submitter.replayed}"
    )
    assert dict(reconciled).get("reconcile", 0) > 0, "no delivery was ever caught in sending"
    if mode == "lookup":
        assert dict(reconciled).get("reconciled", 0) > 0  # found at the receiver, not re-posted
    with http() as client:
        assert client.get(f"{server.url}/healthz").status_code == 200
