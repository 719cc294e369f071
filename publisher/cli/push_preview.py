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


def _pushers(kind: str, accounts: Sequence[tuple[str, AccountOptions]]) -> list[tuple[str, Any]]:
    from channels.wechat.options import WechatOptions

    return [
        (n, o)
        for n, o in accounts
        if isinstance(o, WechatOptions) and o.mass_send and kind in o.mass_send_kinds
    ]


async def _quotas(store: Any, wechat: list[tuple[str, Any]], now: Any) -> dict[str, Any]:
    from channels.wechat.policy import quota

    tokens = StoreTokens(store)
    return {name: await quota(tokens, name, options, now) for name, options in wechat}


def _lines(
    notice: dict[str, Any], wechat: list[tuple[str, Any]], left: dict[str, Any]
) -> dict[str, list[str]]:
    from channels.wechat.policy import decide, preview_lines

    kind, fields = str(notice.get("kind")), notice.get("fields") or {}
    return {
        name: preview_lines(
            decide(options, kind, fields, notice.get("follows")), options, left.get(name)
        )
        for name, options in wechat
    }


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
    wechat = _pushers(str(notice.get("kind")), accounts)
    if not wechat:
        return {}
    left: dict[str, Any] = {}
    if _readable(settings.database_url):
        try:
            store = open_store(settings.database_url, clock, pool_size=1)
            try:
                await store.ping()
                left = await _quotas(store, wechat, clock.now())
            finally:
                await store.close()
        except Exception as exc:  # preview must not fail for want of a database
            log.debug("preview: mass-send quota not read: %s", exc)
    return _lines(notice, wechat, left)


async def push_lines_from(
    store: Any,
    clock: Clock,
    notice: dict[str, Any],
    accounts: Sequence[tuple[str, AccountOptions]],
) -> dict[str, list[str]]:
    """:func:`push_lines` with an open store (the console's runtime): the same lines."""
    wechat = _pushers(str(notice.get("kind")), accounts)
    if not wechat:
        return {}
    left: dict[str, Any] = {}
    try:
        left = await _quotas(store, wechat, clock.now())
    except Exception as exc:  # the preview stands without the quota line
        log.debug("console preview: mass-send quota not read: %s", exc)
    return _lines(notice, wechat, left)
