"""Drills (issue 11 C): where the 【演练】 label goes in each format, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cap_samples import alert, info
from click.testing import CliRunner

from publisher.cli import main
from publisher.contract import Format, Rendered
from publisher.drills import label, label_html, label_markdown


def test_a_title_gets_the_label_and_the_body_is_left_alone() -> None:
    done = label(Rendered(Format.HTML, {"title": "暴雨预警", "body": "<p>正文</p>"}))
    assert done.parts == {"title": "【演练】暴雨预警", "body": "<p>正文</p>"}
    assert label(done) == done  # once only


def test_without_a_title_the_body_starts_with_the_label() -> None:
    done = label(Rendered(Format.TEXT, {"body": "【暴雨预警】正文"}))
    assert done.body == "【演练】【暴雨预警】正文"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>正文</p>", "<p>【演练】正文</p>"),
        ('<div class="gray">\n  <b>气象台</b> 发布</div>',
         '<div class="gray">\n  <b>【演练】气象台</b> 发布</div>'),
        ("<style>p{}</style><!-- x --><h1> 标题</h1>",
         "<style>p{}</style><!-- x --><h1> 【演练】标题</h1>"),
        ("纯文本", "【演练】纯文本"),
        ("<br>", "【演练】<br>"),
    ],
)  # fmt: skip
def test_html_gets_the_label_inside_its_first_text(html: str, expected: str) -> None:
    assert label_html(html) == expected
    assert label_html(expected) == expected


@pytest.mark.parametrize(
    ("md", "expected"),
    [
        ("# 暴雨预警\n正文", "# 【演练】暴雨预警\n正文"),
        ("> **橙色**预警", "> 【演练】**橙色**预警"),
        ("正文", "【演练】正文"),
    ],
)
def test_markdown_gets_the_label_after_a_heading_or_quote_marker(md: str, expected: str) -> None:
    assert label_markdown(md) == expected
    assert label(Rendered(Format.MARKDOWN, {"body": md})).body == expected


@pytest.mark.usefixtures("clean_env")
def test_warn_and_notice_show_say_drill() -> None:
    doc = alert(info(event_codes=[("CMA_SIGNAL", "0203")]), status="Exercise")
    Path("drill.xml").write_bytes(doc)
    runner = CliRunner()
    done = runner.invoke(main, ["warn", "drill.xml", "--json"])
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    assert shown["drill"] is True and shown["cap"]["status"] == "Exercise"
    again = runner.invoke(main, ["notice", "show", str(shown["id"]), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["drill"] is True
    text = runner.invoke(main, ["warn", "drill.xml"])
    assert "Exercise" in text.stdout and "演练: 是" in text.stdout


@pytest.mark.usefixtures("clean_env")
def test_a_json_drill_naming_a_real_account_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PUBLISHER_CONFIG", "publisher.toml")  # restored after the test
    Path("publisher.toml").write_text(
        '[accounts.real]\ntype = "webhook"\nurl = "http://127.0.0.1:9/in"\n'
        '[accounts.practice]\ntype = "webhook"\nurl = "http://127.0.0.1:9/in"\ndrill = true\n',
        encoding="utf-8",
    )
    notice = {
        "kind": "general",
        "title": "演练通知",
        "body": "正文",
        "drill": True,
        "channels": ["practice", "real"],
    }
    Path("n.json").write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(main, ["notice", "submit", "n.json"])
    assert refused.exit_code == 2, refused.output
    assert "正式账号 real" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    shown = runner.invoke(main, ["notice", "show", "1"])
    assert shown.exit_code == 2  # nothing stored

    notice["channels"] = ["practice"]
    Path("n.json").write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    done = runner.invoke(main, ["notice", "submit", "n.json", "--json"])
    assert done.exit_code == 0, done.output
    stored = json.loads(done.stdout)
    assert stored["drill"] is True
    assert [d["channel"] for d in stored["deliveries"]] == ["practice"]
