"""Tables on phones: which tables stack into cards, tokens kept whole, the markup each channel
gets (the geometry itself is checked in a real browser by tests/web)."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from channels.portal.sanitize import clean_html
from publisher.contract import Format
from publisher.render import Renderer
from publisher.settings import REPO_ROOT
from publisher.table_cells import keep_tokens, stacks

RENDERER = Renderer(REPO_ROOT / "templates", ZoneInfo("Asia/Shanghai"))
SEVEN = {
    "columns": [
        "决定书文号",
        "行政相对人名称",
        "违法行为类型",
        "处罚依据",
        "处罚内容",
        "处罚决定日期",
        "执法证号",
    ],
    "rows": [
        [
            "应急罚〔2026〕30号",
            "<b>宏远</b>机械",
            "未培训",
            "第九十七条",
            "罚款3万元",
            "2026-12-03",
            "31010023001",
        ],
    ],
}
THREE = {
    "columns": ["决定书文号", "当事人", "罚款（元）"],
    "rows": [["应急罚〔2026〕1号", "某厂", 30000]],
}


def body(channel: str, table: dict[str, Any]) -> str:
    notice = {
        "kind": "penalty_disclosure",
        "title": "行政处罚决定信息公开",
        "body": "如下。",
        "summary": None,
        "table": table,
        "fields": {},
        "urgent": False,
        "publish_at": None,
    }
    ctx = RENDERER.notice_context(notice, {"name": channel})
    rendered = RENDERER.render(
        channel=channel, kind="penalty_disclosure", fmt=Format.HTML, parts=("body",), context=ctx
    )
    return rendered.parts["body"]


def test_more_than_four_columns_stack() -> None:
    assert not stacks(None)
    assert not stacks({"columns": ["a", "b", "c", "d"], "rows": []})
    assert stacks({"columns": ["a", "b", "c", "d", "e"], "rows": []})


def test_dates_and_document_numbers_are_kept_whole_and_text_is_escaped() -> None:
    out = keep_tokens("依据应急罚〔2026〕30号，于2026-12-03和2026年12月3日送达<b>")
    assert re.findall(r'<span class="nowrap">([^<]*)</span>', out) == [
        "依据应急罚〔2026〕30号",
        "2026-12-03",
        "2026年12月3日",
    ]
    assert out.endswith("送达&lt;b&gt;")
    assert keep_tokens("罚款人民币三万元") == "罚款人民币三万元"  # ordinary text still wraps
    assert keep_tokens(None) == ""
    assert keep_tokens("FM安许证字〔2026〕0032", inline=True) == (
        '<span style="white-space:nowrap;">FM安许证字〔2026〕0032</span>'  # WeChat: no classes
    )


def test_wechat_sends_a_wide_table_as_one_card_per_record() -> None:
    out = body("wechat", SEVEN)
    assert "<table" not in out and "class=" not in out
    assert out.count("<section style=") == 1 + len(SEVEN["rows"])  # the article + one card
    assert '<span style="color:#888;">行政相对人名称：</span>' in out
    assert "&lt;b&gt;宏远&lt;/b&gt;机械" in out
    assert '<span style="white-space:nowrap;">应急罚〔2026〕30号</span>' in out


def test_wechat_keeps_a_narrow_table_as_a_table() -> None:
    out = body("wechat", THREE)
    assert out.count("<table") == 1 and "min-width:5em" in out
    assert "行政相对人名称：" not in out


def test_the_portal_labels_every_cell_for_its_phone_cards() -> None:
    page = clean_html(body("portal", SEVEN))  # what the portal page serves
    assert '<div class="table-wrap stack">' in page
    assert '<th scope="col">行政相对人名称</th>' in page  # still a table for screen readers
    assert '<td data-label="行政相对人名称">&lt;b&gt;宏远&lt;/b&gt;机械</td>' in page
    assert '<span class="nowrap">2026-12-03</span>' in page
    assert 'class="table-wrap stack"' not in clean_html(body("portal", THREE))
