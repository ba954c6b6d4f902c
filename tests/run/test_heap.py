"""The collector during a round: the old heap set aside, the round's garbage still freed."""

from __future__ import annotations

import gc
import weakref

import pytest

from harness.run.heap import ROUND_THRESHOLD, round_heap


class Node:
    """An object that can sit in a reference cycle and be watched through a weakref."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_the_heap_is_set_aside_for_the_block_and_handed_back() -> None:
    before = gc.get_threshold()
    with round_heap():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == max(before[0], ROUND_THRESHOLD)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_garbage_made_in_the_block_is_still_collected() -> None:
    with round_heap():
        watched = cycle()
        gc.collect()
        assert watched() is None


def test_garbage_made_before_the_block_is_collected_after_it() -> None:
    watched = cycle()
    with round_heap():
        gc.collect()
        assert watched() is not None  # set aside: not scanned during the round
    gc.collect()
    assert watched() is None


def test_an_error_in_the_block_restores_the_collector() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), round_heap():
        raise RuntimeError("a round failed")
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_a_disabled_collector_is_left_alone() -> None:
    before = gc.get_threshold()
    gc.disable()
    try:
        with round_heap():
            assert gc.get_freeze_count() == 0
            assert gc.get_threshold() == before
    finally:
        gc.enable()
