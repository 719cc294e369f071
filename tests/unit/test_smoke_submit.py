from __future__ import annotations

from publisher.notice import parse_notice


def test_warning_defaults_to_urgent() -> None:
    notice = parse_notice({"kind": "weather_warning", "title": "暴雨橙色预警", "body": "请注意防范。"})
    assert notice.is_urgent
