"""Issue 11 part E: CAP warnings from received to posted on the portal, Weibo and OA.

One ``publisher serve`` (SQLite, the worker in the same process, the built-in sandbox mounted,
``BENCH_TOKEN`` as its API token) with sandbox accounts of the real channel types: the portal,
Weibo, OA (WeCom app messages) and WeChat. Every sandbox answers after ``latency_ms`` (the
kit's latency fault, ``PUT /_sandbox/<type>/faults``). ``count`` CAP 1.2 warnings (blue,
yellow or orange; distinct identifiers) are POSTed to ``/api/warnings`` one every
``interval`` seconds.

Platform rate limits are facts the product obeys (Weibo 30 posts an hour, WeChat 10 a
minute, WeCom 8 in 30 s per account); 200 warnings to one account of each would measure
those rules, not us. So each warning names one account of each type (``?channels=``),
round robin over enough accounts that none reaches its declared limit; a warm-up notice to
every account fetches the tokens first (and takes one slot of each window).

Figures (seconds → ms), from ``time.time()`` just before the POST (received) to the
delivery's ``posted_at`` in the database, per channel type, and ``overall``: until the
warning is posted on all of portal, Weibo and OA. WeChat is two-phase (``freepublish``,
then polled until published; the adapter first asks after 5 s, the sandbox finishes a job in
``publish_seconds``): its confirmed-publish time is reported apart. Target: overall p99 < 1 s.

Run alone: ``.venv/bin/python bench/warnings_bench.py [--count N] [--interval S]``; as a
section of ``bench/run.py``: ``--only warnings``.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
from procs import AUTH, PUBLISHER, WORK, clean_env, free_port, peak_rss_of, stop, wait_until

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SIGNALS = ["暴雨", "台风", "高温", "寒潮", "大风", "大雾", "雷电", "冰雹", "霜冻"]
COLOURS = {"1": "蓝色", "2": "黄色", "3": "橙色"}  # red left out: it spends WeChat's mass send
HEADROOM = {"weibo": 25, "oa": 6, "wechat": 8}  # warnings per account: under each window
SANDBOXES = ("weibo", "wechat", "wecom_app")
TARGET_P99_MS = 1000.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000, 1)


def summary(values: list[float], expected: int) -> dict[str, Any]:
    done = [v for v in values if math.isfinite(v)]
    if not done:
        return {"n": 0, "missing": expected}
    return {
        "n": len(done),
        "missing": expected - len(done),
        "p50_ms": pct(done, 0.5),
        "p95_ms": pct(done, 0.95),
        "p99_ms": pct(done, 0.99),
        "max_ms": round(max(done) * 1000, 1),
        "mean_ms": round(statistics.mean(done) * 1000, 1),
    }


def accounts(count: int) -> dict[str, dict[str, Any]]:
    """The sandbox accounts: one portal and enough of each other type (see the docstring)."""
    out: dict[str, dict[str, Any]] = {"portal": {"type": "portal", "sandbox": True}}
    for i in range(math.ceil(count / HEADROOM["weibo"])):
        out[f"weibo-{i}"] = {
            "type": "weibo",
            "access_token": f"sandbox-weibo-token-{i}",
            "sandbox": True,
        }
    for i in range(math.ceil(count / HEADROOM["oa"])):
        out[f"oa-{i}"] = {
            "type": "wecom_app",
            "corpid": "wwsandbox0000000001",
            "corpsecret": "sandbox-wecom-secret",
            "agentid": 1000002 + i,
            "sandbox": True,
        }
    for i in range(math.ceil(count / HEADROOM["wechat"])):
        out[f"wechat-{i}"] = {
            "type": "wechat",
            "appid": f"wxsandbox{i:010d}",
            "secret": "sandbox-wechat-secret",
            "api_base": "{base_url}/_sandbox/wechat",
            "stats_lag_days": 0,
            "sandbox": True,
        }
    return out


def targets(i: int, names: list[str]) -> list[str]:
    """Warning ``i``'s accounts: the portal and the i-th of each other type, round robin."""
    out = ["portal"]
    for prefix in ("weibo-", "oa-", "wechat-"):
        of = [n for n in names if n.startswith(prefix)]
        out.append(of[i % len(of)])
    return out


def cap_warning(i: int, run: str) -> bytes:
    now = datetime.now(UTC).astimezone()
    signal = SIGNALS[i % len(SIGNALS)]
    colour_code = str(i % 3 + 1)
    code = f"{(i % len(SIGNALS)) + 1:02d}0{colour_code}"
    headline = f"测试市气象台发布{signal}{COLOURS[colour_code]}预警信号（第{i}号）"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<alert xmlns="{CAP_NS}">'
        f"<identifier>bench-{run}-{i}</identifier><sender>bench@example.gov.cn</sender>"
        f"<sent>{now.isoformat(timespec='seconds')}</sent><status>Actual</status>"
        "<msgType>Alert</msgType><scope>Public</scope>"
        "<info><language>zh-CN</language><category>Met</category>"
        f"<event>{escape(signal)}预警</event><urgency>Immediate</urgency>"
        "<severity>Moderate</severity><certainty>Likely</certainty>"
        f"<eventCode><valueName>CMA_SIGNAL</valueName><value>{code}</value></eventCode>"
        f"<effective>{now.isoformat(timespec='seconds')}</effective>"
        f"<expires>{(now + timedelta(hours=6)).isoformat(timespec='seconds')}</expires>"
        "<senderName>测试市气象台</senderName>"
        f"<headline>{escape(headline)}</headline>"
        f"<description>{escape(headline)}：预计未来6小时内我市将受{escape(signal)}影响。"
        "</description><instruction>停止户外作业；注意防范</instruction>"
        "<area><areaDesc>城区</areaDesc></area></info></alert>"
    ).encode()


def warm_up(client: httpx.Client, names: list[str]) -> None:
    """One notice to every account: tokens fetched, connections open."""
    notice = {
        "kind": "general",
        "title": "压力测试预热",
        "body": "压力测试预热消息，请忽略。",
        "channels": names,
        "allow_duplicate": True,
    }
    r = client.post("/api/notices", json=notice)
    r.raise_for_status()
    notice_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = {d["status"] for d in client.get(f"/api/notices/{notice_id}").json()["deliveries"]}
        if states <= {"posted", "failed", "needs_review"}:
            if states != {"posted"}:
                raise RuntimeError(f"warm-up not posted everywhere: {states}")
            return
        time.sleep(0.2)
    raise RuntimeError("warm-up not posted in 120 s")


def posted(db: Path, ids: list[int]) -> dict[int, dict[str, float]]:
    """Per notice: channel type -> posted_at (epoch seconds)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT notice_id, channel, posted_at, status FROM deliveries WHERE notice_id >= ?",
            (min(ids),),
        ).fetchall()
    out: dict[int, dict[str, float]] = {}
    for notice_id, channel, posted_at, status in rows:
        if posted_at and status == "posted":
            moment = datetime.fromisoformat(str(posted_at))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            out.setdefault(notice_id, {})[channel] = moment.timestamp()
    return out


def measure(api: str, db: Path, names: list[str], p: dict[str, Any]) -> dict[str, Any]:
    client = httpx.Client(base_url=api, trust_env=False, timeout=60, headers=AUTH)
    faults = {"latency_ms": p["latency_ms"]}
    for sandbox in SANDBOXES:
        client.put(f"/_sandbox/{sandbox}/faults", json=faults).raise_for_status()
    warm_up(client, names)
    run = datetime.now(UTC).strftime("%H%M%S")
    received: dict[int, float] = {}
    intake: list[float] = []
    started = time.monotonic()
    for i in range(p["count"]):
        due = started + i * p["interval"]
        time.sleep(max(0.0, due - time.monotonic()))
        t0 = time.time()
        r = client.post(
            "/api/warnings",
            params={"channels": ",".join(targets(i, names))},
            content=cap_warning(i, run),
            headers={"Content-Type": "application/cap+xml"},
        )
        intake.append(time.time() - t0)
        if r.status_code != 201:
            raise RuntimeError(f"warning {i}: HTTP {r.status_code} {r.text[:300]}")
        received[r.json()["id"]] = t0
    submit_s = time.monotonic() - started
    ids = sorted(received)
    deadline = time.monotonic() + p["drain_timeout"]
    found = posted(db, ids)
    while time.monotonic() < deadline and sum(len(found.get(n, {})) for n in ids) < 4 * len(ids):
        time.sleep(0.5)
        found = posted(db, ids)
    client.close()
    inf = float("inf")
    per: dict[str, list[float]] = {"portal": [], "weibo": [], "wecom_app": [], "wechat": []}
    overall: list[float] = []
    for n in ids:
        times = found.get(n, {})
        for channel, values in per.items():
            values.append(times.get(channel, inf) - received[n])
        three = [times.get(c, inf) for c in ("portal", "weibo", "wecom_app")]
        overall.append(max(three) - received[n])
    count = len(ids)
    result = {
        "warnings": count,
        "submit_phase_s": round(submit_s, 1),
        "offered_per_s": round(count / submit_s, 1) if submit_s else None,
        "accounts": {t: sum(n.startswith(t) for n in names) for t in ("weibo", "oa", "wechat")},
        "post_api_warnings_ms": summary(intake, count),
        "overall_portal_weibo_oa": summary(overall, count),
        "portal": summary(per["portal"], count),
        "weibo": summary(per["weibo"], count),
        "oa_wecom_app": summary(per["wecom_app"], count),
        "wechat_confirmed": summary(per["wechat"], count),
        "target_p99_ms": TARGET_P99_MS,
    }
    p99 = result["overall_portal_weibo_oa"].get("p99_ms")
    result["target_met"] = (
        p99 is not None and p99 < TARGET_P99_MS and not any(math.isinf(v) for v in overall)
    )
    return result


def run(work: Path, p: dict[str, Any]) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    db = work / f"warnings-{int(time.time())}.db"
    config = {
        "accounts": accounts(p["count"]),
        "routes": {"weather_warning": ["portal"]},
        "log_level": "WARNING",
        "metrics_interval": 0,
        "sandbox_dir": str(work / "warnings-sandbox"),
    }
    names = list(config["accounts"])
    path = work / "warnings.json"
    path.write_text(json.dumps(config, ensure_ascii=False))
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    log = (work / "warnings-serve.log").open("wb")
    proc = subprocess.Popen(
        [PUBLISHER, "serve", "--port", str(port)],
        cwd=work,
        stdout=log,
        stderr=log,
        env=clean_env(PUBLISHER_CONFIG=str(path), PUBLISHER_DATABASE_URL=f"sqlite:///{db}"),
    )
    try:
        wait_until(lambda: httpx.get(f"{api}/healthz", timeout=1).status_code == 200, 60, "serve")
        result = measure(api, db, names, p)
        result["serve_peak_rss_mb"] = peak_rss_of(proc.pid)
        return {"params": p, **result}
    finally:
        stop(proc)
        log.close()


def rows(results: dict[str, Any]) -> list[tuple[str, float | None, str, bool | None]]:
    """The summary table's rows for this section."""
    w = results.get("warnings")
    if not isinstance(w, dict):
        return []
    out: list[tuple[str, float | None, str, bool | None]] = []
    total = w.get("overall_portal_weibo_oa", {})
    p99 = total.get("p99_ms")
    out.append(
        (
            "CAP warning received -> posted (portal+Weibo+OA) p99",
            p99,
            f"ms  (target <= {TARGET_P99_MS:g}; p50 {total.get('p50_ms')}, "
            f"p95 {total.get('p95_ms')})",
            None if p99 is None else bool(w.get("target_met")),
        )
    )
    for key, label in (
        ("portal", "  portal"),
        ("weibo", "  Weibo"),
        ("oa_wecom_app", "  OA (WeCom app)"),
        ("wechat_confirmed", "  WeChat confirmed publish"),
    ):
        s = w.get(key, {})
        out.append(
            (
                f"{label} p99",
                s.get("p99_ms"),
                f"ms  (p50 {s.get('p50_ms')}, p95 {s.get('p95_ms')})",
                None,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    params = {
        "count": args.count,
        "interval": args.interval,
        "latency_ms": args.latency_ms,
        "drain_timeout": 120,
    }
    work = WORK / f"warnings-{int(time.time())}"
    print(json.dumps(run(work, params), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    sys.exit(main())
