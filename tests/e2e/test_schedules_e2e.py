"""A schedule fired by a real ``publisher serve``, and again across a kill and restart.

The schedule lives in ``schedules.toml`` (a file schedule: on its first sight the latest fire
within the grace time is made), so serve's start-up sweep fires it at once instead of the
test waiting for the next minute.
"""

from __future__ import annotations

import time

import pytest

from .procs import Workspace

pytestmark = pytest.mark.slow

TEMPLATE = {
    "kind": "general",
    "title": "{date}值班安排",
    "body": "今日值班安排已更新，请相关人员按时到岗。",
    "channels": ["portal"],
}


def _wait(ws: Workspace, done: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(done) and done():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out\n{ws.logs()[-5000:]}")


def test_serve_fires_a_schedule_once_across_a_restart(workspace: Workspace) -> None:
    ws = workspace
    ws.write("duty.json", TEMPLATE)
    ws.write(
        "schedules.toml",
        '[[schedule]]\nname = "值班安排"\ncron = "* * * * *"\nnotice = "duty.json"\n',
    )
    ws.config('schedules_file = "schedules.toml"\n')

    def posted() -> list[tuple[object, ...]]:
        return ws.query("SELECT status FROM deliveries")

    server = ws.serve()
    _wait(ws, lambda: [r[0] for r in posted()] == ["posted"])
    server.proc.kill()  # SIGKILL: no clean shutdown
    ws.serve(name="serve-2")
    time.sleep(3)  # its start-up sweep has run
    fires = ws.query("SELECT fire_time, outcome, notice_id FROM schedule_fires")
    keys = ws.query("SELECT idempotency_key FROM notices")
    # one notice per fire, never two for one fire (a minute may have turned meanwhile)
    assert len(keys) == len({k[0] for k in keys}) == len(fires)
    assert {f[1] for f in fires} == {"posted"}  # a file schedule's first sight: no misses
    assert all(k[0].startswith("schedule:值班安排:") for k in keys)
    listed = ws.cli("schedule", "list", "--json").json()
    assert listed["schedules"][0]["last_fire"]["outcome"] == "posted"
