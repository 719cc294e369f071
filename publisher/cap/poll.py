"""Polling the CAP and Atom feeds named in ``cap_feeds`` (a job of ``publisher serve``).

Each poll asks every feed with ``If-None-Match`` / ``If-Modified-Since`` from its last
answer, so an unchanged feed costs a 304. A feed URL may answer with:

* a CAP ``<alert>``: taken in as it is;
* an Atom feed: each entry's link to a CAP document (``type`` application/cap+xml or
  application/xml; else an ``alternate``/``enclosure`` link ending in ``.xml``/``.cap``) is
  fetched and taken in; an entry with no such link but a CAP ``<alert>`` as its
  ``content`` is taken in from there.

An entry is handled once per (document URL, entry ``updated``): a document that changes at
the same address (a portal's alert that became a Cancel) is read again. Whatever one feed
or document does wrong (unreachable, not CAP, expired, a drill) is logged in English, kept
in :attr:`CapPoller.status` and never stops the others; a refused document is not fetched
again, a network or database failure is tried again next poll. The same CAP message seen
twice is one notice anyway (its idempotency key), across restarts and processes.
"""

from __future__ import annotations

import hashlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import httpx
from defusedxml import ElementTree as SafeET

from publisher.cap.intake import take_in
from publisher.cap.parse import CAP_MIME, CAP_NS, MAX_CAP_BYTES
from publisher.errors import InputError, PublisherError
from publisher.queue.intake import Intake
from publisher.scheduler import Scheduler
from publisher.settings import Settings

log = logging.getLogger("publisher.cap")

ATOM = "{http://www.w3.org/2005/Atom}"
MAX_FEED_BYTES = 10 * 1024 * 1024
CAP_TYPES = (CAP_MIME, "application/xml", "text/xml")


class FetchError(Exception):
    """A feed or document could not be fetched (tried again at the next poll)."""


@dataclass
class FeedStatus:
    """What a person asks of a feed: when it was read, what came in, what went wrong."""

    etag: str | None = None
    last_modified: str | None = None
    checked_at: datetime | None = None
    taken: int = 0  # CAP messages taken in (new or seen before)
    refused: int = 0
    last_error: str | None = None
    seen: set[str] = field(default_factory=set)  # "url#updated" handled for good


@dataclass(frozen=True)
class _Doc:
    key: str  # what marks it handled
    url: str | None  # fetch from here, or
    inline: bytes | None = None  # take this


class CapPoller:
    def __init__(
        self,
        intake: Intake,
        feeds: Sequence[str],
        client_factory: Callable[[], httpx.AsyncClient],
    ) -> None:
        self.intake = intake
        self.feeds = list(feeds)
        self.client_factory = client_factory
        self.status: dict[str, FeedStatus] = {url: FeedStatus() for url in self.feeds}

    async def poll_once(self) -> None:
        """Read every feed once; no feed's trouble stops another's."""
        async with self.client_factory() as client:
            for url in self.feeds:
                state = self.status[url]
                state.checked_at = self.intake.clock.now()
                try:
                    await self._poll_feed(client, url, state)
                except FetchError as exc:
                    state.last_error = str(exc)
                    log.warning("CAP feed %s: %s", url, exc)
                except Exception as exc:  # a store outage, a bug: log it, go on with the rest
                    state.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("CAP feed %s failed", url)

    async def _poll_feed(self, client: httpx.AsyncClient, url: str, state: FeedStatus) -> None:
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        response, raw = await _get(client, url, headers, MAX_FEED_BYTES)
        if response.status_code == 304:
            return
        state.last_error = None
        docs = _documents(url, raw)
        if docs is None:  # the feed URL serves one CAP document
            docs = [_Doc(f"{url}#{hashlib.sha256(raw).hexdigest()}", None, raw)]
        complete = True
        for doc in docs:
            if doc.key not in state.seen:
                complete = await self._take(client, url, doc, state) and complete
        state.seen &= {d.key for d in docs}  # forget entries that left the feed
        # Only now: a feed whose documents could not all be handled is read in full next time.
        if complete:
            state.etag = response.headers.get("etag")
            state.last_modified = response.headers.get("last-modified")

    async def _take(
        self, client: httpx.AsyncClient, feed: str, doc: _Doc, state: FeedStatus
    ) -> bool:
        """Take one document in; False when it should be tried again next poll."""
        where = doc.url or feed
        try:
            raw = doc.inline
            if raw is None:
                assert doc.url is not None
                _response, raw = await _get(client, doc.url, {}, MAX_CAP_BYTES)
            taken = await take_in(self.intake, raw, via="feed", actor=f"feed:{feed}")
        except FetchError as exc:
            state.last_error = f"{where}: {exc}"
            log.warning("CAP feed %s: document %s not fetched: %s", feed, where, exc)
            return False
        except InputError as exc:  # refused for good: not fetched again
            state.refused += 1
            state.seen.add(doc.key)
            state.last_error = f"{where}: {exc}"
            log.warning("CAP feed %s: document %s refused: %s", feed, where, exc)
            return True
        except PublisherError as exc:  # the store is down: try again next poll
            state.last_error = f"{where}: {exc}"
            log.warning("CAP feed %s: document %s not taken in: %s", feed, where, exc)
            return False
        state.taken += 1
        state.seen.add(doc.key)
        verb = "published" if taken.submitted.created else "already known"
        log.info("CAP feed %s: %s -> notice %d (%s)", feed, where, taken.submitted.notice_id, verb)
        return True


async def _get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], limit: int
) -> tuple[httpx.Response, bytes]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError(f"not an http(s) address: {url[:200]}")
    try:
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return response, b""
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:  # parse_cap refuses it by name; a feed stops here
                    break
            return response, b"".join(chunks)
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from None


def _documents(feed_url: str, raw: bytes) -> list[_Doc] | None:
    """The CAP documents an Atom feed names; None when ``raw`` is not an Atom feed."""
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception:
        return None  # not XML we can read as a feed: let parse_cap say what is wrong with it
    if root.tag != f"{ATOM}feed":
        return None
    docs = []
    for entry in root.findall(f"{ATOM}entry"):
        updated = (entry.findtext(f"{ATOM}updated") or "").strip()
        href = _cap_link(entry)
        if href is not None:
            url = urljoin(feed_url, href)
            docs.append(_Doc(f"{url}#{updated}", url))
            continue
        inline = entry.find(f"{ATOM}content/{{{CAP_NS}}}alert")
        if inline is not None:
            key = f"{feed_url}#{(entry.findtext(f'{ATOM}id') or '').strip()}#{updated}"
            docs.append(_Doc(key, None, ET.tostring(inline, encoding="utf-8")))
    return docs


def _cap_link(entry: ET.Element) -> str | None:
    links = entry.findall(f"{ATOM}link")
    for link in links:
        if (link.get("type") or "").split(";")[0].strip().lower() in CAP_TYPES and link.get("href"):
            return link.get("href")
    for link in links:
        href = link.get("href") or ""
        rel = link.get("rel") or "alternate"
        if rel in ("alternate", "enclosure") and href.lower().endswith((".xml", ".cap")):
            return href
    return None


def schedule(scheduler: Scheduler, intake: Intake, settings: Settings) -> CapPoller | None:
    """Register the poll on ``publisher serve``'s scheduler; None when there is nothing to poll."""
    if not settings.cap_feeds or not settings.cap_poll_interval:
        return None
    timeout = settings.request_timeout
    poller = CapPoller(
        intake,
        settings.cap_feeds,
        lambda: httpx.AsyncClient(timeout=timeout, follow_redirects=True),
    )
    scheduler.every("poll_cap_feeds", settings.cap_poll_interval, poller.poll_once)
    return poller
