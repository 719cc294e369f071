"""What ``publisher preview`` says about WeChat mass send (issue 11 part D): whether this
notice would be pushed to the account's followers, and how much of the day's and month's
quota is left (``channels.wechat.policy``).

The counts are the books the adapter keeps among the account's stored credentials, read from
the database without migrating or writing anything. Preview works without a database: when
there is none (or it cannot be read), the quota line says so and the policy lines stand.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from publisher.contract import AccountOptions, Clock
from publisher.settings import Settings
from publisher.store import StoreTokens, open_store

log = logging.getLogger("publisher")


def _readable(database_url: str) -> bool:
    """False for a SQLite file that does not exist (opening it would create it)."""
    try:
        url = make_url(database_url)
    except Exception:
        return False
    if url.get_backend_name() == "sqlite":
        return bool(url.database) and Path(str(url.database)).expanduser().is_file()
    return True


async def push_lines(
    settings: Settings,
    clock: Clock,
    notice: dict[str, Any],
    accounts: Sequence[tuple[str, AccountOptions]],
) -> dict[str, list[str]]:
    """For each WeChat account in ``accounts`` (name, options) that mass-sends notices of
    this kind: its preview lines (other accounts and kinds get none: nothing to say).

    ``notice`` is the notice as JSON (``kind``, ``fields`` and, for a follow-up, ``follows``).
    """
    from channels.wechat.options import WechatOptions
    from channels.wechat.policy import Quota, decide, preview_lines, quota

    kind = str(notice.get("kind"))
    wechat = [
        (n, o)
        for n, o in accounts
        if isinstance(o, WechatOptions) and o.mass_send and kind in o.mass_send_kinds
    ]
    if not wechat:
        return {}
    now = clock.now()
    left: dict[str, Quota | None] = {name: None for name, _ in wechat}
    if _readable(settings.database_url):
        try:
            store = open_store(settings.database_url, clock, pool_size=1)
            try:
                await store.ping()
                tokens = StoreTokens(store)
                for name, options in wechat:
                    left[name] = await quota(tokens, name, options, now)
            finally:
                await store.close()
        except Exception as exc:  # preview must not fail for want of a database
            log.debug("preview: mass-send quota not read: %s", exc)
    fields = notice.get("fields") or {}
    return {
        name: preview_lines(
            decide(options, kind, fields, notice.get("follows")),
            options,
            left[name],
        )
        for name, options in wechat
    }
