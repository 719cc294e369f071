"""Secrets in URLs and headers never reach a log line."""

from __future__ import annotations

import logging

import pytest

from publisher.logs import RedactingFilter, redact


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("POST https://api.weixin.qq.com/cgi-bin/draft/add?access_token=ACCESS123", "ACCESS123"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROBOTKEY9", "ROBOTKEY9"),
        ("robot/send?access_token=tok&timestamp=1&sign=abc%2Bdef", "abc%2Bdef"),
        ("headers={'Authorization': 'Bearer s3cr3t'}", "s3cr3t"),
    ],
)
def test_credentials_are_masked(line: str, secret: str) -> None:
    assert secret not in redact(line)
    assert "***" in redact(line)


def test_the_filter_cleans_formatted_records(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.redaction")
    log.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        log.info("HTTP Request: %s", "GET https://api.weibo.com/2/x.json?access_token=T0KEN")
    assert "T0KEN" not in caplog.text and "access_token=***" in caplog.text
