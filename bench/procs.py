"""Processes for the benchmark: the sink, scenario children, settings files, cleanup."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
WORK = BENCH / ".work"  # databases live on the project's disk (not tmpfs): durable figures
PY = sys.executable
PUBLISHER = str(Path(sys.executable).with_name("publisher"))
PYSPY = str(Path(sys.executable).with_name("py-spy"))
PROFILE: dict[str, str | None] = {"prefix": None}  # set by --profile: the run's name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# The service token every bench `serve` runs with: once the first run has made its admin
# user, every /api call must authenticate (README: People, roles and tokens).
BENCH_TOKEN = "bench-service-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {BENCH_TOKEN}"}


def clean_env(**extra: str) -> dict[str, str]:
    """Our environment minus any PUBLISHER_* setting (the run sets its own) and proxies,
    with the bench's service token."""
    drop = ("http_proxy", "https_proxy", "all_proxy")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PUBLISHER_") and k.lower() not in drop
    }
    env["PUBLISHER_API_TOKEN"] = BENCH_TOKEN
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
