"""Real ``publisher`` processes for end-to-end tests: start, wait for, read and kill them.

A :class:`Workspace` is a temporary working directory with its own environment (every
inherited ``PUBLISHER_*`` variable removed), in which the tests run the CLI and start
``publisher serve`` / ``publisher sandbox`` / ``publisher worker`` as subprocesses on free
loopback ports. Every process started is killed (its whole process group) at teardown, and
its log is printed when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

BIN = Path(sys.executable).parent
PUBLISHER = str(BIN / "publisher")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# Every workspace's serve has this service token: its first run creates an admin, and from
# then on every /api call must carry a token (publisher/web/auth.py).
SERVICE_TOKEN = "e2e-service-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def http() -> httpx.Client:
    return httpx.Client(timeout=10.0, trust_env=False, headers=AUTH)


@dataclass
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return (
            f"$ publisher {' '.join(self.args)}  -> exit {self.returncode} in {self.seconds:.2f}s\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


class Proc:
    """A long-running ``publisher`` subprocess in its own process group."""

    def __init__(self, name: str, args: list[str], cwd: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.log_path = cwd / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [PUBLISHER, *args],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 15.0) -> int:
        """Send ``sig`` to the process group and reap it; SIGKILL if it lingers."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout)
        self._log.close()
        return int(self.popen.returncode)

    def wait_log(self, needle: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log():
                return
            if not self.alive():
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.log()}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: no {needle!r} in its log after {timeout}s:\n{self.log()}")

    def wait_http(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        with http() as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    raise RuntimeError(
                        f"{self.name} exited ({self.popen.returncode}):\n{self.log()}"
                    )
                try:
                    response = client.get(url, timeout=2.0)
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}: {response.text[:300]}"
                except httpx.TransportError as exc:
                    last = repr(exc)
                time.sleep(0.05)
        self.dump_stacks()
        raise TimeoutError(
            f"{self.name}: {url} not answering 200 after {timeout}s (last: {last}):\n{self.log()}"
        )

    def dump_stacks(self) -> None:
        """End a stuck process with every thread's stack in its log (faulthandler is on)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(5)


@dataclass
class Server:
    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass
class Sink:
    """A ``publisher sandbox`` process: the webhook receiver at ``/webhook``."""

    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/webhook"

    def posts(self) -> list[dict[str, Any]]:
        with http() as client:
            return list(client.get(f"{self.url}/posts", timeout=30.0).json()["posts"])

    def faults(self, **faults: Any) -> None:
        with http() as client:
            client.put(f"{self.url}/faults", json=faults).raise_for_status()


class Workspace:
    """A temp working directory + environment in which ``publisher`` commands run."""

    def __init__(self, root: Path, env: Mapping[str, str] | None = None) -> None:
        self.dir = root
        self.dir.mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
        base["PYTHONUNBUFFERED"] = "1"
        base["PYTHONFAULTHANDLER"] = "1"  # a stuck process dumps its stacks on SIGABRT
        base.pop("PYTHONWARNINGS", None)
        self.env: dict[str, str] = {**base, "PUBLISHER_API_TOKEN": SERVICE_TOKEN, **(env or {})}
        self.procs: list[Proc] = []

    # -- files ------------------------------------------------------------------------------

    def write(self, name: str, content: str | bytes | Mapping[str, Any]) -> Path:
        path = self.dir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
        return path

    def config(self, toml: str, name: str = "publisher.toml") -> Path:
        """Write a settings file and point PUBLISHER_CONFIG at it."""
        path = self.write(name, toml)
        self.env["PUBLISHER_CONFIG"] = str(path)
        return path

    # -- commands ---------------------------------------------------------------------------

    def cli(
        self,
        *args: str,
        timeout: float = 90.0,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> Result:
        started = time.monotonic()
        done = subprocess.run(
            [PUBLISHER, *args],
            cwd=self.dir,
            env={**self.env, **(env or {})},
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            check=False,
            text=True,
            timeout=timeout,
        )
        return Result(args, done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> Proc:
        proc = Proc(name, list(args), self.dir, {**self.env, **(env or {})})
        self.procs.append(proc)
        return proc

    def serve(self, port: int | None = None, name: str = "serve") -> Server:
        port = port or free_port()
        proc = self.start(name, "serve", "--port", str(port))
        proc.wait_http(f"http://{HOST}:{port}/healthz")
        return Server(proc, port)

    def sandbox(self, port: int | None = None, name: str = "sink") -> Sink:
        port = port or free_port()
        proc = self.start(name, "sandbox", "--port", str(port))
        proc.wait_http(f"http://{HOST}:{port}/webhook/posts")
        return Sink(proc, port)

    def worker(self, name: str = "worker", *args: str) -> Proc:
        proc = self.start(name, "worker", *args)
        proc.wait_log("已启动")
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.kill()

    def logs(self) -> str:
        return "\n".join(f"===== {p.name} (pid {p.pid}) =====\n{p.log()}" for p in self.procs)

    # -- the SQLite file --------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.dir / "publisher.db"

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the workspace's SQLite database directly (WAL lets readers in while it runs).

        Not opened read-only: after a SIGKILL the first opener may have to recover the WAL.
        """
        if not self.db_path.exists():
            return []
        conn = sqlite3.connect(self.db_path, timeout=15)
        try:
            return list(conn.execute(sql, params).fetchall())
        finally:
            conn.close()

    def counts(self) -> dict[str, int]:
        """Rows in the tables a submit writes (0 everywhere when the file does not exist)."""
        out = {}
        tables = {r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in ("notices", "deliveries", "events"):
            out[table] = self.query(f"SELECT count(*) FROM {table}")[0][0] if table in tables else 0
        return out


# -- submitting through the HTTP API while the server is being killed ----------------------------


class Submitter(threading.Thread):
    """POSTs each notice to /api/notices, re-sending it (same idempotency key) until the server
    answers: a crash between receiving and answering must neither lose nor double it."""

    def __init__(self, base_url: str, notices: list[dict[str, Any]], deadline: float) -> None:
        super().__init__(name="channel-submitter", daemon=True)
        self.base_url = base_url
        self.notices = notices
        self.deadline = deadline
        self.ids: dict[str, int] = {}  # idempotency key -> notice id
        self.resent = 0  # notices POSTed more than once
        self.replayed = 0  # ... of which the server already had (answered 200, not 201)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(timeout=5.0, trust_env=False, headers=AUTH) as client:
                for notice in self.notices:
                    self.ids[notice["idempotency_key"]] = self._submit(client, notice)
        except BaseException as exc:
            self.error = exc

    def _submit(self, client: httpx.Client, notice: dict[str, Any]) -> int:
        tries = 0
        while time.monotonic() < self.deadline:
            tries += 1
            self.resent += tries > 1
            try:
                response = client.post(f"{self.base_url}/api/notices", json=notice)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code in (200, 201):
                self.replayed += response.status_code == 200
                return int(response.json()["id"])
            if response.status_code >= 500:
                time.sleep(0.05)
                continue
            raise AssertionError(
                f"{notice['idempotency_key']}: HTTP {response.status_code}: {response.text}"
            )
        raise TimeoutError(f"{notice['idempotency_key']} not accepted before the deadline")
