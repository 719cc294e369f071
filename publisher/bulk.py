"""Building very many small objects at once (a year's reach report by notice: 400,000 rows,
each a tuple of 21 values)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while the objects are built, then count
    them as old.

    None of them is in a cycle, yet the collector would walk all of them again and again as
    their number grows (measured: it doubled the time to build the report's rows), and once
    more as soon as it is back on (0.2 s for the report's rows). So afterwards everything the
    collector tracks is moved to its oldest generation without being looked at
    (``gc.freeze()`` then ``gc.unfreeze()``): it is looked at in the next full collection,
    as everything long-lived is; cyclic garbage made meanwhile waits for that collection.
    Skipped when something else has frozen objects (a pre-forking server), which unfreezing
    would undo. Process-wide, as the collector is; nested uses are one pause."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
