"""The words the CLI shows for states, events and times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from publisher import labels
from publisher.queue.states import Status, notice_status

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_every_delivery_and_notice_state_has_a_chinese_word_and_keeps_its_code() -> None:
    derived = {notice_status(s) for s in ([], ["pending"], ["posted", "failed"], ["sending"])}
    for code in {*Status, *derived}:
        shown = labels.status(code)
        assert shown.endswith(f"({code})"), shown  # the code --status and the API take
        assert shown != f"({code})" and not shown[0].isascii(), shown


def test_an_unknown_code_is_shown_as_it_is() -> None:
    assert labels.status("teleported") == "teleported"
    assert labels.action("teleported") == "teleported"
    assert labels.action("reconciled") == "核对后确认已发布"


def test_times_are_shown_on_the_bureaus_clock() -> None:
    at = datetime(2026, 11, 26, 16, 30, 5, 123456, tzinfo=UTC)
    assert labels.when(at, SHANGHAI) == "2026-11-27 00:30:05"
    assert labels.when(at.isoformat(), SHANGHAI) == "2026-11-27 00:30:05"
    assert labels.when(None, SHANGHAI) == ""


def test_reach_figures_are_named_in_chinese_and_an_unknown_one_as_it_is() -> None:
    codes = ("reads", "views", "likes", "reposts", "comments", "shares", "clicks")
    words = ["阅读", "浏览", "点赞", "转发", "评论", "分享", "点击"]
    assert [labels.metric(c) for c in codes] == words
    assert labels.metric("teleports") == "teleports"
