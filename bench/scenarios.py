"""The measured scenarios. Each runs in a fresh child process started by ``bench/run.py``:

    python bench/scenarios.py NAME --params '{...}' --out result.json

so every figure comes from a process that ran nothing else (its own peak RSS, no leftover
threads or event loops). A scenario gets the sink's base URL and its counts in ``params`` and
writes one JSON object: its figures and the raw samples' summaries.

Clock: every timestamp compared across processes is ``time.time()`` on this machine (the
sink's arrival/answer times, our submit start times, and the store's ``posted_at`` and event
times, which ``SystemClock`` takes from ``datetime.now(UTC)``, the same clock).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from content import BODY, title
from procs import AUTH

from publisher.notice import NoticeInput, parse_notice
from publisher.queue.service import prepare, run_worker
from publisher.runtime import Runtime
from publisher.settings import Settings, load_settings
from publisher.store import SqlStore

try:
    import uvloop
except ImportError:  # pragma: no cover - the project depends on it where it can
    uvloop = None  # type: ignore[assignment]

LOOP_NAME = f"uvloop {metadata.version('uvloop')}" if uvloop is not None else "asyncio"


# -- small helpers ------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summary_ms(seconds: list[float]) -> dict[str, float | int]:
    """p50/p90/p99/max/mean of durations given in seconds, reported in milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 3),
        "p90": round(percentile(ms, 90), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(max(ms), 3),
        "min": round(min(ms), 3),
        "mean": round(sum(ms) / len(ms), 3),
    }


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def make_settings(params: dict[str, Any], accounts: dict[str, str]) -> Settings:
    """Settings for ``accounts`` (name -> sink URL), each a remote-key webhook."""
    return load_settings(
        database_url=params["database_url"],
        accounts={
            name: {
                "type": "webhook",
                "url": url,
                "idempotency": "remote_key",
                "max_concurrency": params.get("max_concurrency", 8),
            }
            for name, url in accounts.items()
        },
        concurrency=params.get("worker_concurrency", 64),
        log_level="WARNING",
    )


def notice_json(i: int, channels: list[str]) -> dict[str, Any]:
    return {"kind": "general", "title": title(i), "body": BODY, "channels": channels}


def notice(i: int, channels: list[str]) -> NoticeInput:
    return parse_notice(notice_json(i, channels))


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Runtime]:
    """Our process as ``publisher serve`` runs it: runtime + worker task in one event loop."""
    rt = await Runtime.open(settings, with_worker=True)
    assert rt.worker is not None
    await prepare(rt.store)
    task = asyncio.create_task(run_worker(rt.store, rt.worker), name="worker")
    try:
        yield rt
    finally:
        rt.worker.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=30)
        await rt.close()


async def wait_posted(store: SqlStore, expected: int, limit_s: float) -> dict[str, int]:
    """Poll (10 Hz) until ``expected`` deliveries are posted; raise with the counts if not."""
    deadline = time.monotonic() + limit_s
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await store.count_by_status()
        if counts.get("posted", 0) >= expected:
            return counts
        if counts.get("failed") or counts.get("needs_review"):
            break
        await asyncio.sleep(0.1)
    raise RuntimeError(f"expected {expected} posted deliveries, store has {counts}")


async def sink_stats(client: httpx.AsyncClient, base: str) -> dict[str, Any]:
    response = await client.get(f"{base}/stats")
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


async def paced(
    count: int, rate: float, fn: Callable[[int], Coroutine[Any, Any, Any]]
) -> list[Any]:
    """Open loop: start ``fn(i)`` at t0 + i/rate whether or not earlier calls finished."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.02
    tasks: list[asyncio.Task[Any]] = []
    for i in range(count):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fn(i)))
    return await asyncio.gather(*tasks)


async def deliveries_of(store: SqlStore, notice_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per notice: its deliveries' keys, statuses, attempts, posted_at and sending-event time."""
    out: dict[int, dict[str, Any]] = {}
    for nid in notice_ids:
        record = await store.get_notice(nid)
        sending: dict[int, float] = {}
        for e in record.events:
            if e.action == "sending" and e.delivery_id is not None:
                sending.setdefault(e.delivery_id, e.at.timestamp())
        out[nid] = {
            "created_at": record.created_at.timestamp(),
            "deliveries": [
                {
                    "key": d.idempotency_key,
                    "status": d.status,
                    "attempts": d.attempts,
                    "posted_at": d.posted_at.timestamp() if d.posted_at else None,
                    "sending_at": sending.get(d.id),
                }
                for d in record.deliveries
            ],
        }
    return out


class RawFloor:
    """The floor: the same JSON POSTed by a bare ``httpx.AsyncClient`` to the same sink."""

    def __init__(self, client: httpx.AsyncClient, url: str, body: bytes) -> None:
        self.client, self.url, self.body = client, url, body
        self.rtt: list[float] = []
        self.starts: dict[str, float] = {}

    async def post(self, i: int) -> None:
        key = f"raw-{time.time_ns()}-{i}"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "publisher/0.1",
            "Idempotency-Key": key,
        }
        self.starts[key] = time.time()
        t = time.perf_counter()
        response = await self.client.post(self.url, content=self.body, headers=headers)
        self.rtt.append(time.perf_counter() - t)
        response.raise_for_status()


async def interleaved(
    count: int, rate: float, ours: Callable[[int], Coroutine[Any, Any, Any]], raw: RawFloor
) -> list[Any]:
    """Ours at t0 + i/rate, the raw POST half a period later: both see the same machine."""

    async def pair(i: int) -> Any:
        mine: asyncio.Task[Any] = asyncio.create_task(ours(i))
        await asyncio.sleep(0.5 / rate)
        await raw.post(i)
        return await mine

    return await paced(count, rate, pair)


# -- scenarios ----------------------------------------------------------------------------


async def dispatch_inproc(params: dict[str, Any]) -> dict[str, Any]:
    """Submit at ``rate``/s through Intake.submit with the worker in the same process."""
    sink, count, rate, warmup = params["sink"], params["count"], params["rate"], params["warmup"]
    path = "/d0/dispatch-inproc"
    settings = make_settings(params, {"hook": sink + path})
    async with (
        httpx.AsyncClient(trust_env=False, timeout=10) as client,
        serving(settings) as rt,
    ):

        async def submit(i: int) -> tuple[int, float, float]:
            n = notice(i, ["hook"])
            start = time.time()
            t = time.perf_counter()
            done = await rt.intake.submit(n, source="bench", actor="bench")
            return done.notice_id, start, time.perf_counter() - t

        await paced(warmup, rate, submit)
        await wait_posted(rt.store, warmup, 30)
        body = (await client.get(f"{sink}/sample", params={"path": path})).content
        async with httpx.AsyncClient(trust_env=False, timeout=10) as raw_client:
            raw = RawFloor(raw_client, f"{sink}/d0/raw-inproc", body)
            await raw.post(-1)  # open its connection, as the worker's is already open
            raw.rtt.clear()
            raw.starts.clear()
            results = await interleaved(count, rate, lambda i: submit(warmup + i), raw)
        await wait_posted(rt.store, warmup + count, 60)
        stats = await sink_stats(client, sink)
        per_notice = await deliveries_of(rt.store, [r[0] for r in results])
    return dispatch_figures(
        results, per_notice=per_notice, raw=raw, stats=stats, body=body, path="in-process"
    )


async def dispatch_http(params: dict[str, Any]) -> dict[str, Any]:
    """Submit at ``rate``/s by POST /api/notices to a ``publisher serve`` subprocess."""
    sink, count, rate, warmup = params["sink"], params["count"], params["rate"], params["warmup"]
    api = params["api"]
    path = params["path"]
    async with httpx.AsyncClient(trust_env=False, timeout=10, headers=AUTH) as client:

        async def submit(i: int) -> tuple[int, float, float]:
            payload = notice_json(i, ["hook"])
            start = time.time()
            t = time.perf_counter()
            response = await client.post(f"{api}/api/notices", json=payload)
            elapsed = time.perf_counter() - t
            response.raise_for_status()
            return int(response.json()["id"]), start, elapsed

        async def wait_sink(expected: int) -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got = (await client.get(f"{sink}/count", params={"prefix": path})).json()
                if got["count"] >= expected:
                    return
                await asyncio.sleep(0.1)
            raise RuntimeError(f"sink saw {got['count']} of {expected} deliveries")

        await paced(warmup, rate, submit)
        await wait_sink(warmup)
        body = (await client.get(f"{sink}/sample", params={"path": path})).content
        async with httpx.AsyncClient(trust_env=False, timeout=10) as raw_client:
            raw = RawFloor(raw_client, f"{sink}/d0/raw-http", body)
            await raw.post(-1)
            raw.rtt.clear()
            raw.starts.clear()
            results = await interleaved(count, rate, lambda i: submit(warmup + i), raw)
        await wait_sink(warmup + count)
        await asyncio.sleep(0.3)  # let the server commit the last outcomes
        stats = await sink_stats(client, sink)
    # Read keys and event times straight from the server's database file (WAL: a reader is fine).
    from publisher.clock import SystemClock
    from publisher.store import open_store

    store = open_store(params["database_url"], SystemClock())
    try:
        per_notice = await deliveries_of(store, [r[0] for r in results])
    finally:
        await store.close()
    return dispatch_figures(
        results, per_notice=per_notice, raw=raw, stats=stats, body=body, path="http-api"
    )


def dispatch_figures(
    results: list[tuple[int, float, float]],
    *,
    per_notice: dict[int, dict[str, Any]],
    raw: RawFloor,
    stats: dict[str, Any],
    body: bytes,
    path: str,
) -> dict[str, Any]:
    first_seen, answered = stats["first_seen"], stats["answered"]
    to_sink: list[float] = []
    timeline: dict[str, list[float]] = {
        "notice_row_created": [],
        "claimed_as_sending": [],
        "submit_returned": [],
        "arrived_at_sink": [],
        "answered_by_sink": [],
        "posted_committed": [],
    }
    missing = 0
    for notice_id, start, call in results:
        d = per_notice[notice_id]["deliveries"][0]
        seen = first_seen.get(d["key"])
        if seen is None:
            missing += 1
            continue
        to_sink.append(seen - start)
        marks = {
            "notice_row_created": per_notice[notice_id]["created_at"],
            "claimed_as_sending": d["sending_at"],
            "submit_returned": start + call,
            "arrived_at_sink": seen,
            "answered_by_sink": answered.get(d["key"]),
            "posted_committed": d["posted_at"],
        }
        for name, at in marks.items():
            if at is not None:
                timeline[name].append(at - start)
    raw_rtt = summary_ms(raw.rtt)
    raw_one_way = summary_ms([first_seen[k] - s for k, s in raw.starts.items() if k in first_seen])
    ours = summary_ms(to_sink)
    return {
        "submission": path,
        "payload_bytes": len(body),
        "submit_to_sink_ms": ours,
        "raw_rtt_ms": raw_rtt,
        "raw_one_way_ms": raw_one_way,
        "overhead_ms": {
            "p50": round(ours["p50"] - raw_rtt["p50"], 3),
            "p99": round(ours["p99"] - raw_rtt["p99"], 3),
        },
        "overhead_vs_raw_one_way_ms": {
            "p50": round(ours["p50"] - raw_one_way["p50"], 3),
            "p99": round(ours["p99"] - raw_one_way["p99"], 3),
        },
        "timeline_from_submit_start_ms": {k: summary_ms(v) for k, v in timeline.items()},
        "missing_at_sink": missing,
        "sink_repeats": stats["repeats"],
        "event_loop": LOOP_NAME,
        "peak_rss_mb": peak_rss_mb(),
    }


async def fanout(params: dict[str, Any]) -> dict[str, Any]:
    """One notice at a time to 4 accounts answering in ``delay_ms``: time to the last answer."""
    sink, count, gap, fan, delay = (
        params["sink"],
        params["count"],
        params["gap"],
        params["fan"],
        params["delay_ms"],
    )
    names = [f"fan{i}" for i in range(fan)]
    settings = make_settings(params, {n: f"{sink}/d{delay:g}/{n}" for n in names})
    async with (
        httpx.AsyncClient(trust_env=False, timeout=10) as client,
        serving(settings) as rt,
    ):
        for i in range(params["warmup"]):
            await rt.intake.submit(notice(i, names), source="bench", actor="bench")
            await asyncio.sleep(gap)
        await wait_posted(rt.store, params["warmup"] * fan, 30)
        started: list[tuple[int, float, float]] = []
        for i in range(count):
            start = time.time()
            done = await rt.intake.submit(notice(i, names), source="bench", actor="bench")
            started.append((done.notice_id, start, time.time() - start))
            await asyncio.sleep(max(0.0, start + gap - time.time()))
        await wait_posted(rt.store, (params["warmup"] + count) * fan, 60)
        stats = await sink_stats(client, sink)
        per_notice = await deliveries_of(rt.store, [nid for nid, _, _ in started])
    answered, first_seen = stats["answered"], stats["first_seen"]
    marks: dict[str, list[float]] = {
        "submit_returned": [],
        "first_arrival_at_sink": [],
        "last_arrival_at_sink": [],
        "last_answered_by_sink": [],
        "last_posted_committed": [],
    }
    hold: list[float] = []
    overlapped = 0
    for idx, (nid, start, call) in enumerate(started):
        ds = per_notice[nid]["deliveries"]
        keys = [d["key"] for d in ds]
        if len(ds) != fan or any(k not in answered for k in keys):
            continue
        arrivals = [first_seen[k] - start for k in keys]
        ends = [answered[k] - start for k in keys]
        hold.extend(answered[k] - first_seen[k] for k in keys)
        marks["submit_returned"].append(call)
        marks["first_arrival_at_sink"].append(min(arrivals))
        marks["last_arrival_at_sink"].append(max(arrivals))
        marks["last_answered_by_sink"].append(max(ends))
        posted = [d["posted_at"] for d in ds if d["posted_at"] is not None]
        if len(posted) == fan:
            marks["last_posted_committed"].append(max(posted) - start)
        if idx + 1 < len(started) and start + max(ends) > started[idx + 1][1]:
            overlapped += 1
    fully = summary_ms(marks["last_answered_by_sink"])
    return {
        "fully_posted_ms": fully,
        "ratio_p50_to_delay": round(fully["p50"] / delay, 3) if fully.get("n") else None,
        "timeline_from_submit_start_ms": {k: summary_ms(v) for k, v in marks.items()},
        "sink_hold_ms": summary_ms(hold),
        "overlapped_with_next": overlapped,
        "sink_repeats": stats["repeats"],
        "peak_rss_mb": peak_rss_mb(),
    }


async def submit_burst(
    rt: Runtime, count: int, names: list[str], submitters: int
) -> tuple[float, float, list[int]]:
    """``count`` notices from ``submitters`` concurrent callers; (first start, last return, ids)."""
    queue = iter(range(count))
    ids: list[int] = []

    async def submitter() -> None:
        for i in queue:
            done = await rt.intake.submit(notice(i, names), source="bench", actor="bench")
            ids.append(done.notice_id)

    first = time.time()
    await asyncio.gather(*(submitter() for _ in range(submitters)))
    return first, time.time(), ids


async def burst_figures(
    store: SqlStore,
    *,
    client: httpx.AsyncClient,
    sink: str,
    first: float,
    last_submit: float,
    expected: int,
    prefix: str,
) -> dict[str, Any]:
    rows = await store.list_deliveries(status="posted", limit=expected + 1000)
    posted = [d.posted_at.timestamp() for d in rows if d.posted_at is not None]
    stats = await sink_stats(client, sink)
    keys = [k for k, p in stats["path_of"].items() if p.startswith(prefix)]
    last_answer = max(stats["answered"][k] for k in keys)
    elapsed = max(posted) - first
    return {
        "deliveries": len(posted),
        "elapsed_s": round(elapsed, 3),
        "deliveries_per_s": round(len(posted) / elapsed, 1),
        "submit_phase_s": round(last_submit - first, 3),
        "sink_unique_posts": len(keys),
        "sink_last_answer_s": round(last_answer - first, 3),
        "sink_repeats": stats["repeats"],
        "attempts_total": sum(d.attempts for d in rows),
    }


async def burst_sqlite(params: dict[str, Any]) -> dict[str, Any]:
    """``count`` notices x ``fan`` accounts on SQLite, worker in the same process (like serve)."""
    sink, count, fan, delay = params["sink"], params["count"], params["fan"], params["delay_ms"]
    tag = params["tag"]
    names = [f"{tag}{i}" for i in range(fan)]
    prefix = f"/d{delay:g}/{tag}"
    settings = make_settings(params, {n: f"{sink}/d{delay:g}/{n}" for n in names})
    async with (
        httpx.AsyncClient(trust_env=False, timeout=10) as client,
        serving(settings) as rt,
    ):
        cpu = time.process_time()
        first, last_submit, _ids = await submit_burst(rt, count, names, params["submitters"])
        await wait_posted(rt.store, count * fan, 300)
        cpu = time.process_time() - cpu
        out = await burst_figures(
            rt.store,
            client=client,
            sink=sink,
            first=first,
            last_submit=last_submit,
            expected=count * fan,
            prefix=prefix,
        )
    out["cpu_ms_per_delivery"] = round(cpu * 1000 / out["deliveries"], 3)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_backends(database_url: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving our database (same machine)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def backends_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


async def submitter_runtime(params: dict[str, Any]) -> tuple[Runtime, list[str]]:
    """A runtime that only submits (the workers are ``publisher worker`` processes), and the
    account names, as the workers' config file has them."""
    names = [f"{params['tag']}{i}" for i in range(params["fan"])]
    settings = make_settings(params, {n: f"{params['sink']}/d0/{n}" for n in names})
    return await Runtime.open(settings, with_worker=False, migrate=False), names


async def burst_postgres(params: dict[str, Any]) -> dict[str, Any]:
    """Submit from this process; ``publisher worker`` subprocesses (started by run.py) send."""
    sink, count, fan = params["sink"], params["count"], params["fan"]
    prefix = f"/d0/{params['tag']}"
    rt, names = await submitter_runtime(params)
    try:
        deadline = time.monotonic() + 30
        while await rt.store.live_workers(30) < params["workers"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the worker processes did not register in 30 s")
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            pids = params["worker_pids"]
            # Warm the submitter's connection pool so its backends exist when counted.
            await asyncio.gather(*(rt.store.ping() for _ in range(params["submitters"])))
            backends = server_backends(params["database_url"])
            server_cpu = backends_cpu(backends)
            cpu, workers_cpu = time.process_time(), [cpu_seconds(pid) for pid in pids]
            first, last_submit, _ids = await submit_burst(rt, count, names, params["submitters"])
            await wait_posted(rt.store, count * fan, 300)
            cpu = time.process_time() - cpu
            workers_cpu = [
                cpu_seconds(pid) - was for pid, was in zip(pids, workers_cpu, strict=True)
            ]
            server_cpu = backends_cpu(backends) - server_cpu
            out = await burst_figures(
                rt.store,
                client=client,
                sink=sink,
                first=first,
                last_submit=last_submit,
                expected=count * fan,
                prefix=prefix,
            )
    finally:
        await rt.close()
    n = out["deliveries"]
    out["workers_cpu_ms_per_delivery"] = round(sum(workers_cpu) * 1000 / n, 3)
    out["submitter_cpu_ms_per_delivery"] = round(cpu * 1000 / n, 3)
    # Backends that existed when the burst began (every pool was warm): a lower bound.
    out["server_cpu_ms_per_delivery"] = round(server_cpu * 1000 / n, 3)
    out["server_backends"] = len(backends)
    out["submitter_peak_rss_mb"] = peak_rss_mb()
    return out


async def prefill_postgres(params: dict[str, Any]) -> dict[str, Any]:
    """Queue ``count`` notices x ``fan`` accounts with no worker running (for ``drain``)."""
    rt, names = await submitter_runtime(params)
    try:
        first, last, ids = await submit_burst(rt, params["count"], names, params["submitters"])
    finally:
        await rt.close()
    return {"first_notice": min(ids), "notices": len(ids), "submit_phase_s": round(last - first, 3)}


async def drain_postgres(params: dict[str, Any]) -> dict[str, Any]:
    """Wait for the queue ``prefill`` filled to drain; time it from the workers' first claim."""
    import psycopg

    expected = params["count"] * params["fan"]
    pids = params["worker_pids"]
    was = [cpu_seconds(pid) for pid in pids]
    query = (
        "SELECT count(*) FILTER (WHERE d.status = 'posted'), max(d.posted_at),"
        " (SELECT min(e.at) FROM events e JOIN deliveries x ON x.id = e.delivery_id"
        "  WHERE e.action = 'sending' AND x.notice_id >= %(first)s)"
        " FROM deliveries d WHERE d.notice_id >= %(first)s"
    )
    deadline = time.monotonic() + 300
    with psycopg.connect(params["database_url"], autocommit=True) as conn:
        while True:
            row = conn.execute(query, {"first": params["first_notice"]}).fetchone()
            assert row is not None
            posted, last, first = row
            if posted >= expected:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {posted} of {expected} posted in 300 s")
            await asyncio.sleep(0.05)
        # Where a delivery's time goes: claimed ('sending' committed) -> posted committed,
        # and how many claims (distinct claim transactions) the workers made.
        spans = conn.execute(
            "SELECT extract(epoch FROM d.posted_at - e.at) * 1000, e.at, e.actor"
            " FROM deliveries d JOIN events e ON e.delivery_id = d.id AND e.action = 'sending'"
            " WHERE d.notice_id >= %(first)s",
            {"first": params["first_notice"]},
        ).fetchall()
    workers_cpu = sum(cpu_seconds(pid) - w for pid, w in zip(pids, was, strict=True))
    elapsed = (last - first).total_seconds()
    held = sorted(float(ms) for ms, _, _ in spans)
    return {
        "claimed_to_posted_ms": {
            "p50": round(percentile(held, 50), 1),
            "p99": round(percentile(held, 99), 1),
        },
        "claims": len({(at, actor) for _, at, actor in spans}),
        "deliveries": posted,
        "elapsed_s": round(elapsed, 3),
        "deliveries_per_s": round(posted / elapsed, 1),
        "workers_cpu_ms_per_delivery": round(workers_cpu * 1000 / posted, 3),
    }


SCENARIOS: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]] = {
    "dispatch_inproc": dispatch_inproc,
    "dispatch_http": dispatch_http,
    "fanout": fanout,
    "burst_sqlite": burst_sqlite,
    "burst_postgres": burst_postgres,
    "prefill_postgres": prefill_postgres,
    "drain_postgres": drain_postgres,
}


def run(coro: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """On uvloop where installed, as the ``publisher`` command runs; else asyncio."""
    if uvloop is not None:
        result: dict[str, Any] = uvloop.run(coro)
        return result
    return asyncio.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--params", required=True)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = run(SCENARIOS[args.scenario](json.loads(args.params)))
    result.setdefault("event_loop", LOOP_NAME)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
