"""Keeping the portal's heavy work off the event loop, and doing it once per notice version.

``publisher serve`` runs the delivery worker in the same event loop as the web app, so a
portal page that renders 100,000 table rows on the loop delays every urgent warning behind
it. Three tools, used by ``web.py``:

- :class:`OffLoop` runs a function in a worker thread, at most ``threads`` at a time (an
  ``anyio.CapacityLimiter`` of its own), so public pages can never take every thread the
  process has (the store's database thread is separate).
- :class:`ByteLRU`: results (rendered pages, downloads, parsed notices) under keys that
  include the notice's version, so a changed notice is simply a different key; least recently
  used entries go first once the total size passes a budget in bytes.
- :class:`SingleFlight`: concurrent requests for one missing key wait for one build instead
  of each building it (eight clients arriving at a cold page read the notice once).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar, cast

import anyio
import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

T = TypeVar("T")
V = TypeVar("V")


class OffLoop:
    """Run blocking or CPU-heavy functions in threads, a bounded number at a time."""

    def __init__(self, threads: int = 2) -> None:
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self._limiter is None:  # made inside the running loop, on first use
            self._limiter = anyio.CapacityLimiter(self.threads)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)


class ByteLRU(Generic[V]):
    """A least-recently-used map bounded by the total of the sizes given to :meth:`put`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> V | None:
        found = self._items.get(key)
        if found is None:
            return None
        self._items.move_to_end(key)
        return found[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Keep ``value``; one larger than half the budget is not kept (it would evict all)."""
        self.discard(key)
        if size > self.max_bytes // 2:
            return
        self._items[key] = (value, size)
        self.size += size
        while self.size > self.max_bytes and self._items:
            _key, (_value, old) = self._items.popitem(last=False)
            self.size -= old

    def discard(self, key: Hashable) -> None:
        found = self._items.pop(key, None)
        if found is not None:
            self.size -= found[1]


class SingleFlight:
    """One build per key at a time; callers that arrive meanwhile share its result."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[Any]] = {}

    async def run(self, key: Hashable, build: Callable[[], Awaitable[V]]) -> V:
        running = self._running.get(key)
        if running is not None:
            return cast(V, await asyncio.shield(running))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            value = await build()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._running[key]


class OffLoopHTML(Response):
    """An HTML response whose body is rendered in a thread when it is sent.

    Handlers return it as they would an ``HTMLResponse``; the template work happens off the
    event loop, under ``off_loop``'s limit.
    """

    media_type = "text/html"

    def __init__(self, off_loop: OffLoop, render: Callable[[], str], status_code: int = 200):
        self._off_loop = off_loop
        self._render = render
        super().__init__(b"", status_code=status_code)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.body = (await self._off_loop.run(self._render)).encode("utf-8")
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.raw_headers.append((b"content-length", str(len(self.body)).encode("latin-1")))
        await super().__call__(scope, receive, send)
