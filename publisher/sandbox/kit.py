"""What every channel imitation shares: the log of what it received, the faults it was told to
inject, and the routes people and tests drive it with.

Every sandbox (``channels/<type>/sandbox.py``) subclasses :class:`Sandbox` with its own
:class:`Faults` model and adds its channel's paths to ``self.router``. The kit adds::

    GET    /posts     what arrived: {"count", "posts": [...]} (a sandbox may add more keys)
    DELETE /posts     forget it: {"cleared": <how many posts>}
    PUT    /faults    replace the faults (POST too); 422 naming a bad field; GET /faults shows them

and the fault injection every imitation performs the same way: network latency
(:meth:`Sandbox.network_delay`), an error with probability ``error_rate``
(:meth:`Sandbox.fault_strikes`) and a lost reply (:meth:`Sandbox.hold_reply`): the request is
carried out, then the answer is held so long that the client gives up without knowing.

Persistence: a sandbox given a :class:`~publisher.sandbox.journal.Journal`
(:meth:`Sandbox.open_journal`, done by ``sandbox_app(state_dir)``) writes every post it
:meth:`keeps <Sandbox.keep>` and every record it :meth:`notes <Sandbox.note>`, and reads them
back when it opens the journal again after a restart (:meth:`Sandbox.restore`). Remote ids
come from :meth:`Sandbox.next_serial`, which is never handed out twice, across restarts and
``DELETE /posts`` alike: the journal reserves serials in blocks, and a restart starts after
the last block. Faults are not kept: a restart starts without any.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Body
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from publisher.sandbox.journal import Journal

SERIAL_BLOCK = 1000  # serials reserved per journal line: a restart skips at most this many
_BUILT: contextvars.ContextVar[list[Sandbox[Any]] | None] = contextvars.ContextVar(
    "sandboxes_built", default=None
)


@contextlib.contextmanager
def collecting() -> Iterator[list[Sandbox[Any]]]:
    """The sandboxes constructed while the block runs (``ChannelAdapter.sandbox()`` returns
    only a router, so this is how ``sandbox_app`` reaches them to open their journals)."""
    built: list[Sandbox[Any]] = []
    token = _BUILT.set(built)
    try:
        yield built
    finally:
        _BUILT.reset(token)


class Faults(BaseModel):
    """The faults every sandbox understands; each sandbox's model adds its channel's own.

    ``lost_reply_odds`` says how a sandbox's fields ask for a lost reply (the sandboxes
    spell it in their own historical words).
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0, ge=0, le=60_000)
    error_rate: float = Field(default=0, ge=0, le=1)

    def lost_reply_odds(self) -> tuple[float, float]:
        """(probability, seconds): how often a reply is held back after the work is done, and
        for how long. Default: never."""
        return 0.0, 0.0


FaultsT = TypeVar("FaultsT", bound=Faults)


class Sandbox(Generic[FaultsT]):
    """The received-posts store, the faults and the control routes of one imitation.

    Subclasses add their channel's routes to ``self.router`` in their ``__init__`` (after
    calling this one) and may override :meth:`listing`, :meth:`forget` and
    :meth:`faults_changed`.
    """

    def __init__(self, faults: FaultsT, rng: random.Random | None = None) -> None:
        self.faults = faults
        self.rng = rng or random.Random()
        self.posts: list[dict[str, Any]] = []
        self.journal: Journal | None = None
        self._serial = 0  # the last serial handed out
        self._reserved = 0  # the highest serial the journal has reserved
        built = _BUILT.get()
        if built is not None:
            built.append(self)
        self.router = APIRouter()
        r = self.router
        r.add_api_route("/posts", self._list_posts, methods=["GET"])
        r.add_api_route("/posts", self._clear, methods=["DELETE"])
        r.add_api_route("/faults", self._set_faults, methods=["PUT", "POST"])
        r.add_api_route("/faults", self._get_faults, methods=["GET"])

    # -- fault injection -----------------------------------------------------------------

    async def network_delay(self, share: float = 1.0) -> None:
        """Spend ``share`` of ``latency_ms`` (a round trip spends half on each leg)."""
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000 * share)

    def fault_strikes(self) -> bool:
        """Whether this request meets an injected error (probability ``error_rate``)."""
        rate = self.faults.error_rate
        return bool(rate) and self.rng.random() < rate

    def reply_is_lost(self) -> float | None:
        """Whether this reply is to be lost: the seconds to hold it back, or None."""
        odds, seconds = self.faults.lost_reply_odds()
        if not odds or not (odds >= 1 or self.rng.random() < odds):
            return None
        return seconds

    async def hold_reply(self) -> None:
        """Maybe hold the reply back (:meth:`reply_is_lost`), after the work is done."""
        seconds = self.reply_is_lost()
        if seconds is not None:
            await asyncio.sleep(seconds)

    # -- what was received, and its ids ------------------------------------------------------

    def next_serial(self) -> int:
        """A number this sandbox never handed out before (1, 2, 3, ...; after a restart, past
        the last reserved block)."""
        self._serial += 1
        if self.journal is not None and self._serial > self._reserved:
            self._reserved = self._serial + SERIAL_BLOCK - 1
            self.journal.append({"serial": self._reserved})
        return self._serial

    def keep(self, post: dict[str, Any]) -> None:
        """A post received: listed by ``GET /posts`` and written to the journal."""
        self.posts.append(post)
        self.note("post", post)

    def note(self, kind: str, value: Any) -> None:
        """Write one record of this sandbox's own state, for :meth:`restore` after a restart.

        Records are replayed in order; a later one for the same thing overrides an earlier.
        """
        if self.journal is not None:
            self.journal.append({kind: value})

    def open_journal(self, path: Path) -> None:
        """Take back what the journal at ``path`` holds, then write there from now on."""
        journal = Journal(path)
        for record in journal.read():
            for kind, value in record.items():
                if kind == "serial":
                    self._serial = max(self._serial, int(value))
                else:
                    self.restore(kind, value)
        self._reserved = self._serial
        self.journal = journal

    # -- what subclasses may change ------------------------------------------------------

    def restore(self, kind: str, value: Any) -> None:
        """Take back one record of a previous run: ``post`` (from :meth:`keep`) appends to the
        posts; extend to rebuild indexes and for the kinds a subclass writes with :meth:`note`."""
        if kind == "post" and isinstance(value, dict):
            self.posts.append(value)

    def listing(self) -> dict[str, Any]:
        """The body of ``GET /posts``."""
        return {"count": len(self.posts), "posts": self.posts}

    def forget(self) -> None:
        """``DELETE /posts``: forget what was received (extend to clear more)."""
        self.posts.clear()

    def faults_changed(self, faults: FaultsT) -> FaultsT:
        """Act on newly set faults (e.g. expire tokens now); returns the faults to keep."""
        return faults

    # -- the control routes ----------------------------------------------------------------

    async def _list_posts(self) -> dict[str, Any]:
        return self.listing()

    async def _clear(self) -> dict[str, int]:
        count = len(self.posts)
        self.forget()
        if self.journal is not None:  # forgotten for good, but the serials stay used
            self._reserved = max(self._reserved, self._serial)
            self.journal.replace([{"serial": self._reserved}])
        return {"cleared": count}

    async def _set_faults(self, body: Any = Body(default=None)) -> dict[str, Any]:
        try:
            faults = type(self.faults).model_validate(body or {})
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        self.faults = self.faults_changed(faults)
        return self.faults.model_dump()

    async def _get_faults(self) -> dict[str, Any]:
        return self.faults.model_dump()
