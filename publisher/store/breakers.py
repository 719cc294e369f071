"""Reading each account's sending state (its circuit breaker): the console's 渠道状态 page."""

from __future__ import annotations

from typing import Protocol

from publisher.store.records import AccountState


class BreakerReads(Protocol):
    async def account_states(self) -> list[AccountState]:
        """Every account's stored sending state (breaker, failures, last error), one row per
        account that has ever sent (an account never seen has none: its breaker is closed)."""
