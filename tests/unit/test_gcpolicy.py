"""The garbage collector's policy: survivors of a full collection frozen, walked again on growth."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from switchboard.gcpolicy import GcPolicy


class _Cycle:
    """Garbage only as a cycle: reference counting alone never frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    yield
    gc.unfreeze()


def _walked() -> set[int]:
    return {id(o) for generation in range(3) for o in gc.get_objects(generation)}


def test_install_freezes_what_lives_and_uninstall_hands_it_back() -> None:
    callbacks, threshold = len(gc.callbacks), gc.get_threshold()
    policy = GcPolicy(young_threshold=12_345)
    policy.install()
    policy.install()  # twice is harmless
    assert len(gc.callbacks) == callbacks + 1
    assert gc.get_threshold() == (12_345, *threshold[1:])
    assert gc.get_freeze_count() > 0  # what start-up made
    policy.uninstall()
    policy.uninstall()
    assert len(gc.callbacks) == callbacks
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0


def test_survivors_of_a_full_collection_are_not_walked_again() -> None:
    policy = GcPolicy()
    policy.install()
    try:
        survivors = [_Cycle() for _ in range(1000)]
        gc.collect()
        walked = _walked()
        assert not any(id(s) in walked for s in survivors)
        assert policy.full_walks == 0
    finally:
        policy.uninstall()


def test_frozen_garbage_cycles_are_reclaimed_once_the_frozen_objects_grew() -> None:
    policy = GcPolicy(growth_before_walk=0.25, min_growth_objects=1000)
    policy.install()
    try:
        cycle = _Cycle()
        gc.collect()  # it survives, and is frozen
        ref = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert ref() is not None  # garbage, but frozen: only a walk of everything finds it
        # The live heap grows by more than a quarter: the next full collection walks it all.
        grown = [_Cycle() for _ in range(gc.get_freeze_count() // 2)]
        gc.collect()  # freezes the growth, and hands the frozen objects back
        gc.collect()  # this one walks everything
        assert ref() is None
        assert policy.full_walks == 1
        walked = _walked()
        assert not any(id(g) in walked for g in grown[:100])  # the living are frozen again
    finally:
        policy.uninstall()


def test_objects_freed_by_reference_counting_are_no_growth() -> None:
    # Ten times 1,000 objects promoted (CPython's rule counts them all), none left alive.
    policy = GcPolicy(growth_before_walk=0.0, min_growth_objects=5000)
    policy.install()
    try:
        for _ in range(10):
            transient = [[n] for n in range(1000)]
            gc.collect()  # alive now: frozen
            del transient  # freed at once, frozen or not
            gc.collect()
        assert policy.full_walks == 0
    finally:
        policy.uninstall()


class _SteppingClock:
    """Moves ``step`` seconds at each reading, so a collection appears to take ``step``."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_walks_of_everything_are_spaced_by_what_they_cost() -> None:
    clock = _SteppingClock(0.5)
    policy = GcPolicy(
        growth_before_walk=0.0, min_growth_objects=100, max_walk_share=0.02, clock=clock
    )
    policy.install()
    kept: list[list[_Cycle]] = []
    try:
        kept.append([_Cycle() for _ in range(1000)])
        gc.collect()  # grew: the frozen objects are handed back
        gc.collect()  # walks everything, "in 0.5 s": the next walk waits 25 s
        assert policy.full_walks == 1
        kept.append([_Cycle() for _ in range(1000)])
        gc.collect()
        gc.collect()
        assert policy.full_walks == 1  # grew again, but too soon
        clock.now += 25.0
        gc.collect()
        gc.collect()
        assert policy.full_walks == 2
    finally:
        policy.uninstall()
