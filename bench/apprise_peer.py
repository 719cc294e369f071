"""The peer: the same burst sent through Apprise. Runs in Apprise's own venv (bench/.venv-apprise).

    bench/.venv-apprise/bin/python bench/apprise_peer.py --sink http://127.0.0.1:PORT \
        --delay-ms 50 --count 500 --targets 4 --mode notify

One ``Apprise`` object holds ``targets`` ``json://127.0.0.1:PORT/d<delay>/<tag>-<i>`` URLs
(the same sink; the path sets the sink's answer delay). Modes:

* ``notify`` (the documented use, our headline): ``apobj.notify(...)`` once per notice, in a
  loop. Apprise sends one call's targets concurrently on its shared thread pool
  (``async_mode`` is on by default) and returns when all have answered; calls follow one
  another.
* ``gather``: every notice's ``await apobj.async_notify(...)`` started at once with
  ``asyncio.gather`` (a heavier use the docs do not show); the JSON plugin's blocking
  ``requests`` calls then share Apprise's thread pool.

Prints one JSON object: elapsed seconds from the first call to the last return, and counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time

import apprise  # type: ignore[import-not-found]
from content import BODY, title


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sink", required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--targets", type=int, default=4)
    parser.add_argument("--tag", default="apprise")
    parser.add_argument("--mode", choices=("notify", "gather"), default="notify")
    args = parser.parse_args()

    host = args.sink.removeprefix("http://")
    apobj = apprise.Apprise()
    for i in range(args.targets):
        if not apobj.add(f"json://{host}/d{args.delay_ms:g}/{args.tag}-{i}"):
            raise SystemExit(f"apprise refused target {i}")

    ok = 0
    cpu = time.process_time()
    start = time.time()
    if args.mode == "notify":
        for i in range(args.count):
            ok += bool(apobj.notify(body=BODY, title=title(i)))
    else:

        async def run() -> int:
            results = await asyncio.gather(
                *(apobj.async_notify(body=BODY, title=title(i)) for i in range(args.count))
            )
            return sum(bool(r) for r in results)

        ok = asyncio.run(run())
    elapsed = time.time() - start
    cpu = time.process_time() - cpu
    print(
        json.dumps(
            {
                "apprise_version": apprise.__version__,
                "mode": args.mode,
                "async_mode": apprise.AppriseAsset().async_mode,
                "notify_calls": args.count,
                "notify_ok": ok,
                "targets": args.targets,
                "start": start,
                "elapsed_s": round(elapsed, 3),
                "deliveries_per_s": round(args.count * args.targets / elapsed, 1),
                "cpu_ms_per_delivery": round(cpu * 1000 / (args.count * args.targets), 3),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
