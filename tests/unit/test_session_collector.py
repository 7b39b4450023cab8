"""session.fewer_collections: the cyclic collector kept out of a large run's way, and everything put back after."""

from __future__ import annotations

import gc
import weakref

import pytest

from netcheck.observe.session import fewer_collections


def test_a_run_sets_its_objects_aside_and_puts_everything_back() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    alive = [object() for _ in range(10)]
    with fewer_collections():
        assert gc.get_threshold()[0] >= 100_000
        assert gc.get_freeze_count() > 0  # what was alive at the start is out of the collector's walk
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert alive


def test_an_error_puts_everything_back_too() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_garbage_cycle_made_meanwhile_is_still_collected_after() -> None:
    class Node:
        other: object = None

    with fewer_collections():
        first, second = Node(), Node()
        first.other, second.other = second, first
        gone = weakref.ref(first)
        del first, second
        assert gone() is not None  # a cycle: reference counting alone never frees it
    gc.collect()
    assert gone() is None


def test_a_collector_switched_off_stays_off() -> None:
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)
