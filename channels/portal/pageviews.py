"""Counting reads: one per visitor per notice per local day, bots left out.

A *visitor* is ``sha256(salt | day | client address)``. The User-Agent is not part of it: one
client sending 100 different User-Agents is still one reader. The salt is random per
installation, kept in the credentials table (so every process agrees) and never shown; with
the day in the hash the same person cannot be followed from one day to the next, and the
address itself is never stored. The address is the connection's peer; only behind a reverse
proxy that the operator declared (``trust_forwarded_for``) is it the right-most address of
``X-Forwarded-For`` that is not a proxy (:func:`publisher.web.ratelimit.real_address`, the
same client the rate limit sees). Without that setting the header is ignored: anyone can
send it.

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


def local_day(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def visitor_hash(salt: str, day: date, address: str) -> str:
    material = "\x1f".join((salt, day.isoformat(), address))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
