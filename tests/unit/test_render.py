"""Rendering: template lookup with fallbacks, StrictUndefined, HTML autoescape, the sandbox,
errors that name the template and line, and the table and time filters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from publisher.contract import Format
from publisher.errors import TemplateError
from publisher.render import Renderer, markdown_table, text_table
from publisher.settings import REPO_ROOT

ZONE = ZoneInfo("Asia/Shanghai")


def templates(root: Path, files: dict[str, str]) -> Renderer:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Renderer(root, ZONE)


def context(renderer: Renderer, **notice: Any) -> dict[str, Any]:
    data = {
        "kind": "general",
        "title": "标题",
        "body": "正文",
        "summary": None,
        "table": None,
        "fields": {},
        "urgent": False,
        "publish_at": None,
        **notice,
    }
    return renderer.notice_context(data, {"name": "oa"})


def render(
    renderer: Renderer,
    channel: str = "oa",
    kind: str = "general",
    fmt: Format = Format.TEXT,
    parts: tuple[str, ...] = ("title", "body"),
    **notice: Any,
) -> dict[str, str]:
    ctx = context(renderer, kind=kind, **notice)
    return dict(
        renderer.render(channel=channel, kind=kind, fmt=fmt, parts=parts, context=ctx).parts
    )


def test_lookup_prefers_the_most_specific_template(tmp_path: Path) -> None:
    r = templates(
        tmp_path,
        {
            "oa/weather_warning/body.txt": "oa-warning",
            "oa/_default/body.txt": "oa-default",
            "_default/penalty_disclosure/body.txt": "any-penalty",
            "_default/_default/body.txt": "any-default",
            "_default/_default/title.txt": "{{ notice.title }}",
        },
    )
    assert render(r, "oa", "weather_warning")["body"] == "oa-warning"
    assert render(r, "oa", "general")["body"] == "oa-default"
    assert render(r, "weibo", "penalty_disclosure")["body"] == "any-penalty"
    assert render(r, "weibo", "general")["body"] == "any-default"
    assert render(r, "weibo", "general")["title"] == "标题"


def test_the_body_template_follows_the_channels_format(tmp_path: Path) -> None:
    r = templates(
        tmp_path,
        {
            "_default/_default/title.txt": "t",
            "_default/_default/body.txt": "text",
            "_default/_default/body.md": "**md**",
            "_default/_default/body.html": "<p>html</p>",
        },
    )
    assert render(r, fmt=Format.TEXT)["body"] == "text"
    assert render(r, fmt=Format.MARKDOWN)["body"] == "**md**"
    assert render(r, fmt=Format.HTML)["body"] == "<p>html</p>"


def test_a_missing_template_says_where_it_looked(tmp_path: Path) -> None:
    r = templates(tmp_path, {"_default/_default/title.txt": "t"})
    with pytest.raises(TemplateError) as refused:
        render(r, "oa", "general", fmt=Format.HTML)
    assert str(refused.value) == (
        "没有 oa/general 的模板，已查找 oa/general/body.html、oa/_default/body.html、"
        "_default/general/body.html、_default/_default/body.html"
    )


def test_an_undefined_name_is_an_error_naming_template_and_line(tmp_path: Path) -> None:
    r = templates(
        tmp_path,
        {
            "_default/_default/title.txt": "t",
            "oa/weather_warning/body.txt": "【{{ notice.fields.color }}预警】\n\n"
            "信号：{{ notice.fields.signal }}\n",
        },
    )
    with pytest.raises(TemplateError) as refused:
        render(r, "oa", "weather_warning", fields={"color": "橙色"})
    message = str(refused.value)
    assert message.startswith("模板 oa/weather_warning/body.txt 第 3 行: ")
    assert "signal" in message and "\n" not in message


def test_a_syntax_error_names_template_and_line(tmp_path: Path) -> None:
    r = templates(
        tmp_path,
        {
            "_default/_default/title.txt": "t",
            "_default/_default/body.txt": "第一行\n{% if notice.urgent %}\n紧急\n",
        },
    )
    with pytest.raises(TemplateError, match=r"^模板 _default/_default/body\.txt 第 \d+ 行: "):
        render(r)


def test_html_is_escaped_in_html_bodies_only(tmp_path: Path) -> None:
    r = templates(
        tmp_path,
        {
            "_default/_default/title.txt": "{{ notice.title }}",
            "_default/_default/body.html": "<p>{{ notice.body }}</p>",
            "_default/_default/body.md": "{{ notice.body }}",
        },
    )
    attack = '<script>alert("x")</script> & <b>粗体</b>'
    html = render(r, fmt=Format.HTML, title=attack, body=attack)
    assert html["body"] == (
        "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;粗体&lt;/b&gt;</p>"
    )
    assert html["title"] == attack  # a plain-text title is sent as text, not as markup
    assert render(r, fmt=Format.MARKDOWN, body=attack)["body"] == attack


def test_the_shipped_html_template_escapes_body_and_table(tmp_path: Path) -> None:
    r = Renderer(REPO_ROOT / "templates", ZONE)
    table = {"columns": ["当事人", "处罚<内容>"], "rows": [["<img src=x onerror=alert(1)>", 1]]}
    out = render(r, "no-such-channel", fmt=Format.HTML, body="<script>x</script>", table=table)[
        "body"
    ]
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "处罚&lt;内容&gt;" in out


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    r = templates(
        tmp_path,
        {
            "_default/_default/title.txt": "t",
            "_default/_default/body.txt": (
                "{{ notice.title.__class__.__mro__[1].__subclasses__() }}"
            ),
        },
    )
    with pytest.raises(TemplateError, match=r"_default/_default/body\.txt"):
        render(r)


def test_use_summary_is_in_the_context(tmp_path: Path) -> None:
    r = templates(
        tmp_path,
        {
            "_default/_default/title.txt": "t",
            "_default/_default/body.txt": "{% if use_summary %}{{ notice.summary }}"
            "{% else %}{{ notice.body }}{% endif %}",
        },
    )
    ctx = {**context(r, summary="摘要"), "use_summary": True}
    out = r.render(channel="oa", kind="general", fmt=Format.TEXT, parts=("body",), context=ctx)
    assert out.body == "摘要"
    assert context(r)["kind_label"] == "工作动态"


# -- filters --------------------------------------------------------------------------------------


def test_markdown_table_escapes_pipes_and_newlines() -> None:
    table = {"columns": ["文号", "事实"], "rows": [["安监罚〔2026〕1号", "甲|乙\n丙"], ["2", 3.5]]}
    assert markdown_table(table).splitlines() == [
        "| 文号 | 事实 |",
        "| --- | --- |",
        "| 安监罚〔2026〕1号 | 甲\\|乙 丙 |",
        "| 2 | 3.5 |",
    ]
    assert markdown_table(None) == ""


def test_text_table_reads_as_sentences() -> None:
    table = {"columns": ["单位", "金额"], "rows": [["某厂", 20000], ["某站", "1万"]]}
    assert text_table(table) == "单位：某厂；金额：20000\n单位：某站；金额：1万"


def test_local_time_shows_the_offices_clock(tmp_path: Path) -> None:
    r = templates(tmp_path, {})
    assert r.local_time(datetime(2026, 7, 1, 6, 30, tzinfo=UTC)) == "2026年07月01日 14:30"
    assert r.local_time(datetime(2026, 7, 1, 6, 30, tzinfo=UTC), "%H:%M") == "14:30"
    assert r.local_time(None) == ""


# -- the organisation ---------------------------------------------------------------------


def test_every_template_sees_the_organization(tmp_path: Path) -> None:
    from publisher.settings import Organization

    files = {
        "_default/_default/title.txt": "t",
        "_default/_default/body.txt": "{{ org.name }}|{{ org.short_name }}|{{ org.signature }}",
    }
    assert render(templates(tmp_path, files))["body"] == (
        "市安全生产监督管理局|市安监局|市安全生产监督管理局"
    )
    org = Organization(name="伊春市安全生产监督管理局", short_name="伊春安监")
    own = Renderer(tmp_path, ZONE, org)
    assert render(own)["body"] == "伊春市安全生产监督管理局|伊春安监|伊春市安全生产监督管理局"


@pytest.mark.parametrize("kind", ["penalty_disclosure", "approval_list", "general"])
def test_portal_and_wechat_sign_with_the_same_organization(kind: str) -> None:
    from publisher.settings import Organization

    org = Organization(name="伊春市安全生产监督管理局", signature="伊春市安全生产监督管理局（印）")
    r = Renderer(REPO_ROOT / "templates", ZONE, org)
    # an account's own author or display name no longer signs the article
    ctx = {
        **context(r, kind=kind, body="现予公开。"),
        "account": {"author": "市应急管理局", "display_name": "市应急管理局"},
    }
    for channel in ("portal", "wechat"):
        body = r.render(channel=channel, kind=kind, fmt=Format.HTML, parts=("body",), context=ctx)
        assert "伊春市安全生产监督管理局（印）</p>" in body.body, channel
        assert "市应急管理局" not in body.body, channel
