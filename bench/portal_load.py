"""Issue 9 §3: urgent warnings while 8 clients hammer the heaviest portal page.

One ``publisher serve`` (SQLite, its own database, the worker in the same process and event
loop as the portal) with a portal account and a webhook account on the sink. A notice with a
100,000-row table goes to the portal; then 8 client threads GET its page in a loop, while an
urgent weather warning (webhook only) is submitted every ``interval`` seconds. Figures:

- **submit→posted** per warning: the delivery's ``posted_at`` (read from the database after
  the run) − ``time.time()`` just before the ``POST /api/notices``. Target: p99 < 1 s.
- ``/healthz`` round trips sampled every 100 ms during the hammering.
- the hammering clients' request rate and status codes (429s under the rate limit).

Run alone: ``.venv/bin/python bench/portal_load.py [--rows N] [--rate-limit R] [--source DIR]``
(``--source``: run serve from another checkout, e.g. ``git archive main`` unpacked, with
this venv: the figures "before"). As a section of ``bench/run.py``: ``--only portal_load``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from procs import PY, WORK, clean_env, free_port, sink_process, stop, wait_until

CLIENTS = 8
SERVE = "import sys; sys.path.insert(0, sys.argv.pop(1)); from publisher.cli import main; main()"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": pct(values, 0.5),
        "p99_ms": pct(values, 0.99),
        "max_ms": round(max(values) * 1000, 1),
        "mean_ms": round(statistics.mean(values) * 1000, 1),
    }


def big_notice(rows: int) -> dict[str, Any]:
    return {
        "kind": "penalty_disclosure",
        "title": "行政处罚结果公开（压力测试大表）",
        "body": "现将处罚决定公开如下。",
        "table": {
            "columns": ["单位名称", "处罚内容", "处罚决定日期", "罚款金额"],
            "rows": [[f"某某公司{i}", "警告", "2026-09-12", i * 10] for i in range(rows)],
        },
        "channels": ["portal"],
    }


def warning(i: int) -> dict[str, Any]:
    now = datetime.now(UTC).astimezone()
    return {
        "kind": "weather_warning",
        "title": f"市气象台发布暴雨橙色预警信号（{i}）",
        "body": "预计未来6小时内我市大部分地区将出现50毫米以上降雨。",
        "urgent": True,
        "channels": ["hook"],
        "fields": {
            "signal": "暴雨",
            "color": "橙色",
            "issuer": "测试市气象台",
            "issued_at": now.isoformat(timespec="seconds"),
            "valid_until": (now + timedelta(hours=6)).isoformat(timespec="seconds"),
            "area": ["城区"],
            "advice": ["停止户外作业"],
        },
    }


def run(sink: str, work: Path, p: dict[str, Any]) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"portal-load-{int(time.time())}.db"
    config = {
        "accounts": {
            "portal": {"type": "portal", "site_name": "压力测试门户"},
            "hook": {
                "type": "webhook",
                "url": f"{sink}/d0/portal-load",
                "idempotency": "remote_key",
            },
        },
        "log_level": "WARNING",
    }
    if p.get("rate_limit") is not None:
        config["portal_rate_limit"] = p["rate_limit"]
    path = work / "portal-load.json"
    path.write_text(json.dumps(config, ensure_ascii=False))
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    source = p.get("source") or str(Path(__file__).resolve().parents[1])
    log = (work / "portal-load-serve.log").open("wb")
    proc = subprocess.Popen(
        [PY, "-c", SERVE, source, "serve", "--port", str(port)],
        cwd=work,
        stdout=log,
        stderr=log,
        env=clean_env(PUBLISHER_CONFIG=str(path), PUBLISHER_DATABASE_URL=f"sqlite:///{db}"),
    )
    try:
        wait_until(lambda: httpx.get(f"{api}/healthz", timeout=1).status_code == 200, 60, "serve")
        return {"params": p, **measure(api, db, p)}
    finally:
        stop(proc)
        log.close()


def measure(api: str, db: Path, p: dict[str, Any]) -> dict[str, Any]:
    client = httpx.Client(base_url=api, trust_env=False, timeout=600)
    started = time.monotonic()
    big = client.post("/api/notices", json=big_notice(p["rows"]))
    big.raise_for_status()
    big_id = big.json()["id"]
    submit_big_s = time.monotonic() - started
    while client.get(f"/api/notices/{big_id}").json()["deliveries"][0]["status"] != "posted":
        time.sleep(0.2)
    page = f"/portal/notices/{big_id}"
    started = time.monotonic()
    first = client.get(page, headers={"User-Agent": "Mozilla/5.0 bench"})
    cold_ms = round((time.monotonic() - started) * 1000, 1)

    done = threading.Event()
    codes: Counter[int] = Counter()
    health: list[float] = []

    def hammer(n: int) -> None:
        with httpx.Client(base_url=api, trust_env=False, timeout=120) as c:
            while not done.is_set():
                try:
                    r = c.get(page, headers={"User-Agent": f"Mozilla/5.0 bench-{n}"})
                    codes[r.status_code] += 1
                except httpx.HTTPError:
                    codes[0] += 1

    def healthz() -> None:
        with httpx.Client(base_url=api, trust_env=False, timeout=120) as c:
            while not done.is_set():
                t = time.monotonic()
                c.get("/healthz")
                health.append(time.monotonic() - t)
                time.sleep(0.1)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(CLIENTS)]
    threads.append(threading.Thread(target=healthz))
    for t in threads:
        t.start()
    submitted: dict[int, float] = {}
    hammer_start = time.monotonic()
    try:
        time.sleep(1.0)
        for i in range(p["warnings"]):
            t0 = time.time()
            r = client.post("/api/notices", json=warning(i))
            r.raise_for_status()
            submitted[r.json()["id"]] = t0
            time.sleep(p["interval"])
        time.sleep(2.0)
    finally:
        done.set()
        for t in threads:
            t.join()
    hammer_s = time.monotonic() - hammer_start
    client.close()
    deadline = time.monotonic() + 300  # warnings still queued when the hammering stopped
    while time.monotonic() < deadline and len(posted_delays(db, submitted, True)) < len(submitted):
        time.sleep(0.5)
    return {
        "rows": p["rows"],
        "submit_big_notice_s": round(submit_big_s, 1),
        "page_bytes": len(first.content),
        "cold_page_ms": cold_ms,
        "submit_to_posted": summary(posted_delays(db, submitted)),
        "healthz": summary(health),
        "hammer": {
            "clients": CLIENTS,
            "requests_per_s": round(sum(codes.values()) / hammer_s, 1),
            "status": {str(k): v for k, v in sorted(codes.items())},
        },
    }


def posted_delays(db: Path, submitted: dict[int, float], only_posted: bool = False) -> list[float]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT notice_id, posted_at FROM deliveries WHERE channel = 'webhook'"
        ).fetchall()
    out = []
    for notice_id, posted_at in rows:
        if notice_id in submitted and posted_at:
            moment = datetime.fromisoformat(str(posted_at))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            out.append(moment.timestamp() - submitted[notice_id])
    missing = len(submitted) - len(out)
    if missing and not only_posted:
        out += [float("inf")] * missing  # not posted by the end: counted as never
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--warnings", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--rate-limit", type=float, default=None, help="0: no limit")
    parser.add_argument("--source", help="the checkout serve runs from (default: this one)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop serve and the sink on timeout
    params = {
        "rows": args.rows,
        "warnings": args.warnings,
        "interval": args.interval,
        "rate_limit": args.rate_limit,
        "source": args.source,
    }
    work = WORK / f"portal-load-{int(time.time())}"
    work.mkdir(parents=True, exist_ok=True)
    with sink_process(work) as sink:
        print(json.dumps(run(sink, work, params), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    sys.exit(main())
