"""The public address of a notice comes from one function that every channel calls.

Weibo's safe-domain link, WeChat's 阅读原文, the OA cards and payloads, the portal's own links
and feeds: if ``publisher.links.notice_url`` moved the page, every one of them would follow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import context

from channels.oa.common import portal_url
from channels.portal.feeds import Site
from channels.wechat.reconcile import source_url
from publisher import links
from publisher.clock import SystemClock
from publisher.contract import ChannelAdapter, Format, NoticeView, OutgoingPost, Rendered
from publisher.registry import build_options
from publisher.settings import default_accounts

BASE = "https://gov.example.cn"


def adapter(name: str, raw: dict[str, Any] | None = None) -> ChannelAdapter[Any]:
    cls, options = build_options(name, raw or default_accounts()[name], BASE)
    return cls(context(name, options, SystemClock(), base_url=BASE))


def post(notice_id: int = 7) -> OutgoingPost:
    notice = NoticeView(
        id=notice_id,
        kind="general",
        title="关于开展安全生产月活动的通知",
        body="请认真组织开展活动。",
        summary=None,
        table=None,
        fields={},
        urgent=False,
        publish_at=None,
        created_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    rendered = Rendered(Format.TEXT, {"title": notice.title, "body": notice.body})
    return OutgoingPost(70, "test", "key-0001", notice, rendered, 1)


def test_the_notice_url_is_the_portal_page_with_an_optional_key() -> None:
    assert links.notice_url(BASE + "/", 7) == f"{BASE}/portal/notices/7"
    assert links.notice_url(BASE, 7, key="a b/c") == f"{BASE}/portal/notices/7?k=a%20b%2Fc"
    assert adapter("portal").ctx.notice_url(7, key="k1") == f"{BASE}/portal/notices/7?k=k1"


def test_every_channel_links_through_the_one_function(monkeypatch: pytest.MonkeyPatch) -> None:
    def elsewhere(base_url: str, notice_id: int, key: str | None = None) -> str:
        return f"{base_url}/elsewhere/{notice_id}" + (f"?key={key}" if key else "")

    monkeypatch.setattr(links, "notice_url", elsewhere)
    moved = f"{BASE}/elsewhere/7"

    weibo = adapter("weibo")
    assert weibo.status_text(post()).endswith(" " + moved)  # type: ignore[attr-defined]
    assert source_url(BASE, 7, "key-0001") == moved + "?key=key-0001"  # WeChat's 阅读原文
    oa = adapter("oa")
    assert portal_url(oa.ctx, post().notice) == moved
    hook = adapter("hook", {"type": "oa_webhook", "url": "http://127.0.0.1:9/hook"})
    assert hook._payload(post())["portal_url"] == moved  # type: ignore[attr-defined]
    assert adapter("portal").page_url(7) == moved  # type: ignore[attr-defined]
    assert Site("门户", BASE, ZoneInfo("Asia/Shanghai")).page(7) == moved  # feeds
