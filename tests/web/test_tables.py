"""Tables read well on a 390-px phone and a 1280-px desktop: a 7-column penalty table (cards
on a phone) and a 4-column budget table (a real table everywhere).

Each notice goes through ``publisher serve`` to every channel. The portal page is opened as a
reader opens it; the WeChat article is the body the WeChat sandbox received, put in a page the
way WeChat shows it (16 px margins, ``overflow:hidden`` that cuts off whatever is too wide,
``max-width:100%`` and ``border-box`` on every element; a 677-px column on a desktop). From
the DOM: nothing is wider than the window or cut off at its
edge, every value box is at least four Chinese characters wide, and dates and document numbers
sit on one line. Screenshots are kept (see conftest) for a person to look at.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import Site
from .geometry import Geometry, measure

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.web

COLUMNS = [
    "决定书文号",
    "行政相对人名称",
    "违法行为类型",
    "处罚依据",
    "处罚内容",
    "处罚决定日期",
    "执法证号",
]
ROWS = [
    [
        "应急罚〔2026〕30号",
        "宏远机械制造有限公司",
        "未按规定对从业人员进行安全生产教育和培训，未如实记录安全生产教育和培训情况",
        "《中华人民共和国安全生产法》第九十七条第三项",
        "罚款人民币三万元",
        "2026-12-03",
        "31010023001、31010023017",
    ],
    [
        "应急罚〔2026〕38号",
        "顺通物流仓储有限公司",
        "未在有较大危险因素的场所设置明显的安全警示标志",
        "《中华人民共和国安全生产法》第九十九条第一项",
        "责令限期改正，罚款人民币二万元",
        "2026-12-05",
        "31010023005、31010023022",
    ],
    [
        "应急罚〔2026〕45号",
        "金桥涂装有限公司",
        "特种作业人员未按照规定经专门的安全作业培训并取得相应资格上岗作业",
        "《中华人民共和国安全生产法》第九十七条第七项",
        "罚款人民币四万五千元",
        "2026年12月9日",
        "31010023009",
    ],
]
PENALTY: dict[str, Any] = {
    "kind": "penalty_disclosure",
    "title": "2026年12月行政处罚决定信息公开",
    "body": "依据《中华人民共和国行政处罚法》第四十八条和《中华人民共和国政府信息公开条例》，"
    "现将本局2026年12月作出的行政处罚决定予以公开。",
    "table": {"columns": COLUMNS, "rows": ROWS},
}
TOKENS = {
    "应急罚〔2026〕30号",
    "应急罚〔2026〕38号",
    "应急罚〔2026〕45号",
    "2026-12-03",
    "2026年12月9日",
}
BUDGET: dict[str, Any] = {  # four columns: a real table on every screen
    "kind": "budget_disclosure",
    "title": "市应急管理局2026年部门预算公开",
    "body": "根据《中华人民共和国预算法》第十四条，现将本局2026年部门预算予以公开。",
    "fields": {"year": 2026},
    "table": {
        "columns": ["项目", "2025年预算数（万元）", "2026年预算数（万元）", "增减（%）"],
        "rows": [
            ["一般公共预算拨款收入", 4210.5, 4388.2, 4.2],
            ["“三公”经费", 56.3, 51.0, -9.4],
            ["其中：公务接待费", 8.2, 7.0, -14.6],
        ],
    },
}
NOTICES = {"penalty": PENALTY, "budget": BUDGET}
WIDTHS = (390, 1280)

WECHAT_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body {{ margin: 0; background: #fff; color: #333;
  font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }}
.rich_media {{ max-width: 677px; margin: 0 auto; padding: 20px 16px 12px; }}
h1 {{ font-size: 22px; line-height: 1.4; margin: 0 0 14px; }}
.meta {{ color: #576b95; font-size: 15px; margin: 0 0 22px; }}
#js_content {{ overflow: hidden; word-wrap: break-word; text-align: justify; font-size: 17px; }}
#js_content * {{ max-width: 100% !important; box-sizing: border-box !important;
  word-wrap: break-word !important; }}
</style></head><body><div class="rich_media">
<h1>{title}</h1><p class="meta">{author}</p>
<div id="js_content">{content}</div>
</div></body></html>"""


@pytest.fixture(scope="module")
def published(site: Site) -> Site:
    for name, notice in NOTICES.items():
        site.submit(name, notice)
    return site


def open_portal(page: Page, site: Site, name: str) -> None:
    page.goto(site.url(f"/portal/notices/{site.ids[name]}"), wait_until="load")


def open_wechat(page: Page, site: Site, name: str) -> None:
    """The article as delivered to the WeChat sandbox, shown the way WeChat shows it."""
    page.set_content(
        WECHAT_PAGE.format(
            title=html.escape(NOTICES[name]["title"]),
            author="市应急管理局",
            content=site.wechat_content(name),
        ),
        wait_until="load",
    )


SURFACES: dict[str, Callable[[Page, Site, str], None]] = {
    "portal": open_portal,
    "wechat": open_wechat,
}


def open_and_measure(
    site: Site, page: Page, shoot: Callable[[Page, str], Path], name: str, surface: str
) -> Geometry:
    """Open notice ``name`` on ``surface``, keep a screenshot, check what every table needs."""
    SURFACES[surface](page, site, name)
    width = page.viewport_size["width"] if page.viewport_size else 0
    shot = shoot(page, f"{name}-{surface}-{width}")
    geo = measure(page)
    print(f"{shot}: narrowest {geo.narrowest()}; page {geo.scroll_width}/{geo.inner_width} px")
    assert geo.scroll_width <= geo.inner_width, f"page {geo.scroll_width} px wide"
    assert not geo.cut, f"cut off at the right edge: {geo.cut[:5]}"
    assert geo.boxes, "no table cell or card line found"
    narrow = [b for b in geo.boxes if b.chars < 4 - 0.01]
    assert not narrow, [f"{b.kind} {b.label or b.text[:8]}: {b.chars:.1f} 字" for b in narrow]
    for text, lines in geo.tokens:
        assert lines == 1, f"{text!r} wraps over {lines} lines"
    values = {b.text for b in geo.boxes if b.kind in ("td", "card")}
    rows = NOTICES[name]["table"]["rows"]
    assert {str(v) for row in rows for v in row} <= values  # every value is shown
    return geo


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("surface", list(SURFACES))
def test_a_seven_column_penalty_table_reads_well(
    published: Site,
    page_at: Callable[[int], Page],
    shoot: Callable[[Page, str], Path],
    surface: str,
    width: int,
) -> None:
    geo = open_and_measure(published, page_at(width), shoot, "penalty", surface)
    found = {text for text, _ in geo.tokens}
    assert found >= TOKENS, f"dates/document numbers not kept whole: {TOKENS - found}"

    if surface == "wechat":  # no media queries on WeChat: seven columns are cards everywhere
        assert geo.tables == 0
        assert {b.label for b in geo.boxes} == {f"{c}：" for c in COLUMNS}
    elif width == 390:  # the portal's rows become cards below its breakpoint
        assert {b.display for b in geo.boxes} == {"flow-root"}
        assert {b.label for b in geo.boxes} == set(COLUMNS)
    else:  # a real table with its seven column headers
        assert [b.text for b in geo.boxes if b.kind == "th"] == COLUMNS
        assert {b.display for b in geo.boxes} == {"table-cell"}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("surface", list(SURFACES))
def test_a_four_column_budget_table_stays_a_table_and_reads_well(
    published: Site,
    page_at: Callable[[int], Page],
    shoot: Callable[[Page, str], Path],
    surface: str,
    width: int,
) -> None:
    geo = open_and_measure(published, page_at(width), shoot, "budget", surface)
    assert geo.tables == 1
    assert [b.text for b in geo.boxes if b.kind == "th"] == BUDGET["table"]["columns"]
    assert {b.display for b in geo.boxes} == {"table-cell"}
