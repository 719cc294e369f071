"""What the WeChat sandbox takes back after a restart (``Sandbox.restore``).

Kept: the calls received (``post``), published articles, publish jobs and mass sends, so
reach, ``freepublish/get`` and the ``clientmsgid`` duplicate check hold across a restart.
Not kept: drafts, uploaded images and access tokens; the publisher fetches a new token when
an old one is refused (40001), as it must on the real platform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from channels.wechat.sandbox import WechatSandbox


def restore(sandbox: WechatSandbox, kind: str, value: Any) -> bool:
    """Take back one record written by ``note``; False for a kind this module does not know."""
    if kind == "article":
        sandbox.articles[value["article_id"]] = value
        job = sandbox.jobs.get(str(value["msg_data_id"]))
        if job is not None:
            job["article_id"] = value["article_id"]
    elif kind == "job":
        sandbox.jobs[value.pop("publish_id")] = value
    elif kind == "mass":
        msg_id = value.pop("msg_id")
        sandbox.mass[msg_id] = value
        if value.get("clientmsgid"):
            sandbox.by_clientmsgid[value["clientmsgid"]] = msg_id
    else:
        return False
    return True
