"""The reach collector's cost per 1,000 posts (issue 14): one collection run over N posted
Weibo deliveries, against the Weibo sandbox over real HTTP on 127.0.0.1, SQLite store.

    .venv/bin/python bench/collector.py               # 1,000 posts
    .venv/bin/python bench/collector.py --posts 5000 --json

Prints the wall time of one run (every post due: the worst hour, the first one after
posting), the channel calls it made (``statuses/count`` takes 100 ids), the samples it
wrote, and the same run again an hour later with the decaying schedule (every post due again
while under two days old). Stand-alone: ``bench/run.py`` may call :func:`section_collector`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI, Request  # noqa: E402

from channels.weibo.sandbox import WeiboSandbox  # noqa: E402
from publisher.metrics.collector import collect_once  # noqa: E402
from publisher.notice import parse_notice  # noqa: E402
from publisher.runtime import Runtime  # noqa: E402
from publisher.settings import load_settings  # noqa: E402
from tests.sandbox_server import serve_app  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current


async def _seed(rt: Runtime, sandbox: WeiboSandbox, posts: int) -> None:
    rows = []
    for i in range(posts):
        done = await rt.intake.submit(
            parse_notice(
                {"kind": "general", "title": f"通知 {i}", "body": "正文", "channels": ["weibo"]}
            ),
            source="bench",
            actor="bench",
        )
        remote = sandbox._post(1, f"正文 {i}", {})["idstr"]
        rows.append((str(remote), done.notice_id))
    posted = rt.clock.now().replace(tzinfo=None).isoformat(sep=" ")

    def _mark(conn: Any) -> None:
        conn.exec_driver_sql(
            "UPDATE deliveries SET status='posted', remote_id=?, posted_at=? WHERE notice_id=?",
            [(remote, posted, notice) for remote, notice in rows],
        )

    await rt.store._tx(_mark)


async def measure(posts: int) -> dict[str, Any]:
    clock = Clock()
    sandbox = WeiboSandbox(clock=lambda: clock.now().timestamp())
    calls = {"n": 0}
    app = FastAPI()

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        if request.url.path.endswith("/statuses/count.json"):
            calls["n"] += 1
        return await call_next(request)

    app.include_router(sandbox.router, prefix="/_sandbox/weibo")
    with tempfile.TemporaryDirectory() as tmp, serve_app(app) as base:
        settings = load_settings(
            database_url=f"sqlite:///{tmp}/bench.db",
            base_url=base,
            accounts={"weibo": {"type": "weibo", "access_token": "tok", "sandbox": True}},
        )
        rt = await Runtime.open(settings, clock=clock)
        try:
            await _seed(rt, sandbox, posts)
            runs = []
            for _ in range(2):
                clock.current += timedelta(hours=1)
                before = calls["n"]
                started = time.perf_counter()
                [result] = await collect_once(rt.store, rt.channels, clock, max_posts=posts)
                seconds = time.perf_counter() - started
                runs.append(
                    {
                        "seconds": round(seconds, 3),
                        "posts": result.posts,
                        "samples": result.samples,
                        "channel_calls": calls["n"] - before,
                        "error": result.error,
                    }
                )
        finally:
            await rt.close()
    first = runs[0]
    per_1000 = 1000 / max(posts, 1)
    return {
        "posts": posts,
        "runs": runs,
        "per_1000_posts": {
            "seconds": round(first["seconds"] * per_1000, 3),
            "channel_calls": round(first["channel_calls"] * per_1000, 1),
            "samples_written": round(first["samples"] * per_1000),
        },
    }


def section_collector(posts: int = 1000) -> dict[str, Any]:
    """For ``bench/run.py``: the figures as a dict."""
    return asyncio.run(measure(posts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = section_collector(args.posts)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    p = figures["per_1000_posts"]
    print(
        f"collector, {figures['posts']} posts: per 1,000 posts {p['seconds']} s, "
        f"{p['channel_calls']} channel calls, {p['samples_written']} samples"
    )
    for i, run in enumerate(figures["runs"], 1):
        print(f"  run {i}: {run}")


if __name__ == "__main__":
    main()
