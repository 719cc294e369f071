"""Counting reads: one per visitor per notice per local day, bots left out.

A *visitor* is ``sha256(salt | day | client address | User-Agent)``. The salt is random per
installation, kept in the credentials table (so every process agrees) and never shown; with
the day in the hash the same person cannot be followed from one day to the next, and the
address itself is never stored. Behind a reverse proxy set ``trust_forwarded_for`` so the
first ``X-Forwarded-For`` address is used instead of the proxy's.

Not counted: empty User-Agents, the crawlers, link checkers and HTTP libraries in ``BOTS``,
and browser prefetches (``Purpose: prefetch`` / ``Sec-Purpose: prefetch``). The list is data;
it errs on the side of not counting, since a read count that overstates reach misleads the
annual disclosure report.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

# Substrings (case-insensitive) of User-Agents that are not people reading.
BOTS = (
    "bot",  # Googlebot, bingbot, Baiduspider's siblings, YandexBot, AhrefsBot, ...
    "spider",  # Baiduspider, Sogou web spider, 360Spider, Bytespider
    "crawl",  # crawler, Crawl
    "slurp",  # Yahoo
    "yisouspider",
    "curl",
    "wget",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "httpx",
    "aiohttp",
    "go-http-client",
    "okhttp",
    "java/",
    "apache-httpclient",
    "libwww",
    "lwp-",
    "scrapy",
    "headlesschrome",
    "phantomjs",
    "facebookexternalhit",
    "preview",  # link previews (Slack, Skype, bingpreview)
    "monitor",  # uptime monitors
    "pingdom",
    "uptime",
    "check_http",
    "feedfetcher",
    "postman",
    "insomnia",
)
_BOT_PATTERN = re.compile("|".join(re.escape(b) for b in BOTS), re.IGNORECASE)
SALT_NAME = "visitor_salt"


def is_bot(user_agent: str | None, headers: Mapping[str, str] | None = None) -> bool:
    if not user_agent or not user_agent.strip():
        return True
    if headers is not None:
        purpose = (headers.get("sec-purpose") or headers.get("purpose") or "").lower()
        if "prefetch" in purpose or "prerender" in purpose:
            return True
    return _BOT_PATTERN.search(user_agent) is not None


def client_address(peer: str | None, headers: Mapping[str, str], trust_forwarded_for: bool) -> str:
    if trust_forwarded_for:
        forwarded = headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return peer or ""


def local_day(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def visitor_hash(salt: str, day: date, address: str, user_agent: str) -> str:
    material = "\x1f".join((salt, day.isoformat(), address, user_agent))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
