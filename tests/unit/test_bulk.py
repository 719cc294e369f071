"""collector_paused: the garbage collector is back as it was after building many rows, even
when the building fails, and a pre-forking server's frozen objects stay frozen."""

from __future__ import annotations

import gc

import pytest

from publisher.bulk import collector_paused


def test_the_collector_is_off_inside_and_back_after_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: one pause
            pass
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()


def test_a_collector_someone_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_objects_frozen_by_someone_else_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with collector_paused():
            rows = [(n, str(n)) for n in range(1000)]
        assert gc.get_freeze_count() == frozen and len(rows) == 1000
    finally:
        gc.unfreeze()


def test_what_was_built_is_counted_old_at_once() -> None:
    """Not walked by the collector on the way out (that walk cost 0.2 s for a year's rows):
    moved straight to the oldest generation, still tracked, still freed when dropped."""
    gc.collect()
    with collector_paused():
        rows = [[n] for n in range(10_000)]  # lists: tracked by the collector
    assert any(o is rows[-1] for o in gc.get_objects(generation=2))
    assert gc.is_tracked(rows[-1])
