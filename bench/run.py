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
import datetime as dt
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from console_pages import section_console
from portal_pages import section_portal
from procs import PROFILE, PYSPY, RESULTS, ROOT, WORK, sink_process
from reach_bench import reach_figures, section_reach
from report import TARGETS, figures, git_state, machine, print_table, versions
from sections import (
    section_burst,
    section_dispatch,
    section_dispatch_http,
    section_fanout,
    section_peer,
    section_portal_load,
    section_postgres,
)
from warnings_bench import run as run_warnings

PRESETS: dict[str, dict[str, Any]] = {
    "full": {
        "dispatch": {"count": 300, "rate": 50, "warmup": 20},
        "fanout": {"count": 100, "gap": 0.2, "warmup": 5, "fan": 4, "delay_ms": 50},
        "burst": {
            "count": 500,
            "fan": 4,
            "submitters": 8,
            # Per account and per worker: the sink takes any number of connections, so the
            # burst is limited by our CPU, not by slots (webhook default: 8 per account).
            "max_concurrency": 64,
            "worker_concurrency": 128,
        },
        "postgres": {"workers": 2},
        "peer": {"count_0ms": 500, "count_50ms": 500, "gather": True},
        "portal": {"sizes": [2_000, 100_000], "warmup": 3, "repeat": 5},
        "portal_load": {"rows": 100_000, "warnings": 40, "interval": 0.5},
        "reach": {"notices": 100_000, "samples": 30, "repeat": 3},  # issue 14: < 2 s
        # issue 11 E: CAP warnings through POST /api/warnings, sandbox answering in 50 ms
        "warnings": {"count": 200, "interval": 0.1, "latency_ms": 50, "drain_timeout": 120},
        "console": {"notices": 100_000, "warmup": 2, "repeat": 5},  # issue 15: < 200 ms a page
    },
    "quick": {
        "dispatch": {"count": 75, "rate": 50, "warmup": 10},
        "fanout": {"count": 20, "gap": 0.2, "warmup": 3, "fan": 4, "delay_ms": 50},
        "burst": {
            "count": 100,
            "fan": 4,
            "submitters": 8,
            # Per account and per worker: the sink takes any number of connections, so the
            # burst is limited by our CPU, not by slots (webhook default: 8 per account).
            "max_concurrency": 64,
            "worker_concurrency": 128,
        },
        "postgres": {"workers": 2},
        "peer": {"count_0ms": 100, "count_50ms": 40, "gather": False},
        "portal": {"sizes": [2_000, 20_000], "warmup": 2, "repeat": 5},
        "portal_load": {"rows": 20_000, "warnings": 10, "interval": 0.5},
        "reach": {"notices": 10_000, "samples": 30, "repeat": 3},
        "warnings": {"count": 40, "interval": 0.1, "latency_ms": 50, "drain_timeout": 60},
        "console": {"notices": 10_000, "warmup": 2, "repeat": 5},
    },
}

SECTIONS = (
    "dispatch",
    "dispatch_http",
    "fanout",
    "burst",
    "postgres",
    "peer",
    "portal",
    "portal_load",
    "reach",
    "warnings",
    "console",
)


def wait_quiet(limit_s: float, below: float) -> None:
    """Wait up to ``limit_s`` for the 1-minute load average to fall below ``below``."""
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] >= below and time.monotonic() < deadline:
        print(f"load {os.getloadavg()[0]:.2f}: waiting for a quieter machine ...", file=sys.stderr)
        time.sleep(5)


def cpu_gauge_ms() -> float:
    """A fixed piece of pure-Python work, best of five, in ms: how fast this (virtual)
    machine's CPU is right now. On the project's VM it swings by up to 2x within an hour,
    and every absolute figure of a section moves with it; ratios measured side by side
    move far less."""
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        sum(range(1_000_000))
        best = min(best, time.perf_counter() - t)
    return round(best * 1000, 2)


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
        help="before each section, wait up to S seconds for a quieter machine (--quiet-load)",
    )
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=0.5 * (os.cpu_count() or 1),
        metavar="L",
        help="the 1-minute load average --wait-quiet waits for (default: half the CPUs)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each scenario child under py-spy (speedscope files in bench/results/)",
    )
    args = parser.parse_args()
    if args.profile and not Path(PYSPY).exists():
        parser.error(f"--profile needs py-spy at {PYSPY} (.venv/bin/pip install py-spy)")

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
            ("portal", lambda: section_portal(work, preset)),
            ("portal_load", lambda: section_portal_load(sink, work, preset)),
            ("reach", lambda: section_reach(work, preset)),
            ("warnings", lambda: run_warnings(work, preset["warnings"])),
            ("console", lambda: section_console(work, preset)),
        ]
        for section, step in steps:
            if section not in wanted:
                continue
            if args.wait_quiet:
                wait_quiet(args.wait_quiet, args.quiet_load)
            load = os.getloadavg()
            speed = cpu_gauge_ms()
            print(
                f"[{time.time() - started:6.1f}s] {section} ... (cpu gauge {speed} ms)",
                file=sys.stderr,
                flush=True,
            )
            try:
                results[section] = {**step(), "loadavg_at_start": load, "cpu_gauge_ms": speed}
            except Exception as exc:
                errors[section] = "".join(traceback.format_exception_only(exc)).strip()
        sink_stats = httpx.get(f"{sink}/stats", timeout=10).json()
    load_at_end = os.getloadavg()
    rows = figures(results) + reach_figures(results)
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
