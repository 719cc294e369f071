"""Weibo withdrawals: ``statuses/destroy`` of the original, else a correction status.

``POST {api_base}/2/statuses/destroy.json`` form ``access_token``, ``id`` -> the deleted
Status object (open.weibo.com/wiki/2/statuses/destroy; one can delete only one's own
statuses). The reference says the write APIs other than ``share`` are restricted since
2017-06-30 and answer ``10014 Insufficient app permissions`` to apps without the advanced
permission [S44]; that, or any other permanent refusal, makes the withdrawal a correction
status (【撤回】原标题 + 撤回原因) with ``PublishResult.note`` saying why. ``20101`` (weibo does
not exist) means the post is gone already: counted as recalled. Transient errors, expired
tokens and lost replies are raised as usual, so the worker retries the whole withdrawal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from channels import recall
from publisher.contract import OutgoingPost, PublishResult
from publisher.errors import AuthExpired, CredentialsInvalid, PermanentError
from publisher.http_errors import request

if TYPE_CHECKING:
    from channels.weibo.adapter import WeiboAdapter

GONE = 20101  # weibo does not exist


async def withdraw(adapter: WeiboAdapter, post: OutgoingPost) -> PublishResult:
    from channels.weibo.adapter import _reply

    found = recall.target(post, adapter.options.recall)
    if isinstance(found, str):
        return recall.with_correction_note(await adapter.share(post), found)
    response = await request(
        adapter.ctx.http,
        "POST",
        f"{adapter.api_base}/2/statuses/destroy.json",
        data={
            "access_token": adapter.options.access_token.get_secret_value(),
            "id": found.remote_id,
        },
        timeout=adapter.options.timeout,
    )
    try:
        _reply(response)
    except (AuthExpired, CredentialsInvalid):
        raise
    except PermanentError as exc:
        if str(exc.code) == str(GONE):
            return recall.recalled(found, "微博", already_gone=True)
        why = recall.refused(exc)
        return recall.with_correction_note(await adapter.share(post), why)
    return recall.recalled(found, "微博")
