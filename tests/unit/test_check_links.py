"""Links in a notice: each answers within the timeout, else a warning (never an error).

The dead link is a loopback socket that accepts connections and never answers; the others
are served by respx. The HTTP client is handed in, as intake and ``publisher check`` do.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from publisher.checks import run_checks
from publisher.notice import parse_notice
from publisher.settings import load_settings

pytestmark = pytest.mark.usefixtures("clean_env")


def notice(body: str, url: str = "/files/a.pdf") -> Any:
    return parse_notice(
        {
            "kind": "general",
            "title": "关于公布检查结果的通知",
            "body": body,
            "fields": {"attachments": [{"name": "结果.pdf", "url": url}]},
        }
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections into its backlog and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


async def warnings(n: Any, **settings: Any) -> list[str]:
    async with httpx.AsyncClient() as client:
        report = await run_checks(n, load_settings(**settings), client=client)
    assert report.errors == []
    return [f.describe() for f in report.warnings]


async def test_a_link_that_never_answers_is_a_warning(silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}/files/notice.html"
    found = await warnings(notice(f"详见 {url} 。"), link_timeout=0.3)
    assert found == [f"body 第4个字符起: 链接 {url} 0.3 秒内没有响应"]


@respx.mock
async def test_live_links_pass_and_missing_ones_are_named() -> None:
    respx.head("https://www.example.gov.cn/ok").respond(200)
    respx.head("https://www.example.gov.cn/gone").respond(404)
    respx.get("https://www.example.gov.cn/gone").respond(404)
    respx.head("https://www.example.gov.cn/files/r.pdf").respond(200)
    body = "见 https://www.example.gov.cn/ok，另见 https://www.example.gov.cn/gone。"
    found = await warnings(notice(body, "https://www.example.gov.cn/files/r.pdf"))
    at = body.index("https://www.example.gov.cn/gone") + 1
    assert found == [f"body 第{at}个字符起: 链接 https://www.example.gov.cn/gone 返回 HTTP 404"]


@respx.mock
async def test_a_server_refusing_head_is_asked_with_get() -> None:
    respx.head("https://www.example.gov.cn/page").respond(405)
    got = respx.get("https://www.example.gov.cn/page").respond(200, text="正文")
    assert await warnings(notice("见 https://www.example.gov.cn/page")) == []
    assert got.called


@respx.mock
async def test_an_attachment_address_is_checked_too() -> None:
    respx.head("https://www.example.gov.cn/f/1.pdf").respond(404)
    respx.get("https://www.example.gov.cn/f/1.pdf").respond(404)
    found = await warnings(notice("正文", "https://www.example.gov.cn/f/1.pdf"))
    assert found == [
        "fields.attachments[1].url: 链接 https://www.example.gov.cn/f/1.pdf 返回 HTTP 404"
    ]


async def test_without_a_client_links_are_not_asked(silent_port: int) -> None:
    n = notice(f"详见 http://127.0.0.1:{silent_port}/x")
    report = await run_checks(n, load_settings(link_timeout=0.3))
    assert report.findings == []
