"""The portal's category pages page by cursor: links carry the last item seen, so a page
costs the same however deep it is, and old ``?page=N`` links still answer."""

from __future__ import annotations

import re
from pathlib import Path

from test_portal import GENERAL, Page, running


def _ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/portal/notices/(\d+)"', html)]


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_cursor_links_walk_every_notice_once_both_ways(tmp_path: Path) -> None:
    with running(tmp_path, page_size=5) as portal:
        ids = [portal.publish(**{**GENERAL, "title": f"工作动态第{i}条"}) for i in range(12)]
        html = portal.page("/portal/category/general").text
        assert "共 12 条" in Page(html).text and "第 1 / 3 页" in Page(html).text
        assert _link(html, "prev") is None
        pages = [_ids(html)]
        while (older := _link(html, "next")) is not None:
            assert "?before=" in older
            html = portal.page(older).text
            pages.append(_ids(html))
        assert [len(p) for p in pages] == [5, 5, 2]
        assert [i for p in pages for i in p] == ids[::-1]  # newest first, none twice
        assert "首页" in Page(html).text

        newer = _link(html, "prev")
        assert newer is not None and "?after=" in newer
        assert _ids(portal.page(newer).text) == pages[1]

        assert _ids(portal.page("/portal/category/general?page=2").text) == pages[1]
        deep = portal.client.get("/portal/category/general?page=11", follow_redirects=False)
        assert deep.status_code == 302 and deep.headers["location"] == "/portal/category/general"
        assert portal.page("/portal/category/general?page=4").status_code == 404
        for bad in ("x", "2024-01-01,1", "2024-01-01T00:00:00Z,0", "2024-13-01T00:00:00Z,5"):
            answer = portal.page(f"/portal/category/general?before={bad}")
            assert answer.status_code == 400 and "分页参数无效" in answer.text
        both = f"/portal/category/general?before={older or ''}&after=x"
        assert portal.page(both).status_code == 400
        past = portal.page("/portal/category/general?before=2000-01-01T00:00:00Z,1")
        assert past.status_code == 404
