"""The console shows each channel's copy as a reader sees it, the source one click away."""

from __future__ import annotations

from publisher.console.readable import readable


def test_html_reads_as_paragraphs_and_table_rows() -> None:
    html = (
        "<section style='x'><style>p{}</style><p>根据《安全生产法》，现公示如下。</p>"
        "<table><caption>处罚决定（共 2 条）</caption><thead><tr><th>单位</th><th>罚款(元)</th>"
        "</tr></thead><tbody><tr><td>某化工有限公司</td><td>30000</td></tr></tbody></table>"
        "<p class='signature'>市安全生产监督管理局</p></section>"
    )
    assert readable(html, "html") == (
        "根据《安全生产法》，现公示如下。\n\n处罚决定（共 2 条）\n\n单位 | 罚款(元)\n\n"
        "某化工有限公司 | 30000\n\n市安全生产监督管理局"
    )


def test_markdown_and_text() -> None:
    assert readable("### 【预警】\n> 请注意 **防范**\n[详情](http://x/1)", "markdown") == (
        "【预警】\n请注意 防范\n详情（http://x/1）"
    )
    assert readable("  一行  \n\n\n\n二行", "text") == "一行\n\n二行"
