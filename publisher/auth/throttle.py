"""Failed attempts to authenticate, counted per key (client address, user name).

After ``limit`` failures within ``window`` seconds a key is refused until the oldest of them
leaves the window (the API answers 429 with ``Retry-After``). The counts live in this
process's memory: a restart forgets them, and several ``serve`` processes behind one proxy
each count their own — enough to make guessing a 256-bit token or a password by trial hopeless,
not an account lockout.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

LIMIT = 10
WINDOW = 300.0  # seconds
MAX_KEYS = 100_000  # a flood of distinct addresses must not grow memory without end


class Throttle:
    def __init__(
        self,
        limit: int = LIMIT,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, *keys: str) -> float | None:
        """Seconds until any of ``keys`` may try again; None when none is held back."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            failures = self._recent(key, now)
            if failures is not None and len(failures) >= self.limit:
                wait = max(wait, failures[-self.limit] + self.window - now)
        return wait if wait > 0 else None

    def failed(self, *keys: str) -> None:
        now = self.clock()
        if len(self._failures) >= MAX_KEYS:
            self._forget_old(now)
        for key in keys:
            self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def _forget_old(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= MAX_KEYS:  # still full of live keys: drop the oldest half
            for key in list(self._failures)[: MAX_KEYS // 2]:
                del self._failures[key]
