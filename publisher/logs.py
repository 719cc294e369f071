"""Logging that never prints a secret.

Channel APIs put credentials in URLs (``?access_token=``, ``?key=``, DingTalk's ``sign``),
and HTTP libraries log URLs. Every record passes through a filter that masks the values of
credential-like query parameters and ``Authorization`` headers before it is written.
"""

from __future__ import annotations

import logging
import re
import sys

SECRET_PARAMS = re.compile(
    r"(?i)\b(access_token|token|key|secret|corpsecret|appsecret|sign|signature|password)"
    r"=([^&\s'\"]+)"
)
AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)([^'\"\s,}]+(?: [^'\"\s,}]+)?)")


def redact(text: str) -> str:
    text = SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)
    return AUTH_HEADER.sub(lambda m: f"{m.group(1)}***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_text is None and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def configure(debug: bool) -> None:
    """Root logging to stderr, redacted; HTTP client chatter only when debugging."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for noisy in ("httpx", "httpcore", "hpack", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.INFO if debug else logging.WARNING)
