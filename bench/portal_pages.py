"""Section ``portal``: the public portal's pages and feeds over a small and a large archive.

Issue 9 §10: every public page and feed must cost what it shows, not what the archive holds.
One ``publisher serve`` (SQLite, one portal account) is measured at each archive size: each
page is fetched ``warmup`` times, then ``repeat`` times timed (median reported), over one
keep-alive connection from this process.

Filling 100,000 notices through the API would take most of an hour on this machine, so the
archive is filled directly (``fill``): one real notice per sample kind is submitted through
``POST /api/notices`` and published by the portal worker; then, with serve stopped, copies of
those rows (the notice, its posted portal delivery, and one posted delivery of another
channel, as most notices also go to Weibo or WeChat) are bulk-inserted with ``sqlite3``, ten
minutes apart going back in time, spread over the kinds the way a bureau's archive is (most
work news, then warnings, then the disclosure lists). Only ids, times, idempotency keys and
a warning's validity change between copies; every warning but the newest few has expired.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from procs import AUTH, PUBLISHER, clean_env, free_port, stop, wait_until

TARGET_RATIO = 2.0  # each page at the large archive within 2x of its time at the small one
DEEP_POSITION = 1800  # "page 90" of 20: the cursor the deep page starts after
SPREAD = (  # (kind, share of the archive)
    ("general", 0.4),
    ("weather_warning", 0.2),
    ("approval_list", 0.1),
    ("penalty_disclosure", 0.1),
    ("accident_report", 0.1),
    ("budget_disclosure", 0.1),
)
SAMPLES: dict[str, dict[str, Any]] = {
    "general": {
        "kind": "general",
        "title": "我局召开安全生产形势分析会",
        "body": "11月20日，我局召开四季度安全生产形势分析会。\n会议部署了冬季安全生产工作。" * 4,
    },
    "weather_warning": {
        "kind": "weather_warning",
        "title": "暴雨橙色预警信号",
        "body": "预计未来6小时内本市大部分地区将出现50毫米以上降水，请注意防范。",
        "fields": {"signal": "暴雨", "color": "橙色", "area": ["城区", "北部山区"]},
    },
}


def section_portal(work: Path, p: dict[str, Any]) -> dict[str, Any]:
    params = {**p["portal"]}
    small_n, large_n = params["sizes"]
    config = work / "portal.yaml"
    config.write_text(
        json.dumps(
            {"accounts": {"portal": {"type": "portal"}}, "log_level": "WARNING"},
            ensure_ascii=False,
        )
    )
    small, large = work / f"portal-{small_n}.db", work / f"portal-{large_n}.db"
    env = {
        db: clean_env(PUBLISHER_CONFIG=str(config), PUBLISHER_DATABASE_URL=f"sqlite:///{db}")
        for db in (small, large)
    }
    upgrade = [PUBLISHER, "db", "upgrade"]
    done = subprocess.run(upgrade, cwd=work, env=env[small], capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"publisher db upgrade failed: {done.stderr.decode()[-500:]}")
    with serving(work, env[small]) as api:
        samples = {kind: publish(api, notice) for kind, notice in SAMPLES.items()}
    fill_s = {}
    started = time.perf_counter()
    fill(small, samples, 0, small_n)
    fill_s[small_n] = round(time.perf_counter() - started, 1)
    shutil.copyfile(small, large)
    started = time.perf_counter()
    fill(large, samples, small_n, large_n)
    fill_s[large_n] = round(time.perf_counter() - started, 1)
    # Both archives served at once and every request alternated between them, so a load
    # swing on the shared machine hits both sides of each ratio alike.
    with serving(work, env[small]) as api_small, serving(work, env[large]) as api_large:
        pages = measure(
            {small_n: (api_small, small), large_n: (api_large, large)},
            params["warmup"],
            params["repeat"],
        )
    ratios = {
        name: round(by[large_n]["median_ms"] / by[small_n]["median_ms"], 2)
        for name, by in pages.items()
    }
    return {
        "params": params,
        "fill_s": fill_s,
        "pages": {name: {str(n): v for n, v in by.items()} for name, by in pages.items()},
        "ratios": ratios,
        "target_ratio": TARGET_RATIO,
    }


@contextlib.contextmanager
def serving(work: Path, env: dict[str, str]) -> Iterator[httpx.Client]:
    """``publisher serve`` on a free port, and a keep-alive client to it, for a ``with``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (work / "portal-serve.log").open("ab") as log:
        proc = subprocess.Popen(
            [PUBLISHER, "serve", "--port", str(port)], cwd=work, stdout=log, stderr=log, env=env
        )
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200, 60, "serve")
        with httpx.Client(base_url=base, timeout=60, trust_env=False, headers=AUTH) as client:
            yield client
    finally:
        stop(proc)


def publish(api: httpx.Client, notice: dict[str, Any]) -> int:
    now = datetime.now(UTC)
    if notice["kind"] == "weather_warning":
        fields = {
            **notice["fields"],
            "issued_at": now.isoformat(),
            "valid_until": (now + timedelta(hours=6)).isoformat(),
        }
        notice = {**notice, "fields": fields}
    answer = api.post("/api/notices", json=notice)
    if answer.status_code != 201:
        raise RuntimeError(f"sample notice refused: {answer.status_code} {answer.text[:300]}")
    nid = int(answer.json()["id"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = api.get(f"/api/notices/{nid}").json()
        if found["deliveries"] and all(d["status"] == "posted" for d in found["deliveries"]):
            return nid
        time.sleep(0.1)
    raise RuntimeError(f"sample notice {nid} was not published")


def fill(db: Path, samples: dict[str, int], start: int, stop_at: int, batch: int = 10_000) -> None:
    """Copies of the sample notices until the archive holds ``stop_at`` (ids ``start`` up)."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        rows = {}
        for kind, nid in samples.items():
            notice = dict(conn.execute("SELECT * FROM notices WHERE id = ?", (nid,)).fetchone())
            delivery = dict(
                conn.execute(
                    "SELECT * FROM deliveries WHERE notice_id = ? AND channel = 'portal'", (nid,)
                ).fetchone()
            )
            rows[kind] = (notice, delivery)
        kinds = [k for k, share in SPREAD for _ in range(int(share * 10))]
        newest = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
        n_cols = [c for c in rows["general"][0] if c != "id"]
        d_cols = [c for c in rows["general"][1] if c != "id"]
        insert_n = (
            f"INSERT INTO notices ({', '.join(n_cols)}) VALUES ({', '.join('?' * len(n_cols))})"
        )
        insert_d = (
            f"INSERT INTO deliveries ({', '.join(d_cols)}) VALUES ({', '.join('?' * len(d_cols))})"
        )
        for first in range(start, stop_at, batch):
            notices_batch, kinds_batch = [], []
            for i in range(first, min(first + batch, stop_at)):
                kind = kinds[i % len(kinds)]
                notice, _ = rows[kind if kind in rows else "general"]
                at = newest - timedelta(minutes=10 * i)  # older as i grows
                fields = json.loads(notice["fields"])
                if kind == "weather_warning":
                    fields["issued_at"] = at.replace(tzinfo=UTC).isoformat()
                    fields["valid_until"] = (
                        (at + timedelta(hours=6)).replace(tzinfo=UTC).isoformat()
                    )
                values = {
                    **notice,
                    "kind": kind,
                    "title": f"{notice['title']}（{i}）",
                    "fields": json.dumps(fields, ensure_ascii=False),
                    "idempotency_key": None,
                    "fingerprint": f"bench-{i}",
                    "created_at": str(at),
                }
                notices_batch.append([values[c] for c in n_cols])
                kinds_batch.append((i, kind, at))
            with conn:
                cursor = conn.cursor()
                ids = []
                for row in notices_batch:  # lastrowid per row: executemany does not give ids
                    cursor.execute(insert_n, row)
                    ids.append(cursor.lastrowid)
                deliveries_batch = []
                for nid, (i, kind, at) in zip(ids, kinds_batch, strict=True):
                    _, delivery = rows[kind if kind in rows else "general"]
                    for account, channel in (("portal", "portal"), ("weibo", "weibo")):
                        values = {
                            **delivery,
                            "notice_id": nid,
                            "account": account,
                            "channel": channel,
                            "kind": kind,
                            "status": "posted",
                            "idempotency_key": f"bench-{i}-{account}",
                            "created_at": str(at),
                            "updated_at": str(at),
                            "not_before": str(at),
                            "posted_at": str(at),
                        }
                        deliveries_batch.append([values[c] for c in d_cols])
                cursor.executemany(insert_d, deliveries_batch)
    finally:
        conn.close()


def _insert(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _cursor_at(db: Path, kind: str, position: int) -> tuple[str, int]:
    """The (cursor text, position) of the ``position``-th newest notice of a kind (or the
    deepest one with a page after it, in a smaller archive)."""
    conn = sqlite3.connect(db)
    try:
        total = conn.execute(
            "SELECT count(*) FROM deliveries WHERE channel = 'portal' AND posted_at IS NOT NULL "
            "AND kind = ?",
            (kind,),
        ).fetchone()[0]
        position = min(position, max(0, total - 21))
        posted_at, nid = conn.execute(
            "SELECT posted_at, notice_id FROM deliveries WHERE channel = 'portal' "
            "AND posted_at IS NOT NULL AND kind = ? ORDER BY posted_at DESC, notice_id DESC "
            "LIMIT 1 OFFSET ?",
            (kind, position),
        ).fetchone()
    finally:
        conn.close()
    at = datetime.fromisoformat(posted_at).replace(tzinfo=UTC)
    return f"{at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')},{nid}", position


def _paths(db: Path) -> dict[str, str]:
    cursor, _ = _cursor_at(db, "general", DEEP_POSITION - 1)
    conn = sqlite3.connect(db)
    try:
        count = conn.execute("SELECT count(*) FROM notices").fetchone()[0]
        (notice_id,) = conn.execute(
            "SELECT id FROM notices ORDER BY id LIMIT 1 OFFSET ?", (count // 2,)
        ).fetchone()
    finally:
        conn.close()
    return {
        "front page": "/portal",
        "category": "/portal/category/general",
        "category ?page=10": "/portal/category/general?page=10",
        "deep page (cursor)": f"/portal/category/general?before={cursor}",
        "rss.xml": "/portal/rss.xml",
        "atom.xml": "/portal/atom.xml",
        "cap.xml": "/portal/cap.xml",
        "notice page": f"/portal/notices/{notice_id}",
    }


def _get(api: httpx.Client, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    answer = api.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:200]}")
    return elapsed, len(answer.content)


def measure(
    servers: dict[int, tuple[httpx.Client, Path]], warmup: int, repeat: int
) -> dict[str, dict[int, dict[str, Any]]]:
    """Each page on every server: warm-up, then ``repeat`` rounds alternating the servers."""
    paths = {n: _paths(db) for n, (_, db) in servers.items()}
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for name in next(iter(paths.values())):
        times: dict[int, list[float]] = {n: [] for n in servers}
        size: dict[int, int] = {}
        for _ in range(warmup):
            for n, (api, _) in servers.items():
                _get(api, paths[n][name])
        for _ in range(repeat):
            for n, (api, _) in servers.items():
                elapsed, size[n] = _get(api, paths[n][name])
                times[n].append(elapsed)
        out[name] = {
            n: {
                "path": paths[n][name],
                "median_ms": round(statistics.median(times[n]), 2),
                "min_ms": round(min(times[n]), 2),
                "max_ms": round(max(times[n]), 2),
                "bytes": size[n],
            }
            for n in servers
        }
    return out


def portal_rows(results: dict[str, Any]) -> list[tuple[str, Any, str, bool | None]]:
    """Rows for the run's table: each page's ratio, large archive over small."""
    portal = results.get("portal")
    if not portal:
        return []
    small, large = portal["params"]["sizes"]
    rows: list[tuple[str, Any, str, bool | None]] = []
    for name, ratio in portal["ratios"].items():
        by = portal["pages"][name]
        text = (
            f"x  ({by[str(small)]['median_ms']} -> {by[str(large)]['median_ms']} ms, "
            f"{small:,} -> {large:,} notices; target <= {TARGET_RATIO:g})"
        )
        rows.append((f"portal {name}", ratio, text, ratio <= TARGET_RATIO))
    return rows
