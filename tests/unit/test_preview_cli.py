"""``publisher preview FILE --channel C``: exactly what a channel would receive, measured its way.

Run through click's CliRunner with the embedded default settings (accounts ``portal``,
``weibo``, ``wechat``, ``oa``) in an empty directory: no server, no database, no network.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from channels.weibo.length import DEFAULT_LINK_WEIGHT, WEIBO_MAX, body_limit, weibo_length
from publisher.cli import main

GENERAL = {
    "kind": "general",
    "title": "关于开展2026年冬季安全生产大检查的通知",
    "body": "各区应急管理局、各有关单位：\n"
    "为做好冬季安全生产工作，市安委会决定自12月1日起在全市开展为期一个月的安全生产大检查。\n"
    "请各单位于12月31日前报送检查情况。",
}
# What the Weibo template makes of it: one line, the title in 【】, before the portal link;
# the salutation line ("各区应急管理局、各有关单位：") says nothing to the public and is left out.
GENERAL_ON_WEIBO = (
    "【关于开展2026年冬季安全生产大检查的通知】"
    "为做好冬季安全生产工作，市安委会决定自12月1日起在全市开展为期一个月的安全生产大检查。"
    "请各单位于12月31日前报送检查情况。"
)

LONG_BODY = (
    "各区应急管理局、各有关单位：" + "请认真组织开展危险化学品、建筑施工领域安全隐患排查整治，" * 6
)
SUMMARY = "市安委会部署冬季安全生产大检查，12月31日前报送检查情况。"


pytestmark = pytest.mark.usefixtures("clean_env")  # every test in an empty directory


def preview(notice: dict[str, Any], *args: str) -> Result:
    Path("notice.json").write_text(json.dumps(notice, ensure_ascii=False), encoding="utf-8")
    return CliRunner().invoke(main, ["preview", "notice.json", *args])


def test_prints_exactly_the_weibo_text_with_its_measured_length() -> None:
    result = preview(GENERAL, "--channel", "weibo")

    assert result.exit_code == 0, result.output
    measured = weibo_length(GENERAL_ON_WEIBO)
    assert result.stdout.splitlines() == [
        "===== weibo (weibo, text) =====",
        "--- body ---",
        GENERAL_ON_WEIBO,
        f"[body: {measured:g} / 128 字]",
    ]


def test_the_body_limit_leaves_room_for_the_portal_link() -> None:
    # statuses/share allows 140 字; publish() appends " " + the portal link (11.5 字)
    assert body_limit() == 128 == math.floor(WEIBO_MAX - DEFAULT_LINK_WEIGHT - 0.5)


def test_length_is_weibo_s_measure_not_the_number_of_characters() -> None:
    notice = {
        "kind": "general",
        "title": "PM2.5 monitoring",
        "body": "Air quality index AQI 152, PM2.5 concentration 115 ug/m3.",
    }
    data = json.loads(preview(notice, "--channel", "weibo", "--json").stdout)

    body = data[0]["parts"]["body"]
    assert body.startswith("【PM2.5 monitoring】Air quality")
    (length,) = data[0]["lengths"]
    measured = length["measured"]
    assert measured == weibo_length(body) == math.ceil(2 + (len(body) - 2) / 2)  # ASCII is ½
    assert measured < len(body)


def test_json_form() -> None:
    result = preview(GENERAL, "--channel", "weibo", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "channel": "weibo",
            "type": "weibo",
            "format": "text",
            "parts": {"body": GENERAL_ON_WEIBO},
            "lengths": [
                {
                    "part": "body",
                    "measured": weibo_length(GENERAL_ON_WEIBO),
                    "limit": 128,
                    "unit": "字",
                }
            ],
            "violations": [],
        }
    ]


def test_too_long_is_cut_at_a_clause_end_and_exits_0() -> None:
    # used to be refused ("weibo: body: 291 字，超过上限 128 字")
    result = preview({**GENERAL, "body": LONG_BODY}, "--channel", "weibo")

    assert result.exit_code == 0, result.output
    clause = "请认真组织开展危险化学品、建筑施工领域安全隐患排查整治"
    body = result.stdout.splitlines()[2]
    lead = "各区应急管理局、各有关单位：" + "，".join([clause] * 3)
    assert body == f"【{GENERAL['title']}】{lead}……"
    assert result.stdout.splitlines()[3:] == [f"[body: {weibo_length(body):g} / 128 字]"]


def test_too_long_with_a_summary_previews_the_summary_that_would_be_sent() -> None:
    result = preview({**GENERAL, "body": LONG_BODY, "summary": SUMMARY}, "--channel", "weibo")

    assert result.exit_code == 0, result.output
    short = f"【工作动态】{SUMMARY}"
    assert result.stdout.splitlines()[2:] == [short, f"[body: {weibo_length(short):g} / 128 字]"]


def test_a_topic_is_never_previewed_or_sent() -> None:
    notice = {**GENERAL, "title": "#安全生产月#活动通知", "body": "请各单位参加#安全生产月#活动。"}
    data = json.loads(preview(notice, "--channel", "weibo", "--json").stdout)

    body = data[0]["parts"]["body"]
    assert "#" not in body and body.count("＃") == 4


def test_wechat_title_over_32_names_the_channel_and_the_rule() -> None:
    title = "关于进一步加强全市危险化学品企业冬季安全生产和节假日期间值班值守工作的紧急通知！"
    assert len(title) == 40
    result = preview({**GENERAL, "title": title}, "--channel", "wechat")

    assert result.exit_code == 1, result.output
    assert "[title: 40 / 32 字]" in result.stdout
    assert "!! wechat: title: 40 字，超过上限 32 字" in result.stdout
    assert "--- digest ---" in result.stdout and "--- body ---" in result.stdout


def test_every_limit_of_a_part_is_shown_in_plain_numbers() -> None:
    # WeChat limits the article body twice: under 20,000 字 and under 1 MB
    result = preview(GENERAL, "--channel", "wechat")

    assert result.exit_code == 0, result.output
    measures = [line for line in result.stdout.splitlines() if line.startswith("[")]
    body = json.loads(preview(GENERAL, "--channel", "wechat", "--json").stdout)[0]["parts"]["body"]
    assert measures == [
        "[title: 21 / 32 字]",
        f"[digest: {len(GENERAL['body'].splitlines()[1])} / 128 字]",  # not the salutation
        f"[body: {len(body)} / 19999 字]",
        f"[body: {len(body.encode())} / 1048575 字节]",
    ]


def test_without_channel_every_default_account_is_shown() -> None:
    result = preview(GENERAL, "--json")

    assert result.exit_code == 0, result.output
    shown = {item["channel"]: item for item in json.loads(result.stdout)}
    assert set(shown) == {"portal", "weibo", "wechat", "oa"}
    assert {"part": "title", "measured": 21, "limit": 32, "unit": "字"} in shown["wechat"][
        "lengths"
    ]
    assert shown["oa"]["type"] == "wecom_app" and shown["oa"]["format"] == "html"


def test_several_channels_in_the_order_asked() -> None:
    result = preview(GENERAL, "--channel", "oa", "--channel", "weibo", "--json")

    assert result.exit_code == 0, result.output
    assert [item["channel"] for item in json.loads(result.stdout)] == ["oa", "weibo"]


def test_unknown_channel_is_an_input_error() -> None:
    result = preview(GENERAL, "--channel", "twitter")

    assert result.exit_code == 2
    assert "未知的渠道账号 'twitter'" in result.stderr
    assert "weibo" in result.stderr  # says which accounts there are
    assert result.stdout == ""


def test_a_bad_notice_file_is_an_input_error() -> None:
    result = preview({"kind": "general", "title": "无正文"}, "--channel", "weibo")

    assert result.exit_code == 2
    assert "body: 缺少必填字段" in result.stderr


def test_preview_writes_nothing(clean_env: Path) -> None:
    preview(GENERAL)
    preview({**GENERAL, "body": LONG_BODY}, "--channel", "weibo")

    assert sorted(p.name for p in clean_env.iterdir()) == ["notice.json"]  # no database
