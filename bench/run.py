"""The benchmark of issue 2: one run, one local sink, our figures beside the raw floor and Apprise.

    .venv/bin/python bench/run.py            # full run, a few minutes
    .venv/bin/python bench/run.py --quick    # smaller counts, under a minute

Starts ONE ``bench/sink.py`` process on 127.0.0.1 (the path picks its answer delay, see the
sink's docstring), then runs each scenario of ``bench/scenarios.py`` in a fresh child process,
starting what it needs (a ``publisher serve`` subprocess, a fresh PostgreSQL database with
``publisher worker`` subprocesses, Apprise in its own venv ``bench/.venv-apprise``). Writes
``bench/results/<name>.json`` (machine, versions, parameters, figures) and prints a table.
What each figure means: ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
WORK = BENCH / ".work"  # databases live on the project's disk (not tmpfs): durable figures
APPRISE_VENV = BENCH / ".venv-apprise"
PY = sys.executable
PUBLISHER = str(Path(sys.executable).with_name("publisher"))
PYSPY = str(Path(sys.executable).with_name("py-spy"))
PROFILE: dict[str, str | None] = {"prefix": None}  # set by --profile: the run's name

PRESETS: dict[str, dict[str, Any]] = {
    "full": {
        "dispatch": {"count": 300, "rate": 50, "warmup": 20},
        "fanout": {"count": 100, "gap": 0.2, "warmup": 5, "fan": 4, "delay_ms": 50},
        "burst": {
            "count": 500,
            "fan": 4,
            "submitters": 8,
            "max_concurrency": 16,
            "worker_concurrency": 64,
        },
        "postgres": {"workers": 2},
        "peer": {"count_0ms": 500, "count_50ms": 500, "gather": True},
    },
    "quick": {
        "dispatch": {"count": 75, "rate": 50, "warmup": 10},
        "fanout": {"count": 20, "gap": 0.2, "warmup": 3, "fan": 4, "delay_ms": 50},
        "burst": {
            "count": 100,
            "fan": 4,
            "submitters": 8,
            "max_concurrency": 16,
            "worker_concurrency": 64,
        },
        "postgres": {"workers": 2},
        "peer": {"count_0ms": 100, "count_50ms": 40, "gather": False},
    },
}

TARGETS = {
    "dispatch_overhead_p50_ms": 5.0,
    "dispatch_overhead_p99_ms": 10.0,
    "fanout_ratio_p50": 1.15,
    "burst_sqlite_per_s": 500.0,
    "burst_postgres_per_s": 1000.0,
    "peer_ratio_50ms": 10.0,
}

SECTIONS = ("dispatch", "dispatch_http", "fanout", "burst", "postgres", "peer")


# -- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """Our environment minus any PUBLISHER_* setting (the run sets its own) and proxies."""
    drop = ("http_proxy", "https_proxy", "all_proxy")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PUBLISHER_") and k.lower() not in drop
    }
    env.update(extra)
    return env


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, httpx.HTTPError):
            if check():
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s")


def peak_rss_of(pid: int) -> float | None:
    """VmHWM (peak resident set) of a running process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def sink_process(work: Path) -> Iterator[str]:
    port = free_port()
    log = (work / "sink.log").open("wb")
    proc = subprocess.Popen(
        [PY, str(BENCH / "sink.py"), "--port", str(port)], stdout=log, stderr=log, cwd=work
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/stats", timeout=1).status_code == 200, 10, "sink")
        yield base
    finally:
        stop(proc)
        log.close()


def run_scenario(
    name: str, params: dict[str, Any], work: Path, timeout: float = 900
) -> dict[str, Any]:
    """Run one scenario of bench/scenarios.py in a fresh child process; return its figures.

    With ``--profile`` the child runs under py-spy, which writes a speedscope file (all
    threads) beside the results: ``bench/results/<run>.<scenario>.speedscope.json``.
    """
    out = work / f"{name}-{time.time_ns()}.json"
    log_path = work / f"{name}.log"
    command = [PY, str(BENCH / "scenarios.py"), name, "--params", json.dumps(params)]
    command += ["--out", str(out)]
    if PROFILE["prefix"]:
        label = (
            f"{PROFILE['prefix']}.{name}{'-' + params['tag'].strip('-') if 'tag' in params else ''}"
        )
        profile = RESULTS / f"{label}.speedscope.json"
        command = [
            PYSPY,
            "record",
            "-r",
            "200",
            "--threads",
            "--format",
            "speedscope",
            "-o",
            str(profile),
            "--",
            *command,
        ]
    with log_path.open("ab") as log:
        proc = subprocess.run(
            command,
            cwd=work,
            env=clean_env(),
            stdout=log,
            stderr=log,
            timeout=timeout,
            check=False,
        )
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        raise RuntimeError(f"{name} exited {proc.returncode}:\n  " + "\n  ".join(tail))
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def write_config(path: Path, accounts: dict[str, str], max_concurrency: int) -> Path:
    """A PUBLISHER_CONFIG file (YAML; JSON is YAML) with remote-key webhook accounts."""
    config = {
        "accounts": {
            name: {
                "type": "webhook",
                "url": url,
                "idempotency": "remote_key",
                "max_concurrency": max_concurrency,
            }
            for name, url in accounts.items()
        },
        "log_level": "WARNING",
    }
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2))
    return path


# -- sections -------------------------------------------------------------------------------


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
        subprocess.run(
            [PUBLISHER, "db", "upgrade"], cwd=work, env=env, check=True, capture_output=True
        )
        for i in range(p["postgres"]["workers"]):
            log = (work / f"pg-worker-{i}.log").open("wb")
            workers.append(
                subprocess.Popen(
                    [PUBLISHER, "worker", "--concurrency", str(b["worker_concurrency"])],
                    cwd=work,
                    stdout=log,
                    stderr=log,
                    env=env,
                )
            )
        params = {
            **b,
            "sink": sink,
            "tag": tag,
            "database_url": url,
            "workers": p["postgres"]["workers"],
        }
        result = run_scenario("burst_postgres", params, work)
        result["worker_peak_rss_mb"] = [peak_rss_of(w.pid) for w in workers]
        bad = [w.returncode for w in workers if w.poll() is not None]
        if bad:
            raise RuntimeError(f"a worker process ended early (exit {bad})")
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


# -- report ---------------------------------------------------------------------------------


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in (
        "publisher",
        "httpx",
        "httpcore",
        "sqlalchemy",
        "psycopg",
        "psycopg-binary",
        "fastapi",
        "starlette",
        "uvicorn",
        "pydantic",
        "anyio",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    out["sqlite"] = sqlite3.sqlite_version
    return out


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        (
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        None,
    )
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "mem_mb": mem,
        "python": platform.python_version(),
    }


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "core_dirty": bool(git("status", "--porcelain", "--", "publisher", "channels/webhook")),
    }


def figures(results: dict[str, Any]) -> list[tuple[str, float | None, str, bool | None]]:
    """(label, value, unit/target text, met?) rows for the table and the JSON summary."""
    rows: list[tuple[str, float | None, str, bool | None]] = []

    def get(*path: str) -> Any:
        node: Any = results
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def row(label: str, value: Any, target: float | None, unit: str, higher: bool) -> None:
        met = None
        if value is not None and target is not None:
            met = value >= target if higher else value <= target
        sign = ">=" if higher else "<="
        text = f"{unit}  (target {sign} {target:g})" if target is not None else unit
        rows.append((label, value, text, met))

    for key, label in (("dispatch", "in-process submit"), ("dispatch_http", "HTTP POST /api")):
        row(
            f"dispatch overhead p50, {label}",
            get(key, "overhead_ms", "p50"),
            TARGETS["dispatch_overhead_p50_ms"],
            "ms",
            False,
        )
        row(
            f"dispatch overhead p99, {label}",
            get(key, "overhead_ms", "p99"),
            TARGETS["dispatch_overhead_p99_ms"],
            "ms",
            False,
        )
    row(
        "  raw httpx round trip p50 / p99",
        get("dispatch", "raw_rtt_ms", "p50"),
        None,
        f"/ {get('dispatch', 'raw_rtt_ms', 'p99')} ms",
        False,
    )
    row(
        "fan-out 4x50 ms: fully posted p50",
        get("fanout", "fully_posted_ms", "p50"),
        None,
        "ms",
        False,
    )
    row(
        "fan-out p50 / 50 ms",
        get("fanout", "ratio_p50_to_delay"),
        TARGETS["fanout_ratio_p50"],
        "x",
        False,
    )
    row(
        "burst SQLite (1 process), sink at once",
        get("burst", "sqlite_0ms", "deliveries_per_s"),
        TARGETS["burst_sqlite_per_s"],
        "deliveries/s",
        True,
    )
    row(
        "burst SQLite (1 process), sink 50 ms",
        get("burst", "sqlite_50ms", "deliveries_per_s"),
        None,
        "deliveries/s",
        True,
    )
    row(
        "burst PostgreSQL, 2 workers, sink at once",
        get("postgres", "deliveries_per_s"),
        TARGETS["burst_postgres_per_s"],
        "deliveries/s",
        True,
    )
    row(
        "Apprise notify() loop, sink at once",
        get("peer", "notify_0ms", "deliveries_per_s"),
        None,
        "deliveries/s",
        True,
    )
    row(
        "Apprise notify() loop, sink 50 ms",
        get("peer", "notify_50ms", "deliveries_per_s"),
        None,
        "deliveries/s",
        True,
    )
    row(
        "ours / Apprise, sink at once",
        get("peer", "notify_0ms", "ratio_ours_over_apprise"),
        None,
        "x",
        True,
    )
    row(
        "ours / Apprise, sink 50 ms",
        get("peer", "notify_50ms", "ratio_ours_over_apprise"),
        TARGETS["peer_ratio_50ms"],
        "x",
        True,
    )
    if get("peer", "gather_50ms") is not None:
        row(
            "ours / Apprise gathered async_notify, 0 ms",
            get("peer", "gather_0ms", "ratio_ours_over_apprise"),
            None,
            "x",
            True,
        )
        row(
            "ours / Apprise gathered async_notify, 50 ms",
            get("peer", "gather_50ms", "ratio_ours_over_apprise"),
            None,
            "x",
            True,
        )
    return rows


def wait_quiet(limit_s: float) -> None:
    cpus = os.cpu_count() or 1
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] >= 0.5 * cpus and time.monotonic() < deadline:
        print(f"load {os.getloadavg()[0]:.2f}: waiting for a quieter machine ...", file=sys.stderr)
        time.sleep(10)


def print_table(
    rows: list[tuple[str, float | None, str, bool | None]], errors: dict[str, str]
) -> None:
    width = max(len(r[0]) for r in rows) + 2
    for label, value, text, met in rows:
        shown = "-" if value is None else f"{value:,.2f}"
        mark = {True: "ok", False: "MISS", None: ""}[met]
        print(f"{label:<{width}}{shown:>10}  {text:<40}{mark}")
    for section, error in errors.items():
        print(f"\n{section}: FAILED\n  {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (< 1 minute)")
    parser.add_argument("--name", help="results file name (default: date-commit[-quick])")
    parser.add_argument("--only", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL; a fresh database is created beside it and dropped",
    )
    parser.add_argument("--keep", action="store_true", help="keep bench/.work/<run> (logs, dbs)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="S",
        help="first wait up to S seconds for the 1-minute load average to drop below 0.5 x CPUs",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each scenario child under py-spy (speedscope files in bench/results/)",
    )
    args = parser.parse_args()
    if args.profile and not Path(PYSPY).exists():
        parser.error(f"--profile needs py-spy at {PYSPY} (.venv/bin/pip install py-spy)")
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)

    preset = PRESETS["quick" if args.quick else "full"]
    wanted = set(args.only.split(",")) if args.only else set(SECTIONS)
    unknown = wanted - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    git = git_state()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    name = args.name or f"{stamp}-{git['commit'][:8]}{'-quick' if args.quick else ''}"
    if args.profile:
        PROFILE["prefix"] = name
        RESULTS.mkdir(exist_ok=True)
    WORK.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=WORK))

    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    started = time.time()
    load_at_start = os.getloadavg()
    load_at_end = load_at_start
    with sink_process(work) as sink:
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("dispatch", lambda: section_dispatch(sink, work, preset)),
            ("dispatch_http", lambda: section_dispatch_http(sink, work, preset)),
            ("fanout", lambda: section_fanout(sink, work, preset)),
            ("burst", lambda: section_burst(sink, work, preset)),
            ("postgres", lambda: section_postgres(sink, work, preset, args.postgres)),
            ("peer", lambda: section_peer(sink, work, preset, results.get("burst", {}))),
        ]
        for section, step in steps:
            if section not in wanted:
                continue
            print(f"[{time.time() - started:6.1f}s] {section} ...", file=sys.stderr, flush=True)
            try:
                results[section] = step()
            except Exception as exc:
                errors[section] = "".join(traceback.format_exception_only(exc)).strip()
        sink_stats = httpx.get(f"{sink}/stats", timeout=10).json()
    load_at_end = os.getloadavg()
    rows = figures(results)
    report: dict[str, Any] = {
        "name": name,
        "mode": "quick" if args.quick else "full",
        "started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(),
        "duration_s": round(time.time() - started, 1),
        "machine": {
            **machine(),
            "loadavg_at_start": load_at_start,
            "loadavg_at_end": load_at_end,
        },
        "versions": versions(),
        "git": git,
        "parameters": preset,
        "targets": TARGETS,
        "summary": [
            {"figure": label, "value": value, "unit": text, "met": met}
            for label, value, text, met in rows
        ],
        "results": results,
        "errors": errors,
        "sink": {"requests": sink_stats["requests"], "repeats": sink_stats["repeats"]},
    }
    peer = results.get("peer", {})
    if peer:
        report["versions"]["apprise"] = next(iter(peer.values())).get("apprise_version")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print_table(rows, errors)
    busiest = max(load_at_start[0], load_at_end[0])
    if busiest >= 0.5 * (os.cpu_count() or 1):
        print(
            f"\nnote: load average reached {busiest:.2f} on {os.cpu_count()} CPUs (other "
            "processes): absolute figures are pessimistic; ratios measured side by side hold "
            "better. --wait-quiet S waits for a quieter machine."
        )
    print(f"\n{path.relative_to(ROOT)}  ({report['duration_s']} s)")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
