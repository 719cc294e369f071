"""Tracked links: Weibo, WeChat and OA posts link through /r/<code>; a click counts once per
visitor per day, as a ``clicks`` sample of that delivery; bots and forged codes count nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from channels.oa.common import portal_url
from channels.wechat.adapter import WechatAdapter
from channels.wechat.reconcile import carries_key, links_notice_without_key
from channels.weibo.adapter import WeiboAdapter
from publisher import links
from publisher.contract import NoticeView, OutgoingPost, Rendered
from publisher.metrics.samples import latest
from publisher.notice import parse_notice
from publisher.runtime import Runtime
from publisher.settings import default_accounts, load_settings
from publisher.web.app import create_app
from tests.conftest import FakeClock

BASE = "http://127.0.0.1:8123"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0"
OTHER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36"


@dataclass
class Site:
    rt: Runtime
    http: httpx.AsyncClient
    notice_id: int
    deliveries: dict[str, Any]  # account -> delivery record


@pytest.fixture
async def site(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Site]:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        base_url=BASE,
        accounts=default_accounts(),
        metrics_interval=0,
    )
    rt = await Runtime.open(settings, clock=clock)
    app = create_app(settings, runtime=rt, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        done = await rt.intake.submit(
            parse_notice({"kind": "general", "title": "关于安全检查的通知", "body": "正文"}),
            source="test",
            actor="t",
        )
        record = await rt.store.get_notice(done.notice_id)
        transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            yield Site(rt, http, done.notice_id, {d.account: d for d in record.deliveries})


def view(notice_id: int) -> NoticeView:
    return NoticeView(
        id=notice_id,
        kind="general",
        title="关于安全检查的通知",
        body="正文",
        summary=None,
        table=None,
        fields={},
        urgent=False,
        publish_at=None,
        created_at=None,  # type: ignore[arg-type]
    )


def posted_links(site: Site) -> dict[str, str]:
    """The link to the portal copy each channel puts in its post, built as it builds it."""
    channels = site.rt.channels
    weibo = channels.get("weibo").adapter
    assert isinstance(weibo, WeiboAdapter)
    wechat = channels.get("wechat").adapter
    assert isinstance(wechat, WechatAdapter)
    post = OutgoingPost(
        delivery_id=site.deliveries["weibo"].id,
        account="weibo",
        idempotency_key=site.deliveries["weibo"].idempotency_key,
        notice=view(site.notice_id),
        rendered=Rendered(format=weibo.capabilities.formats[0], parts={"body": "通知正文"}),
        attempt=1,
    )
    from channels.wechat.reconcile import account_source_url

    return {
        "weibo": weibo.status_text(post).rsplit(" ", 1)[-1],
        "wechat": account_source_url(
            wechat.ctx, site.notice_id, site.deliveries["wechat"].idempotency_key
        ),
        "oa": portal_url(channels.get("oa").adapter.ctx, view(site.notice_id)),
    }


async def clicks(site: Site, account: str) -> Any:
    delivery_id = site.deliveries[account].id
    return (await latest(site.rt.store, [delivery_id])).get(delivery_id, {}).get("clicks")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def test_each_channel_links_through_r_and_a_click_counts_once_per_visitor_day(
    site: Site, clock: FakeClock
) -> None:
    page = f"{BASE}/portal/notices/{site.notice_id}"
    found = posted_links(site)
    codes = set()
    for account, url in found.items():
        assert url.startswith(f"{BASE}/r/"), (account, url)
        codes.add(urlsplit(url).path)
        for _ in range(2):  # the same person twice the same day: one click
            answer = await site.http.get(path_of(url), headers={"User-Agent": BROWSER})
            assert answer.status_code == 302
            assert answer.headers["location"] == page
        assert await clicks(site, account) == 1
        # the same address with another User-Agent is the same visitor (issue 9 §8)
        await site.http.get(path_of(url), headers={"User-Agent": OTHER})
        assert await clicks(site, account) == 1
    assert len(codes) == 3  # one code per (notice, account): clicks are told apart by channel

    clock.advance(24 * 3600)  # the next day the same person counts again
    await site.http.get(path_of(found["weibo"]), headers={"User-Agent": BROWSER})
    assert await clicks(site, "weibo") == 2
    delivery_id = site.deliveries["weibo"].id
    newest = (await latest(site.rt.store, [delivery_id]))[delivery_id]
    assert newest["source"] == "tracked_link"
    assert newest["as_of"] == clock.now().isoformat()
    assert await clicks(site, "portal") is None  # the portal's own page is not a tracked link


@pytest.mark.parametrize(
    "agent", ["", "Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0", "python-httpx"]
)
async def test_a_bot_or_a_head_follows_the_link_uncounted(site: Site, agent: str) -> None:
    url = posted_links(site)["oa"]
    answer = await site.http.get(path_of(url), headers={"User-Agent": agent})
    assert answer.status_code == 302
    head = await site.http.head(path_of(url), headers={"User-Agent": BROWSER})
    assert head.status_code == 302
    assert await clicks(site, "oa") is None


async def test_unknown_and_forged_codes_are_404(site: Site) -> None:
    code = urlsplit(posted_links(site)["weibo"]).path.removeprefix("/r/")
    forged = code[:-1] + ("0" if code[-1] != "0" else "1")
    codes = site.rt.link_codes
    assert codes is not None
    other_notice = codes.code(site.notice_id + 1, "weibo")  # a notice that does not exist
    for bad in ("nothing", forged, other_notice, "0" * 12, "%E4%B8%AD" * 3, "a" * 40):
        answer = await site.http.get(f"/r/{bad}", headers={"User-Agent": BROWSER})
        assert answer.status_code == 404, bad
        assert "链接无效" in answer.text
    assert await clicks(site, "weibo") is None


async def test_wechat_still_finds_its_article_by_the_key_in_the_tracked_link(site: Site) -> None:
    url = posted_links(site)["wechat"]
    key = site.deliveries["wechat"].idempotency_key
    assert carries_key(url, key)
    assert not carries_key(url, key + "x")
    # reconcile compares an article's link with the page the account links to, keyless
    page = site.rt.channels.get("wechat").adapter.ctx.notice_url(site.notice_id)
    assert links_notice_without_key(page, page)
    assert not links_notice_without_key(url, page)  # ours carries its key
    # the same code each time (the link is rebuilt when reconciling)
    assert posted_links(site)["wechat"] == url


async def test_codes_need_the_installation_secret() -> None:
    one, two = links.LinkCodes(b"a" * 32), links.LinkCodes(b"b" * 32)
    assert one.code(7, "weibo") != two.code(7, "weibo")
    assert one.code(7, "weibo") != one.code(7, "wechat")
    assert links.notice_of(one.code(7, "weibo")) == 7
    assert one.matches(one.code(7, "weibo"), 7, "weibo")
    assert not two.matches(one.code(7, "weibo"), 7, "weibo")
    # the longest id gives the longest code (the OA cards reserve room for it)
    assert len(one.code(10**18 - 1, "oa")) >= len(one.code(123, "oa"))
    with pytest.raises(RuntimeError):
        links.LinkCodes().code(1, "weibo")
