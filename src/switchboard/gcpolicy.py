"""The cyclic garbage collector's policy for a long-running server holding many connections.

Why: CPython's full (generation 2) collection walks every tracked object. A server holding
10,000 IMAP accounts keeps millions of them alive for hours — connections, parsers, watchers,
their futures — and the default policy walks them all each time the objects promoted to the
old generation since the last walk number a quarter of it. In a burst of mail, objects of
events in flight are promoted by the thousand and die a moment later, so the walks come every
second or two: 0.3–1.2 s each at 10,000 accounts, finding almost nothing. While 10,000 mailboxes
got mail at once, six such walks took 5.5 s of a 5.7 s burst (``bench/capacity.py``), and each
stalls every connection's event loop for its whole length.

How: after each full collection, what survived it is *frozen* (:func:`gc.freeze`): moved to
the permanent generation, which later collections do not walk. A full collection then costs
what was promoted since the last one, not the whole heap. Frozen objects are still freed by
reference counting the moment they are unreachable; only garbage *cycles* among them wait (a
dropped connection leaves some: an exception's traceback holds the frames that hold it). So
once the permanent generation has grown by a quarter since the last collection that walked
everything (CPython's own rule, applied to what stayed alive instead of to everything ever
promoted), it is handed back (:func:`gc.unfreeze`) and the next full collection walks — and
reclaims — everything, once. Such walks are spaced so that they take at most 2 % of the time
(a walk of 1 s, at 10,000 accounts, waits 50 s for the next): while mail is in flight, what is
alive at a given moment includes every wake's objects, which looks like growth. In a steady
state nothing grows and nothing is walked twice; after 10,000 connections dropped and
reopened, the old ones' cycles are reclaimed at the next walk.

The young generation's threshold is raised as well, from 700 to :data:`YOUNG_THRESHOLD`
allocations: a wake's objects live for one IMAP round trip, and a collection every 700
allocations finds thousands of them alive just then and promotes them, which brings the next
full collection sooner (10,000 mailboxes with one new mail each, in alternating runs: 0.26
against 0.17–0.18 ms of the server's CPU per event).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any, Final

__all__ = ["GROWTH_BEFORE_WALK", "MAX_WALK_SHARE", "YOUNG_THRESHOLD", "GcPolicy"]

YOUNG_THRESHOLD: Final = 10_000
"""Allocations (less deallocations) between two young collections; CPython's default is 700."""

GROWTH_BEFORE_WALK: Final = 0.25
"""How much the frozen objects may grow, as a fraction, before a collection walks them all."""

MAX_WALK_SHARE: Final = 0.02
"""The most of the time walks of everything may take: after one of ``d`` seconds, the next
waits ``d / MAX_WALK_SHARE``."""

_MIN_GROWTH_OBJECTS: Final = 10_000
"""Below this growth nothing is walked again: a small process has no heap worth the trouble."""


class GcPolicy:
    """Freezes what survives each full collection; see the module's docstring.

    Args:
        growth_before_walk: :data:`GROWTH_BEFORE_WALK`.
        min_growth_objects: the least growth, in objects, that makes a collection walk
            everything.
        max_walk_share: :data:`MAX_WALK_SHARE`.
        young_threshold: :data:`YOUNG_THRESHOLD`.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        *,
        growth_before_walk: float = GROWTH_BEFORE_WALK,
        min_growth_objects: int = _MIN_GROWTH_OBJECTS,
        max_walk_share: float = MAX_WALK_SHARE,
        young_threshold: int = YOUNG_THRESHOLD,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._young_threshold = young_threshold
        self._saved_threshold = gc.get_threshold()
        self._growth = growth_before_walk
        self._min_growth = min_growth_objects
        self._max_walk_share = max_walk_share
        self._clock = clock
        self._walk_beyond = 0
        self._next_walk_at = 0.0
        self._walk_started = 0.0
        self._walking_everything = False
        self._installed = False
        self.full_walks = 0
        """Collections that walked everything since :meth:`install` (for tests and metrics)."""

    def install(self) -> None:
        """Apply the policy to this process, freezing what lives now (start-up's objects)."""
        if self._installed:
            return
        self._installed = True
        self._saved_threshold = gc.get_threshold()
        _, middle, old = self._saved_threshold
        gc.set_threshold(self._young_threshold, middle, old)
        gc.callbacks.append(self._on_collection)
        gc.freeze()
        self._set_baseline()

    def uninstall(self) -> None:
        """Restore CPython's policy; everything frozen goes back to the collector."""
        if not self._installed:
            return
        self._installed = False
        gc.callbacks.remove(self._on_collection)
        gc.set_threshold(*self._saved_threshold)
        gc.unfreeze()

    def _set_baseline(self) -> None:
        frozen = gc.get_freeze_count()
        self._walk_beyond = frozen + max(self._min_growth, int(frozen * self._growth))

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._walk_started = self._clock()
            return
        # Called once the collection is over, so moving its survivors is safe here.
        gc.freeze()
        if self._walking_everything:
            # This collection walked everything: what is frozen now is all alive.
            self._walking_everything = False
            self.full_walks += 1
            self._set_baseline()
            now = self._clock()
            self._next_walk_at = now + (now - self._walk_started) / self._max_walk_share
        elif gc.get_freeze_count() > self._walk_beyond and self._clock() >= self._next_walk_at:
            # Hand the frozen objects back; the next full collection walks them all, once.
            gc.unfreeze()
            self._walking_everything = True
