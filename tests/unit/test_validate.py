"""Fitting rendered notices to each channel's declared limits, before anything is queued."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import StaticChannels, context

from channels.webhook import WebhookAdapter, WebhookOptions
from publisher.clock import SystemClock
from publisher.contract import (
    Capabilities,
    Format,
    Limit,
    Overflow,
    Rendered,
    count_chars,
    count_utf8_bytes,
)
from publisher.errors import LimitViolationError, NotFoundError, Violation
from publisher.notice import parse_notice
from publisher.queue.intake import Intake
from publisher.registry import Account
from publisher.render import Renderer
from publisher.settings import REPO_ROOT, Settings
from publisher.store import open_store, upgrade
from publisher.validate import ELLIPSIS, fit, truncate, violations


def caps(*limits: Limit) -> Capabilities:
    return Capabilities(formats=(Format.TEXT,), limits=limits)


def rendered(title: str, body: str) -> Rendered:
    return Rendered(Format.TEXT, {"title": title, "body": body})


def never() -> Rendered:
    raise AssertionError("re-rendered with the summary although nothing asked for it")


def test_every_broken_limit_is_listed_with_its_numbers() -> None:
    c = caps(Limit("title", 10), Limit("body", 20), Limit("summary", 5))
    found = violations("weibo", rendered("标" * 12, "字" * 25), c)
    assert found == [
        Violation("weibo", "title", "12 字，超过上限 10 字", 12, 10),
        Violation("weibo", "body", "25 字，超过上限 20 字", 25, 20),
    ]
    assert str(LimitViolationError(found)) == (
        "weibo: title: 12 字，超过上限 10 字；weibo: body: 25 字，超过上限 20 字"
    )


def test_limits_use_the_channels_own_measure() -> None:
    c = caps(Limit("body", 12, measure=count_utf8_bytes, unit="字节"))
    assert violations("oa", rendered("t", "安全生产"), c) == []  # 12 bytes
    (v,) = violations("oa", rendered("t", "安全生产!"), c)
    assert v.rule == "13 字节，超过上限 12 字节"
    half = Limit("body", 2.5, measure=lambda s: len(s) / 2)
    (w,) = violations("weibo", rendered("t", "abcdef"), caps(half))
    assert w.rule == "3 字，超过上限 2.5 字"


@pytest.mark.parametrize(
    ("measure", "maximum", "text", "expected"),
    [
        (count_chars, 5, "安全生产监督管理局", "安全生" + ELLIPSIS),  # "……" is 2 字
        (count_utf8_bytes, 12, "安全生产监督", "安全" + ELLIPSIS),  # 6 + 6 bytes
        (count_chars, 12, "降雨量已达100毫米，请注意防范。", "降雨量已达100毫米" + ELLIPSIS),
        (count_chars, 11, "降雨量已达100毫米，请注意防范。", "降雨量已达" + ELLIPSIS),
        (count_chars, 5, "安全生产", "安全生产"),  # fits: untouched
    ],
)
def test_truncate_cuts_by_the_channels_measure(
    measure: object, maximum: float, text: str, expected: str
) -> None:
    limit = Limit("body", maximum, measure=measure, overflow=Overflow.TRUNCATE)  # type: ignore[arg-type]
    out = truncate(text, limit)
    assert out == expected
    assert limit.measure(out) <= maximum


def test_truncate_overflow_fits_without_violations() -> None:
    c = caps(Limit("body", 8, overflow=Overflow.TRUNCATE))
    fitted, problems = fit("oa", rendered("t", "一二三四五六七八九十"), c, never)
    assert problems == [] and fitted.body == "一二三四五六" + ELLIPSIS


def test_reject_overflow_keeps_the_violation() -> None:
    c = caps(Limit("body", 8))
    fitted, problems = fit("oa", rendered("t", "一二三四五六七八九十"), c, never)
    assert fitted.body == "一二三四五六七八九十"
    assert [p.part for p in problems] == ["body"]


def test_use_summary_renders_again_with_the_summary() -> None:
    c = caps(Limit("body", 10, overflow=Overflow.USE_SUMMARY))
    fitted, problems = fit(
        "weibo", rendered("t", "很长的正文" * 5), c, lambda: rendered("t", "简短摘要")
    )
    assert problems == [] and fitted.body == "简短摘要"
    fitted, problems = fit(
        "weibo", rendered("t", "很长的正文" * 5), c, lambda: rendered("t", "摘要也太长了" * 3)
    )
    assert [p.account for p in problems] == ["weibo"]
    fitted, problems = fit("weibo", rendered("t", "短"), c, never)
    assert problems == [] and fitted.body == "短"


# -- at submit, through Intake: rejected whole, nothing queued ---------------------------------


def webhook(name: str, **options: object) -> Account:
    opts = WebhookOptions(url=f"http://127.0.0.1:9/{name}", **options)  # type: ignore[arg-type]
    return Account(name, WebhookAdapter(context(name, opts, SystemClock())))


async def test_a_notice_that_cannot_fit_is_rejected_per_channel_before_queueing(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/p.db", SystemClock())
    await upgrade(store)
    channels = StaticChannels(
        [
            webhook("portal"),
            webhook("sms", title_max=10, body_max=30),
            webhook("robot", body_max=20),
        ]
    )
    settings = Settings(accounts={})
    intake = Intake(
        settings, store, channels, Renderer(REPO_ROOT / "templates", settings.zone), SystemClock()
    )
    notice = parse_notice(
        {
            "kind": "general",
            "title": "关于开展安全生产大检查工作的通知",
            "body": "各有关单位：" + "请认真落实安全生产责任制。" * 5,
            "channels": ["portal", "sms", "robot"],
        }
    )
    try:
        with pytest.raises(LimitViolationError) as refused:
            await intake.submit(notice, source="cli", actor="editor")
        by_account = {(v.account, v.part) for v in refused.value.violations}
        assert by_account == {("sms", "title"), ("sms", "body"), ("robot", "body")}
        assert "sms: title: 16 字，超过上限 10 字" in str(refused.value)
        assert await store.list_deliveries() == []
        with pytest.raises(NotFoundError):
            await store.get_notice(1)
        previews = {a.name: intake.preview(notice, a) for a in channels}
        assert previews["portal"].violations == []
    finally:
        await channels.aclose()
        await store.close()
