"""Content checks: what an inspection fails a whole site for, caught before anything is sent.

They run in this order over every text of a notice (title, body, summary, table columns and
cells, ``fields`` values, attachment names):

1. near misses of protected names (``names``): an error naming the intended form;
2. forbidden words (error) and discouraged wording (warning) (``words``);
3. links that do not answer (``links``): a warning; only with an HTTP client;
4. attachment types outside the ``attachment_types`` setting (``attachments``): an error;
5. personal data, by the PII guard (``publisher.pii``): an error, a warning with ``pii: mask``.

The lists come from ``lists`` (the bureau's files). :func:`run_checks` is the pure core;
:func:`check_notice` adds the HTTP client for links when the ``check_links`` setting is on.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from publisher import pii
from publisher.checks import attachments, links, words
from publisher.checks.findings import Finding, Report, Severity
from publisher.checks.lists import Lists, load
from publisher.checks.texts import Corpus, notice_texts
from publisher.notice import NoticeInput
from publisher.settings import Settings

__all__ = ["Finding", "Report", "check_notice", "link_client", "run_checks"]


def lists_for(settings: Settings) -> Lists:
    return load(Path(settings.checks_dir))


async def run_checks(
    notice: NoticeInput,
    settings: Settings,
    *,
    client: httpx.AsyncClient | None = None,
    with_pii: bool = True,
) -> Report:
    """Every check in order; links only when ``client`` is given."""
    lists = lists_for(settings)
    data = notice.model_dump(mode="python")
    corpus = Corpus.of(notice_texts(data))
    report = Report()
    for miss in lists.names.find(corpus.text):
        where, start = corpus.locate(miss.start)
        message = f"{miss.text} 疑为 {miss.name}"
        report.findings.append(Finding("names", "error", where, start, message))
    report.findings += words.scan(corpus, lists.forbidden, "forbidden", "error")
    report.findings += words.scan(corpus, lists.discouraged, "discouraged", "warning")
    if client is not None:
        report.findings += await links.scan(corpus, data, client, settings.link_timeout)
    report.findings += attachments.scan(data, settings.attachment_types)
    if with_pii:
        _, found = pii.guard(notice.model_dump(mode="python"), frozenset(settings.pii_allow))
        severity: Severity = "warning" if notice.pii == "mask" else "error"
        for f in found:
            line = f.describe() + ("（将打码后发布）" if severity == "warning" else "")
            report.findings.append(Finding("pii", severity, f.where, f.start, "", line=line))
    return report


def link_client(settings: Settings) -> httpx.AsyncClient:
    """The client links are checked with: redirects followed, proxies from the environment."""
    return httpx.AsyncClient(timeout=settings.link_timeout, follow_redirects=True)


async def check_notice(
    notice: NoticeInput, settings: Settings, *, links_on: bool | None = None, with_pii: bool = True
) -> Report:
    """:func:`run_checks` with links asked when ``links_on`` (default: the ``check_links``
    setting), through a client opened for this check only."""
    if not (settings.check_links if links_on is None else links_on):
        return await run_checks(notice, settings, with_pii=with_pii)
    async with link_client(settings) as client:
        return await run_checks(notice, settings, client=client, with_pii=with_pii)
