"""What an OA adapter that knows who read a message hands back (issue 14, read receipts).

An adapter offers ``async read_state(ref: PostRef) -> ReadState`` (DingTalk and Feishu app
modes ask their platform; the WeCom app, which has no read API, names its recipients and
leaves the reads to the "已知悉" acknowledgements, ``publisher/web/ack.py``).
``publisher.reach.readers`` stores what they say and lists it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from publisher.contract import PostRef

READ = "read"
ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True)
class ReadState:
    """Who a message went to and who read it (each with when, as well as the platform says:
    DingTalk gives no time, so it is when we asked)."""

    recipients: tuple[str, ...]  # empty: not known by name (e.g. WeCom "@all")
    read: Mapping[str, datetime] = field(default_factory=dict)
    how: str = READ
    source: str = ""


@runtime_checkable
class ReadReceipts(Protocol):
    """An adapter that can say who read its posts (when ``reads_known``)."""

    async def read_state(self, ref: PostRef) -> ReadState: ...

    @property
    def reads_known(self) -> bool: ...  # False: this account's options turn receipts off

    @property
    def nudge_after_minutes(self) -> int: ...  # 0: never remind
