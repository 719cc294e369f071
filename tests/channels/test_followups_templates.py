"""The follow-up posts of issue 11 as each channel's templates write them: 【解除】, 【更新】 and
【撤回】 with what, when, by whom and why, in one shared wording (templates/_shared/followup.j2),
within each channel's limits. Rendered from the repository's templates with a notice mapping
that carries ``follows``, as intake will hand it."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from channels.weibo.length import body_limit, weibo_length
from publisher.contract import Format, Rendered
from publisher.render import Renderer
from publisher.settings import REPO_ROOT

RENDERER = Renderer(REPO_ROOT / "templates", ZoneInfo("Asia/Shanghai"))
ORG = RENDERER.organization["name"]

ORIGINAL = {
    "notice_id": 1,
    "title": "暴雨红色预警",
    "posted_at": "2026-07-01T06:00:00+00:00",  # 14时 in Beijing
    "url": "https://www.ajj.example.gov.cn/portal/notices/1",
}
LIFT = {
    "kind": "weather_warning",
    "title": "解除暴雨红色预警",
    "body": "降雨已明显减弱。",
    "summary": None,
    "table": None,
    "urgent": True,
    "publish_at": None,
    "fields": {
        "signal": "暴雨",
        "issuer": "滨江市气象台",
        "issued_at": "2026-07-01T18:00:00+08:00",
    },
    "follows": {**ORIGINAL, "relation": "lifts", "reason": "降雨已明显减弱", "changes": None},
}
UPDATE = {
    **LIFT,
    "title": "暴雨橙色预警",
    "body": "滨江市气象台7月1日16时将暴雨红色预警降为橙色：预计未来3小时仍有50毫米以上降雨。",
    "fields": {
        "signal": "暴雨",
        "color": "橙色",
        "issuer": "滨江市气象台",
        "issued_at": "2026-07-01T16:00:00+08:00",
        "area": ["滨江区"],
    },
    "follows": {**ORIGINAL, "relation": "updates", "reason": None, "changes": "由红色调整为橙色"},
}
WITHDRAW = {
    **LIFT,
    "kind": "penalty_disclosure",
    "title": "撤回行政处罚决定公示",
    "body": "撤回。",
    "urgent": False,
    "fields": {},
    "follows": {
        **ORIGINAL,
        "title": "关于某化工公司行政处罚决定的公示",
        "relation": "withdraws",
        "reason": "处罚决定已被依法撤销",
        "changes": None,
    },
}

LIFT_HEAD = "【解除】暴雨红色预警"
LIFT_SAYS = "滨江市气象台于7月1日18时解除7月1日14时发布的暴雨红色预警。解除原因：降雨已明显减弱。"
UPDATE_HEAD = "【更新】暴雨预警由红色调整为橙色"
UPDATE_SAYS = "滨江市气象台于7月1日16时更新了7月1日14时发布的暴雨红色预警，由红色调整为橙色。"
WITHDRAW_HEAD = "【撤回】关于某化工公司行政处罚决定的公示"
WITHDRAW_SAYS = (
    f"{ORG}撤回7月1日14时发布的《关于某化工公司行政处罚决定的公示》，原信息作废，请勿再转发。"
    "撤回原因：处罚决定已被依法撤销。"
)
CASES = [(LIFT, LIFT_HEAD, LIFT_SAYS), (UPDATE, UPDATE_HEAD, UPDATE_SAYS)]
CASES += [(WITHDRAW, WITHDRAW_HEAD, WITHDRAW_SAYS)]


def render(channel: str, fmt: Format, parts: tuple[str, ...], notice: dict[str, Any]) -> Rendered:
    return RENDERER.render(
        channel=channel,
        kind=notice["kind"],
        fmt=fmt,
        parts=parts,
        context=RENDERER.notice_context(notice, {"name": channel}),
    )


def test_weibo_says_it_in_one_status_within_its_limit() -> None:
    assert render("weibo", Format.TEXT, ("body",), LIFT).body == f"{LIFT_HEAD} {LIFT_SAYS}"
    withdrawn = render("weibo", Format.TEXT, ("body",), WITHDRAW).body
    assert withdrawn == f"{WITHDRAW_HEAD} {WITHDRAW_SAYS}"
    updated = render("weibo", Format.TEXT, ("body",), UPDATE).body
    assert updated == f"{UPDATE_HEAD}：{UPDATE['body']}"  # the new text after the headline
    for body in (withdrawn, updated):
        assert weibo_length(body) <= body_limit()


def test_wechat_headline_is_the_title_and_the_statement_the_digest() -> None:
    for notice, head, says in CASES:
        out = render("wechat", Format.HTML, ("title", "digest", "body"), notice)
        assert out.title == head and len(out.title) <= 32
        assert out.parts["digest"] == says and len(says) <= 128
        assert f"<p><strong>{head}</strong></p>" in out.body and f"<p>{says}</p>" in out.body
    update = render("wechat", Format.HTML, ("body",), UPDATE).body
    assert "暴雨橙色预警信号" in update and "影响区域" in update  # the new warning in full


def test_the_wecom_text_card_fits_its_bytes() -> None:
    for notice, head, says in CASES:
        out = render("wecom_app", Format.HTML, ("title", "body"), notice)
        assert out.title == head and len(out.title.encode()) <= 128
        assert out.body.startswith(f'<div class="highlight">{says}</div>')
        assert len(out.body.encode()) <= 512


@pytest.mark.parametrize(
    ("channel", "fmt", "bold"),
    [
        ("wecom_app", Format.MARKDOWN, True),
        ("wecom_robot", Format.MARKDOWN, True),
        ("wecom_robot", Format.TEXT, False),
        ("dingtalk", Format.MARKDOWN, True),
        ("dingtalk", Format.TEXT, False),
        ("feishu", Format.MARKDOWN, True),
        ("feishu", Format.TEXT, False),
        ("oa_webhook", Format.MARKDOWN, True),
        ("webhook", Format.MARKDOWN, False),
    ],
)
def test_every_oa_and_webhook_message_starts_with_headline_and_statement(
    channel: str, fmt: Format, bold: bool
) -> None:
    for notice, head, says in CASES:
        lines = [x for x in render(channel, fmt, ("body",), notice).body.splitlines() if x]
        assert lines[:2] == [f"**{head}**" if bold else head, says]
    update = render(channel, fmt, ("body",), UPDATE).body
    assert "50毫米以上降雨" in update  # an update carries the new text


@pytest.mark.parametrize("channel", ["dingtalk", "feishu", "oa_webhook", "webhook"])
def test_the_message_title_is_the_headline(channel: str) -> None:
    assert render(channel, Format.MARKDOWN, ("title",), LIFT).title == LIFT_HEAD


def test_an_ordinary_notice_is_untouched() -> None:
    plain = {**UPDATE, "follows": None}
    assert render("weibo", Format.TEXT, ("body",), plain).body.startswith("【暴雨橙色预警】")
    assert "【更新】" not in render("wechat", Format.HTML, ("title", "body"), plain).body


def test_a_withdrawal_without_a_reason_says_so_and_text_is_escaped_in_html() -> None:
    bare = {**WITHDRAW, "follows": {**WITHDRAW["follows"], "reason": None, "title": "<b>公示</b>"}}
    out = render("wechat", Format.HTML, ("body",), bare).body
    assert "撤回原因：未说明。" in out
    assert "&lt;b&gt;公示&lt;/b&gt;" in out and "<b>公示</b>" not in out


def test_the_text_card_escapes_too() -> None:
    bare = {**WITHDRAW, "follows": {**WITHDRAW["follows"], "title": "<b>公示</b>"}}
    out = render("wecom_app", Format.HTML, ("body",), bare).body
    assert "《&lt;b&gt;公示&lt;/b&gt;》" in out and "<b>" not in out
