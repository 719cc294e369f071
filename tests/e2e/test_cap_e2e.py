"""CAP warnings end to end: ``publisher serve`` posting what ``publisher warn`` hands it, and
polling an Atom feed of CAP documents on 127.0.0.1 by itself."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cap_samples import alert, info

from .procs import Workspace, free_port

pytestmark = pytest.mark.slow

CONFIG = """
cap_feeds = ["{feed}"]
cap_poll_interval = 1

[accounts.webhook]
type = "webhook"
url = "{{base_url}}/_sandbox/webhook/receive"
sandbox = true

[routes]
weather_warning = ["webhook"]
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:qxj</id><title>预警</title>
<updated>2026-11-26T08:00:00Z</updated>
<entry><id>urn:qxj:1</id><title>大风黄色预警</title><updated>2026-11-26T08:00:00Z</updated>
<link rel="alternate" type="application/cap+xml" href="wind.xml"/></entry></feed>"""


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def feed_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "feed"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_warn_and_the_feed_poller_publish_each_cap_message_once(
    workspace: Workspace, feed_dir: tuple[Path, str]
) -> None:
    root, base = feed_dir
    wind = info(event_codes=[("CMA_SIGNAL", "0502")], headline="市气象台发布大风黄色预警信号")
    (root / "wind.xml").write_bytes(alert(wind, identifier="wind_1"))
    (root / "atom.xml").write_text(ATOM, encoding="utf-8")
    port = free_port()
    workspace.env["PUBLISHER_PORT"] = str(port)
    workspace.config(CONFIG.format(feed=f"{base}/atom.xml"))
    workspace.serve(port)

    workspace.write("red.xml", alert(info(event_codes=[("CMA_SIGNAL", "0204")])))
    first = workspace.cli("warn", "red.xml", "--wait", "30", "--json")
    assert first.returncode == 0, first
    data = first.json()
    assert data["status"] == "posted" and data["cap"]["msgType"] == "Alert"
    again = workspace.cli("warn", "red.xml", "--wait", "30", "--json")
    assert again.returncode == 0, again
    assert again.json()["id"] == data["id"]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = workspace.query("SELECT title, source FROM notices ORDER BY id")
        if len(rows) >= 2:
            break
        time.sleep(0.3)
    time.sleep(2.5)  # two more polls: nothing more may come of them
    rows = workspace.query("SELECT title, source FROM notices")
    assert sorted(rows) == [  # the poller may well come first
        ("大庆市气象台发布暴雨预警信号", "cap:cli"),
        ("市气象台发布大风黄色预警信号", "cap:feed"),
    ]
    assert workspace.counts()["deliveries"] == 2
