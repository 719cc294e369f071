"""The CAP feed poller against a real HTTP server on 127.0.0.1: conditional requests, Atom
entries followed to their CAP documents, one bad document never stopping the others."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cap_samples import alert, info

from publisher.cap import poll
from publisher.cap.poll import CapPoller
from publisher.runtime import Runtime
from publisher.scheduler import Scheduler
from publisher.settings import load_settings

PORTAL_ONLY = {"portal": {"type": "portal", "display_name": "门户网站", "sandbox": True}}


class Site:
    """Documents by path; ETag and Last-Modified honoured; every request remembered."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append((self.path, dict(self.headers)))
                if self.path not in site.pages:
                    self.send_response(404)
                    self.end_headers()
                    return
                body, media = site.pages[self.path]
                etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", media)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Thu, 26 Nov 2026 08:00:00 GMT")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    def asked(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    thread = threading.Thread(target=s.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield s
    finally:
        s.server.shutdown()
        s.server.server_close()


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'publisher.db'}",
        accounts=PORTAL_ONLY,
        metrics_interval=0,
    )
    rt = await Runtime.open(settings)
    try:
        yield rt
    finally:
        await rt.close()


def atom(*entries: tuple[str, str, str]) -> bytes:
    """An Atom feed; each entry (id, updated, CAP link)."""
    items = "".join(
        f"<entry><id>{i}</id><title>预警</title><updated>{u}</updated>"
        f'<link rel="alternate" type="text/html" href="/page/{i}"/>'
        f'<link rel="alternate" type="application/cap+xml" href="{href}"/></entry>'
        for i, u, href in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>urn:feed</id><title>预警</title><updated>2026-11-26T08:00:00Z</updated>{items}</feed>"
    ).encode()


def red(identifier: str) -> bytes:
    return alert(info(event_codes=[("CMA_SIGNAL", "0204")]), identifier=identifier)


async def titles_by_key(rt: Runtime) -> dict[str, int]:
    notices = {d.notice_id for d in await rt.store.list_deliveries(limit=1000)}
    records = [await rt.store.get_notice(n) for n in sorted(notices)]
    return {str(r.idempotency_key): len(r.deliveries) for r in records}


def poller(rt: Runtime, *feeds: str) -> CapPoller:
    return CapPoller(rt.intake, feeds, lambda: httpx.AsyncClient(timeout=5))


async def test_atom_entries_are_followed_to_their_cap_documents(
    site: Site, runtime: Runtime
) -> None:
    site.pages["/cap/a.xml"] = (red("a_1"), "application/cap+xml")
    site.pages["/cap/bad.xml"] = (b"<alert>not cap</alert>", "application/cap+xml")
    site.pages["/cap/b.xml"] = (red("b_1"), "application/cap+xml")
    site.pages["/atom.xml"] = (
        atom(
            ("a", "2026-11-26T08:00:00Z", "/cap/a.xml"),
            ("bad", "2026-11-26T08:00:00Z", "/cap/bad.xml"),
            ("gone", "2026-11-26T08:00:00Z", "/cap/missing.xml"),
            ("b", "2026-11-26T08:00:00Z", f"{site.base}/cap/b.xml"),
        ),
        "application/atom+xml",
    )
    p = poller(runtime, f"{site.base}/atom.xml")
    await p.poll_once()

    published = await titles_by_key(runtime)
    assert published == {"cap:23070041600000:a_1": 1, "cap:23070041600000:b_1": 1}
    state = p.status[f"{site.base}/atom.xml"]
    assert (state.taken, state.refused) == (2, 1)
    assert state.last_error is not None and "missing.xml" in state.last_error

    # The next poll: the feed is asked in full (a document was missing), only it is fetched.
    site.pages["/cap/missing.xml"] = (red("c_1"), "application/cap+xml")
    await p.poll_once()
    assert len(site.asked("/cap/a.xml")) == 1 and len(site.asked("/cap/bad.xml")) == 1
    assert len(await titles_by_key(runtime)) == 3


async def test_an_unchanged_feed_is_a_304_and_publishes_nothing_again(
    site: Site, runtime: Runtime
) -> None:
    site.pages["/atom.xml"] = (
        atom(("a", "2026-11-26T08:00:00Z", "/cap/a.xml")),
        "application/atom+xml",
    )
    site.pages["/cap/a.xml"] = (red("a_1"), "application/cap+xml")
    p = poller(runtime, f"{site.base}/atom.xml")
    await p.poll_once()
    await p.poll_once()

    first, second = site.asked("/atom.xml")
    assert "If-None-Match" not in first
    assert second["If-None-Match"].startswith('"')
    assert second["If-Modified-Since"] == "Thu, 26 Nov 2026 08:00:00 GMT"
    assert len(site.asked("/cap/a.xml")) == 1
    assert await titles_by_key(runtime) == {"cap:23070041600000:a_1": 1}

    # An entry updated at the same address is read again; the same message stays one notice.
    site.pages["/atom.xml"] = (
        atom(("a", "2026-11-26T09:00:00Z", "/cap/a.xml")),
        "application/atom+xml",
    )
    await p.poll_once()
    assert len(site.asked("/cap/a.xml")) == 2
    assert await titles_by_key(runtime) == {"cap:23070041600000:a_1": 1}


async def test_one_broken_feed_does_not_stop_the_next(site: Site, runtime: Runtime) -> None:
    site.pages["/one.xml"] = (red("solo_1"), "application/cap+xml")  # a feed of one CAP
    p = poller(
        runtime, "http://127.0.0.1:9/down.xml", f"{site.base}/nothing", f"{site.base}/one.xml"
    )
    await p.poll_once()
    assert await titles_by_key(runtime) == {"cap:23070041600000:solo_1": 1}
    assert p.status["http://127.0.0.1:9/down.xml"].last_error
    assert p.status[f"{site.base}/nothing"].last_error == "HTTP 404"


async def test_serve_schedules_the_poll_only_when_feeds_are_set(runtime: Runtime) -> None:
    scheduler = Scheduler(runtime.store, runtime.clock, "test", "Asia/Shanghai")
    assert poll.schedule(scheduler, runtime.intake, runtime.settings) is None
    settings = runtime.settings.model_copy(
        update={"cap_feeds": ["http://127.0.0.1:9/atom.xml"], "cap_poll_interval": 30.0}
    )
    made = poll.schedule(scheduler, runtime.intake, settings)
    assert made is not None and made.feeds == ["http://127.0.0.1:9/atom.xml"]
    job = scheduler._aps.get_job("poll_cap_feeds")
    assert job is not None and job.trigger.interval.total_seconds() == 30.0
