"""The public address of a notice: the portal page every channel links to.

One function, so that Weibo's safe-domain link, WeChat's 阅读原文, the OA cards, the webhook
payloads, the portal's own feeds and the page the portal serves all agree. Channels reach it
as ``AccountContext.notice_url``.
"""

from __future__ import annotations

from urllib.parse import quote

KEY_PARAM = "k"
"""The query parameter that carries a delivery's key in a link (WeChat finds its article by it)."""


def notice_url(base_url: str, notice_id: int, key: str | None = None) -> str:
    """``{base_url}/portal/notices/{notice_id}``, with ``?k=<key>`` when a key is given."""
    url = f"{base_url.rstrip('/')}/portal/notices/{notice_id}"
    if key is not None:
        url += f"?{KEY_PARAM}={quote(key, safe='')}"
    return url
