"""Messages to named people inside the bureau over the OA channel (not publications).

The review chain tells the next reviewer, obligations remind the department that owes a
disclosure, reach nudges those who have not read a warning: all through :func:`tell`, which
picks an OA account whose adapter can message people (``ChannelAdapter.notify``) and sends
there. Nothing here is queued or public; the caller records what was sent (audit, its own
table) and decides whether a failure matters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from publisher.contract import DirectMessage, PublishResult
from publisher.errors import ChannelError
from publisher.registry import Account

log = logging.getLogger("publisher.notify")


@dataclass(frozen=True)
class Told:
    """What :func:`tell` did: which account carried the message and what it answered."""

    account: str
    result: PublishResult


class NobodyToTell(Exception):
    """No configured OA account can message people (or none was named that exists)."""


def messaging_accounts(accounts: Iterable[Account], name: str | None = None) -> list[Account]:
    """The accounts that can message people, the named one alone when ``name`` is given.

    An adapter that does not override ``notify`` cannot (the contract's default raises)."""
    from publisher.contract import ChannelAdapter

    found = [
        a
        for a in accounts
        if type(a.adapter).notify is not ChannelAdapter.notify and (name is None or a.name == name)
    ]
    return found


async def tell(
    accounts: Iterable[Account],
    recipients: Sequence[str],
    title: str,
    text: str,
    *,
    url: str | None = None,
    key: str | None = None,
    account: str | None = None,
) -> Told:
    """Send one message to ``recipients`` (OA user ids) through the first account that can.

    Raises :class:`NobodyToTell` when no account can, and the channel's ``ChannelError`` when
    the one that can refuses (the caller records it; nothing retries by itself)."""
    candidates = messaging_accounts(accounts, account)
    if not candidates:
        where = f"账号 {account} " if account else ""
        raise NobodyToTell(f"{where}没有可发送工作通知的 OA 账号（企业微信应用等）")
    chosen = candidates[0]
    message = DirectMessage(tuple(recipients), title, text, url, key)
    try:
        result = await chosen.adapter.notify(message)
    except ChannelError as exc:
        log.warning("notify via %s failed: %s", chosen.name, exc)
        raise
    return Told(chosen.name, result)
