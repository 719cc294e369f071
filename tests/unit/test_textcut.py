"""The one truncation function: cuts at a clause end, never inside a number, date or link."""

from __future__ import annotations

import pytest

from channels.weibo.length import weibo_length
from publisher.textcut import ELLIPSIS, count_bytes, cut

RAIN = (
    "伊春市气象台2026年12月4日5时发布暴雨橙色预警信号：受强降雨云团影响，过去6小时伊春市区、"
    "铁力市部分地区降雨量已达100毫米以上，预计未来3小时内上述地区仍将出现50毫米以上的强降雨，"
    "并伴有雷电和8级以上短时大风。根据《伊春市气象灾害预警信号发布办法》"
    "（伊政办发〔2026〕30号），请各单位按照职责做好防御工作。"
)


def test_text_that_fits_is_returned_unchanged() -> None:
    assert cut("暴雨橙色预警", 6) == "暴雨橙色预警"


@pytest.mark.parametrize("limit", range(32, len(RAIN)))  # the first clause is 30 字
def test_a_cut_ends_at_a_clause_and_fits(limit: int) -> None:
    out = cut(RAIN, limit)
    assert len(out) <= limit
    assert out.endswith(ELLIPSIS)
    head = out.removesuffix(ELLIPSIS)
    assert RAIN.startswith(head)
    # the character after the head is a clause end: the reader never sees half a clause
    assert RAIN[len(head)] in "。！？；，：、"


@pytest.mark.parametrize("limit", range(8, 80))
def test_numbers_dates_and_document_numbers_are_never_split(limit: int) -> None:
    head = cut(RAIN, limit).removesuffix(ELLIPSIS)
    for whole in ("100毫米以上", "2026年12月4日5时", "伊政办发〔2026〕30号", "50毫米以上"):
        for n in range(1, len(whole)):
            assert not head.endswith(whole[:n]), (limit, head)


def test_the_number_with_its_unit_is_kept_whole() -> None:
    # the OA card used to read "…降雨量已达10…" where the text says 100毫米
    out = cut("过去6小时降雨量已达100毫米以上", 14)
    assert "10…" not in out and "100…" not in out
    assert out == "过去6小时降雨量已达……" or out.startswith("过去6小时降雨量已达100毫米")


def test_a_document_number_is_never_split() -> None:
    text = "依据《办法》（伊政办发〔2026〕30号）第三条执行，现予公布"
    for limit in range(6, len(text)):
        out = cut(text, limit)
        assert "〔2026〕30号" in out or "〔" not in out, out


def test_a_cut_inside_brackets_is_avoided() -> None:
    text = "预计全市（含铁力市，嘉荫县）将出现强降雨，请注意防范。"
    assert cut(text, 22) == "预计全市（含铁力市，嘉荫县）将出现强降雨……"
    assert not cut(text, 21).endswith("含铁力市……")


def test_english_words_and_links_stay_whole() -> None:
    text = "请登录 https://gov.example.cn/portal/notices/12 查看，或关注 Weibo 账号获取最新信息。"
    for limit in range(5, len(text)):
        out = cut(text, limit)
        assert "https://gov" not in out or "notices/12" in out, out
        assert "Wei" not in out or "Weibo" in out, out


def test_the_measure_is_the_channels_own() -> None:
    out = cut(RAIN, 120, count_bytes)
    assert count_bytes(out) <= 120
    assert cut(RAIN, 120, "bytes") == out
    weibo = cut(RAIN, 60, weibo_length)
    assert weibo_length(weibo) <= 60 and weibo.endswith(ELLIPSIS)


def test_a_single_long_clause_is_cut_between_tokens() -> None:
    out = cut("本局公示2026年第三季度行政处罚决定共30件详见链接", 20)
    assert len(out) <= 20 and "2026年" in out and out.endswith(ELLIPSIS)


def test_the_jinja_filter_uses_the_same_function() -> None:
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from publisher.render import Renderer

    renderer = Renderer(Path("templates"), ZoneInfo("Asia/Shanghai"))
    template = renderer.env.from_string("{{ text | cut(40, 'bytes') }}")
    assert template.render(text=RAIN) == cut(RAIN, 40, "bytes")


def test_html_bytes_count_what_an_escaped_template_sends() -> None:
    out = cut("A&B公司，罚款3万元，责令整改。", 40, "html_bytes")
    assert out == "A&B公司，罚款3万元……"  # "&" becomes "&amp;": 5 bytes


def test_a_list_loses_its_last_rows_not_half_a_row() -> None:
    row = "{n}. 当事人：伊春市第{n}建筑工程有限公司；处罚内容：罚款{n}万元"
    rows = "\n".join(row.format(n=n) for n in range(1, 9))
    out = cut(rows, 100)
    assert out.endswith("万元……")
    last = out.removesuffix("……").splitlines()[-1]
    assert last in rows.splitlines()
