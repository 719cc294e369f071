"""What a run reports: machine, versions, git state, and the figures table with targets."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from portal_pages import portal_rows
from procs import ROOT
from warnings_bench import rows as warnings_rows

TARGETS = {
    "dispatch_overhead_p50_ms": 5.0,
    "dispatch_overhead_p99_ms": 10.0,
    "fanout_ratio_p50": 1.15,
    "burst_sqlite_per_s": 500.0,
    "burst_postgres_per_s": 1000.0,
    "peer_ratio_50ms": 10.0,
}


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in (
        "publisher",
        "httpx",
        "httpcore",
        "aiohttp",
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
        "  the same 2,000 queued first: 2 workers drain",
        get("postgres", "drain", "deliveries_per_s"),
        None,
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
    for label, value in (
        (
            "CPU per delivery: ours, SQLite process",
            get("burst", "sqlite_0ms", "cpu_ms_per_delivery"),
        ),
        (
            "CPU per delivery: ours, PostgreSQL workers",
            get("postgres", "workers_cpu_ms_per_delivery"),
        ),
        (
            "  PostgreSQL submitter / server (at least)",
            _pair(
                get("postgres", "submitter_cpu_ms_per_delivery"),
                get("postgres", "server_cpu_ms_per_delivery"),
            ),
        ),
        (
            "CPU per delivery: Apprise notify() loop",
            get("peer", "notify_0ms", "cpu_ms_per_delivery"),
        ),
    ):
        row(label, value, None, "ms  (sink at once)", False)
    rows += portal_rows(results)
    rows += warnings_rows(results)  # issue 11 E
    return rows


def print_table(
    rows: list[tuple[str, float | None, str, bool | None]], errors: dict[str, str]
) -> None:
    width = max(len(r[0]) for r in rows) + 2
    for label, value, text, met in rows:
        shown = "-" if value is None else value if isinstance(value, str) else f"{value:,.2f}"
        mark = {True: "ok", False: "MISS", None: ""}[met]
        print(f"{label:<{width}}{shown:>10}  {text:<40}{mark}")
    for section, error in errors.items():
        print(f"\n{section}: FAILED\n  {error}")


def _pair(a: Any, b: Any) -> str | None:
    return None if a is None or b is None else f"{a} / {b}"
