"""A notice for a channel that links to the portal copy always gets the portal copy too."""

from __future__ import annotations

from publisher.clock import SystemClock
from publisher.notice import parse_notice
from publisher.queue.intake import Intake
from publisher.registry import Channels
from publisher.render import Renderer
from publisher.settings import load_settings


def intake_for(accounts: dict[str, dict[str, object]]) -> Intake:
    settings = load_settings(accounts=accounts)
    channels = Channels(settings, SystemClock(), None)
    renderer = Renderer(settings.templates_dir, settings.zone)
    return Intake(settings, None, channels, renderer, SystemClock())  # type: ignore[arg-type]


SANDBOX = {
    "portal": {"type": "portal", "sandbox": True},
    "weibo": {"type": "weibo", "access_token": "t", "sandbox": True},
    "hook": {"type": "webhook", "url": "http://127.0.0.1:9/x"},
}


def test_weibo_alone_brings_the_portal_copy_its_link_points_to() -> None:
    intake = intake_for(SANDBOX)
    notice = parse_notice(
        {"kind": "general", "title": "通知", "body": "正文", "channels": ["weibo"]}
    )
    assert [a.name for a in intake.targets(notice)] == ["weibo", "portal"]


def test_channels_without_links_do_not_get_a_copy() -> None:
    intake = intake_for(SANDBOX)
    notice = parse_notice(
        {"kind": "general", "title": "通知", "body": "正文", "channels": ["hook"]}
    )
    assert [a.name for a in intake.targets(notice)] == ["hook"]


def test_no_portal_configured_means_nothing_to_add() -> None:
    intake = intake_for({"weibo": SANDBOX["weibo"]})
    notice = parse_notice({"kind": "general", "title": "通知", "body": "正文"})
    assert [a.name for a in intake.targets(notice)] == ["weibo"]
