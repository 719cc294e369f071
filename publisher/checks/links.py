"""Links: every http(s) address in a notice should answer, else a warning.

Each distinct address is asked with HEAD and, if that is refused (some servers answer HEAD
with 403, 404 or 405), with GET, whose body is not read; redirects are followed. An address
that gives no answer below 400 within the ``link_timeout`` setting (HEAD and GET together) is
reported.
At most :data:`CONCURRENCY` requests run at a time and at most :data:`MAX_LINKS` distinct
addresses are asked, so a table full of links cannot hold a submission for minutes.

The HTTP client is handed in (tests use respx or a loopback server); this module never
builds one.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import httpx

from publisher.checks.findings import Finding
from publisher.checks.texts import Corpus

CONCURRENCY = 8
MAX_LINKS = 100
URL = re.compile(r"""https?://[^\s<>"'\x00，。；：、！？（）「」『』【】《》]+""", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""


@dataclass(frozen=True)
class Link:
    url: str
    where: str
    start: int | None


def find_links(corpus: Corpus, data: dict[str, Any]) -> list[Link]:
    """Every distinct absolute http(s) address, where it first occurs."""
    seen: dict[str, Link] = {}
    for match in URL.finditer(corpus.text):
        url = match.group().rstrip(TRAILING)
        if url not in seen:
            where, start = corpus.locate(match.start())
            seen[url] = Link(url, where, start)
    attachments = (data.get("fields") or {}).get("attachments") or []
    for i, item in enumerate(attachments, start=1):
        url = item["url"]
        if url.lower().startswith(("http://", "https://")) and url not in seen:
            seen[url] = Link(url, f"fields.attachments[{i}].url", None)
    return list(seen.values())


async def problem(client: httpx.AsyncClient, url: str, seconds: float) -> str | None:
    """Why ``url`` does not answer, or None when it does."""
    try:
        async with asyncio.timeout(seconds):
            head = await client.head(url, follow_redirects=True, timeout=seconds)
            if head.status_code < 400:
                return None
            async with client.stream("GET", url, follow_redirects=True, timeout=seconds) as got:
                status = got.status_code
            return None if status < 400 else f"返回 HTTP {status}"
    except (TimeoutError, httpx.TimeoutException):
        return f"{seconds:g} 秒内没有响应"
    except httpx.HTTPError as exc:
        return f"无法访问 ({type(exc).__name__})"


async def scan(
    corpus: Corpus, data: dict[str, Any], client: httpx.AsyncClient, seconds: float
) -> list[Finding]:
    links = find_links(corpus, data)
    asked, skipped = links[:MAX_LINKS], links[MAX_LINKS:]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def ask(link: Link) -> str | None:
        async with gate:
            return await problem(client, link.url, seconds)

    answers = await asyncio.gather(*(ask(link) for link in asked))
    found = [
        Finding("links", "warning", link.where, link.start, f"链接 {link.url} {why}")
        for link, why in zip(asked, answers, strict=True)
        if why is not None
    ]
    if skipped:
        found.append(
            Finding(
                "links",
                "warning",
                skipped[0].where,
                skipped[0].start,
                f"链接超过 {MAX_LINKS} 个，其余 {len(skipped)} 个未检查",
            )
        )
    return found
