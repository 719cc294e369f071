"""Section ``console``: every console page over an archive of 100,000 notices (SQLite).

Issue 15: every page renders in under 200 ms server time with 100,000 notices in the
database, and the monitor's list is paged (never an unbounded query). The archive is filled as
the ``portal`` section fills it (``portal_pages.fill``: one real notice per sample kind
published through the API, then bulk copies, each with a posted portal and Weibo delivery).
One ``publisher serve`` is started on it; an admin logs in through the login form; each page
is fetched ``warmup`` times, then ``repeat`` times timed over one keep-alive loopback
connection (median and worst reported). Loopback time is an upper bound of server time.

    .venv/bin/python bench/console_pages.py [--notices 100000]   # standalone, prints JSON
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from portal_pages import SAMPLES, fill, publish, serving
from procs import PUBLISHER, clean_env

TARGET_MS = 200.0
PASSWORD = "bench-console-password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _login(client: httpx.Client) -> None:
    form = client.get("/login")
    token = CSRF.search(form.text)
    assert token, form.text[:300]
    done = client.post(
        "/login", data={"username": "bench", "password": PASSWORD, "csrf": token.group(1)}
    )
    if done.status_code != 303:
        raise RuntimeError(f"console login failed: {done.status_code} {done.text[:300]}")


def _paths(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        count = conn.execute("SELECT count(*) FROM notices").fetchone()[0]
        (middle,) = conn.execute(
            "SELECT id FROM notices ORDER BY id LIMIT 1 OFFSET ?", (count // 2,)
        ).fetchone()
        (deep,) = conn.execute(
            "SELECT id FROM deliveries ORDER BY id DESC LIMIT 1 OFFSET ?", (count,)
        ).fetchone()
    finally:
        conn.close()
    return {
        "home": "/",
        "monitor": "/monitor",
        "monitor_deep_page": f"/monitor?before={deep}",
        "monitor_failed_none": "/monitor?status=failed",
        "monitor_rare_kind": "/monitor?kind=budget_disclosure&account=weibo",
        "monitor_dates": "/monitor?since=2025-01-01&until=2025-01-31",
        "notice": f"/notices/{middle}",
        "compose": "/compose/penalty_disclosure",
        "channels": "/channels",
        "audit": "/audit",
        "users": "/users",
    }


LIVE_FORM = {
    "title": "2026年11月安全生产行政处罚结果公示",
    "body": "根据《中华人民共和国安全生产法》，现将本月作出的行政处罚决定公示如下。",
    "f_issuer": "市应急管理局",
    "action": "preview",
}


def _time_preview(client: httpx.Client, params: dict[str, Any]) -> dict[str, float]:
    """The compose form's live preview (console.js posts the form while the user types)."""
    token = CSRF.search(client.get("/compose/penalty_disclosure").text)
    assert token
    times = []
    for n in range(params["warmup"] + params["repeat"]):
        t = time.perf_counter()
        answer = client.post(
            "/compose/penalty_disclosure/preview", data={**LIVE_FORM, "csrf": token.group(1)}
        )
        elapsed = (time.perf_counter() - t) * 1000
        if answer.status_code != 200 or "各渠道预览" not in answer.text:
            raise RuntimeError(f"live preview: {answer.status_code} {answer.text[:300]}")
        if n >= params["warmup"]:
            times.append(elapsed)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def section_console(work: Path, p: dict[str, Any]) -> dict[str, Any]:
    params = {**p["console"]}
    config = work / "console.yaml"
    config.write_text(
        json.dumps({"accounts": {"portal": {"type": "portal"}}, "log_level": "WARNING"})
    )
    db = work / "console.db"
    env = clean_env(PUBLISHER_CONFIG=str(config), PUBLISHER_DATABASE_URL=f"sqlite:///{db}")
    for args, stdin in (
        (["db", "upgrade"], None),
        (["user", "add", "bench", "--role", "admin", "--password-stdin"], PASSWORD + "\n"),
    ):
        done = subprocess.run(
            [PUBLISHER, *args],
            cwd=work,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"publisher {' '.join(args)} failed: {done.stderr[-500:]}")
    with serving(work, env) as api:
        samples = {kind: publish(api, notice) for kind, notice in SAMPLES.items()}
    started = time.perf_counter()
    fill(db, samples, 0, params["notices"])
    fill_s = round(time.perf_counter() - started, 1)
    pages: dict[str, dict[str, float]] = {}
    with serving(work, env) as client:
        client.headers.pop("Authorization", None)  # the console is a browser's: a cookie
        _login(client)
        for name, path in _paths(db).items():
            times = []
            for n in range(params["warmup"] + params["repeat"]):
                t = time.perf_counter()
                answer = client.get(path)
                elapsed = (time.perf_counter() - t) * 1000
                if answer.status_code != 200:
                    raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
                if n >= params["warmup"]:
                    times.append(elapsed)
            pages[name] = {
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
            }
        pages["compose_live_preview"] = _time_preview(client, params)
    worst = max(v["median_ms"] for v in pages.values())
    return {
        "params": params,
        "fill_s": fill_s,
        "pages": pages,
        "worst_median_ms": worst,
        "target_ms": TARGET_MS,
        "meets_target": worst < TARGET_MS,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        result = section_console(
            Path(tmp), {"console": {"notices": args.notices, "warmup": 2, "repeat": args.repeat}}
        )
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    print()
