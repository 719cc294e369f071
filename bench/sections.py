"""The benchmark's sections: each sets up what it needs, runs its scenario(s), cleans up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from procs import (
    BENCH,
    PUBLISHER,
    clean_env,
    free_port,
    peak_rss_of,
    run_scenario,
    stop,
    wait_until,
    write_config,
)

APPRISE_VENV = BENCH / ".venv-apprise"


def section_dispatch(sink: str, work: Path, p: dict[str, Any]) -> dict[str, Any]:
    params = {
        **p["dispatch"],
        "sink": sink,
        "database_url": f"sqlite:///{work / 'dispatch.db'}",
        "max_concurrency": 8,
    }
    return {"params": params, **run_scenario("dispatch_inproc", params, work)}


def section_dispatch_http(sink: str, work: Path, p: dict[str, Any]) -> dict[str, Any]:
    path = "/d0/dispatch-http"
    db = f"sqlite:///{work / 'serve.db'}"
    config = write_config(work / "serve.yaml", {"hook": sink + path}, 8)
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen(
        [PUBLISHER, "serve", "--port", str(port)],
        cwd=work,
        stdout=log,
        stderr=log,
        env=clean_env(PUBLISHER_CONFIG=str(config), PUBLISHER_DATABASE_URL=db),
    )
    try:
        wait_until(
            lambda: httpx.get(f"{api}/healthz", timeout=1).status_code == 200, 30, "publisher serve"
        )
        params = {**p["dispatch"], "sink": sink, "api": api, "path": path, "database_url": db}
        result = run_scenario("dispatch_http", params, work)
        result["serve_peak_rss_mb"] = peak_rss_of(proc.pid)
    finally:
        stop(proc)
        log.close()
    return {"params": params, **result}


def section_fanout(sink: str, work: Path, p: dict[str, Any]) -> dict[str, Any]:
    params = {
        **p["fanout"],
        "sink": sink,
        "database_url": f"sqlite:///{work / 'fanout.db'}",
        "max_concurrency": 8,
    }
    return {"params": params, **run_scenario("fanout", params, work)}


def section_burst(sink: str, work: Path, p: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for delay in (0, 50):
        params = {
            **p["burst"],
            "sink": sink,
            "delay_ms": delay,
            "tag": f"burst{delay}-",
            "database_url": f"sqlite:///{work / f'burst{delay}.db'}",
        }
        out[f"sqlite_{delay}ms"] = {"params": params, **run_scenario("burst_sqlite", params, work)}
    return out


def section_postgres(sink: str, work: Path, p: dict[str, Any], admin_url: str) -> dict[str, Any]:
    import psycopg

    name = f"publisher_bench_{os.getpid()}_{int(time.time())}"
    base = admin_url.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    b = p["burst"]
    tag = "pg-"
    accounts = {f"{tag}{i}": f"{sink}/d0/{tag}{i}" for i in range(b["fan"])}
    config = write_config(work / "pg.yaml", accounts, b["max_concurrency"])
    env = clean_env(PUBLISHER_CONFIG=str(config), PUBLISHER_DATABASE_URL=url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        server_version = admin.execute("SHOW server_version").fetchone()
        admin.execute(f'CREATE DATABASE "{name}"')
    workers: list[subprocess.Popen[bytes]] = []
    try:
        upgrade = subprocess.run(
            [PUBLISHER, "db", "upgrade"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if upgrade.returncode != 0:
            raise RuntimeError(f"publisher db upgrade failed: {upgrade.stderr.strip()[-500:]}")
        workers = start_workers(p["postgres"]["workers"], b["worker_concurrency"], work, env)
        params = {
            **b,
            "sink": sink,
            "tag": tag,
            "database_url": url,
            "workers": p["postgres"]["workers"],
            "worker_pids": [w.pid for w in workers],
        }
        result = run_scenario("burst_postgres", params, work)
        result["worker_peak_rss_mb"] = [peak_rss_of(w.pid) for w in workers]
        bad = [w.returncode for w in workers if w.poll() is not None]
        if bad:
            raise RuntimeError(f"a worker process ended early (exit {bad})")
        # The same 2,000 deliveries queued first, with the workers stopped: how fast the two
        # workers alone drain them, without the submitter sharing the CPUs.
        for w in workers:
            stop(w)
        filled = run_scenario("prefill_postgres", params, work)
        workers = start_workers(p["postgres"]["workers"], b["worker_concurrency"], work, env)
        drained = run_scenario(
            "drain_postgres",
            {
                **params,
                "first_notice": filled["first_notice"],
                "worker_pids": [w.pid for w in workers],
            },
            work,
        )
        result["drain"] = {"prefill_s": filled["submit_phase_s"], **drained}
    finally:
        for w in workers:
            stop(w)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "params": params,
        "server_version": server_version[0] if server_version else None,
        **result,
    }


def start_workers(
    count: int, concurrency: int, work: Path, env: dict[str, str]
) -> list[subprocess.Popen[bytes]]:
    workers = []
    for i in range(count):
        with (work / f"pg-worker-{i}.log").open("ab") as log:  # the child keeps its copy
            workers.append(
                subprocess.Popen(
                    [PUBLISHER, "worker", "--concurrency", str(concurrency)],
                    cwd=work,
                    stdout=log,
                    stderr=log,
                    env=env,
                )
            )
    return workers


def apprise_python() -> Path:
    """Apprise's own venv (its own pip install, not in pyproject); made on first use."""
    python = APPRISE_VENV / "bin" / "python"
    if not python.exists():
        print("creating bench/.venv-apprise (pip install apprise) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(APPRISE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "apprise"], check=True)
    return python


def section_peer(sink: str, work: Path, p: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    python = apprise_python()
    fan = p["burst"]["fan"]
    out: dict[str, Any] = {}
    runs = [("notify", 0, p["peer"]["count_0ms"]), ("notify", 50, p["peer"]["count_50ms"])]
    if p["peer"]["gather"]:
        runs += [("gather", 0, p["peer"]["count_0ms"]), ("gather", 50, p["peer"]["count_50ms"])]
    for mode, delay, count in runs:
        tag = f"apprise-{mode}{delay}"
        proc = subprocess.run(
            [
                str(python),
                str(BENCH / "apprise_peer.py"),
                "--sink",
                sink,
                "--delay-ms",
                str(delay),
                "--count",
                str(count),
                "--targets",
                str(fan),
                "--mode",
                mode,
                "--tag",
                tag,
            ],
            cwd=work,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"apprise_peer {mode} {delay} ms: {proc.stderr[-2000:]}")
        run = json.loads(proc.stdout.strip().splitlines()[-1])
        seen = httpx.get(f"{sink}/count", params={"prefix": f"/d{delay}/{tag}"}).json()["count"]
        run["sink_posts"] = seen
        mine = ours.get(f"sqlite_{delay}ms", {}).get("deliveries_per_s")
        run["ours_sqlite_per_s"] = mine
        run["ratio_ours_over_apprise"] = round(mine / run["deliveries_per_s"], 2) if mine else None
        out[f"{mode}_{delay}ms"] = run
    return out


def section_portal_load(sink: str, work: Path, p: dict[str, Any]) -> dict[str, Any]:
    """Issue 9 §3 (bench/portal_load.py): without the rate limit, then with the default."""
    from portal_load import run

    return {
        "no_rate_limit": run(sink, work, {**p["portal_load"], "rate_limit": 0}),
        "default_rate_limit": run(sink, work, {**p["portal_load"], "rate_limit": None}),
    }
