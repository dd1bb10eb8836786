"""A bounded record of recent new-mail latencies, for the dashboard's chart.

Latency here is "the IMAP server's push (the watcher saw EXISTS) → the event handed to the
server's fan-out", i.e. what Switchboard itself adds after the IMAP server spoke; it is measured
from :attr:`NewMessage.detected_at <switchboard.model.events.NewMessage.detected_at>` in
:meth:`Hub.publish <switchboard.server.hub.Hub.publish>`. Catch-up announcements (no push seen)
have no latency and are not recorded.

The ring keeps at most ``max_samples`` samples; older ones fall off, so memory stays fixed
however much mail flows. Observers (:meth:`LatencyRing.add_observer`) see every sample as it is
recorded: ``/metrics`` keeps its all-time histogram that way. Pure bookkeeping, no I/O; time is
passed in.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["DEFAULT_MAX_LATENCY_SAMPLES", "LatencyRing", "LatencySample"]

DEFAULT_MAX_LATENCY_SAMPLES: Final = 1000
"""Samples kept by default: minutes of a busy server, hours of a quiet one."""


@dataclass(frozen=True, slots=True)
class LatencySample:
    """One announced message: when it was handed on (Unix time) and how long that took."""

    at: float
    latency_ms: float


class LatencyRing:
    """The last ``max_samples`` latency samples, oldest first.

    Args:
        max_samples: how many samples to keep (at least 1).

    Raises:
        ValueError: ``max_samples`` is below 1.
    """

    def __init__(self, max_samples: int = DEFAULT_MAX_LATENCY_SAMPLES) -> None:
        if max_samples < 1:
            raise ValueError(f"max_samples must be at least 1, not {max_samples}")
        self.max_samples = max_samples
        self._samples: collections.deque[LatencySample] = collections.deque(maxlen=max_samples)
        self._observers: list[Callable[[LatencySample], None]] = []

    def add_observer(self, observer: Callable[[LatencySample], None]) -> None:
        """Also hand every recorded sample to ``observer``; it must not block or raise."""
        self._observers.append(observer)

    def __len__(self) -> int:
        return len(self._samples)

    def record(self, detected_at: float, handed_at: float) -> LatencySample:
        """Add the sample for a message detected at ``detected_at`` and handed on at ``handed_at``.

        A negative difference (the wall clock stepped back) is recorded as 0 ms rather than
        drawn as an impossible value.
        """
        sample = LatencySample(handed_at, max(0.0, (handed_at - detected_at) * 1000.0))
        self._samples.append(sample)
        for observer in self._observers:
            observer(sample)
        return sample

    def since(self, start: float) -> list[LatencySample]:
        """The samples handed on at or after ``start`` (Unix time), oldest first."""
        return [s for s in self._samples if s.at >= start]

    def document(self, now: float, window_s: float) -> dict[str, Any]:
        """The ``/api/latency`` JSON: the last ``window_s`` seconds' samples and their summary.

        ``samples`` is a list of ``[unix_time, latency_ms]`` pairs (compact for the chart);
        ``p50Ms``/``p95Ms``/``maxMs`` are ``None`` when there are no samples.
        """
        samples = self.since(now - window_s)
        ordered = sorted(s.latency_ms for s in samples)
        return {
            "now": now,
            "windowS": window_s,
            "samples": [[round(s.at, 3), round(s.latency_ms, 2)] for s in samples],
            "count": len(ordered),
            "p50Ms": _percentile(ordered, 0.50),
            "p95Ms": _percentile(ordered, 0.95),
            "maxMs": round(ordered[-1], 2) if ordered else None,
        }


def _percentile(ordered: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of an ascending list, or ``None`` when it is empty."""
    if not ordered:
        return None
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return round(ordered[rank], 2)
