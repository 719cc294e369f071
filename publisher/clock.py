"""The real clock. Tests hand in their own; adapters only ever see the one handed in."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
