"""Tests for switchboard.server.latency: the bounded latency ring and its /api/latency document."""

from __future__ import annotations

import pytest

from switchboard.server.latency import LatencyRing, LatencySample


def test_record_measures_milliseconds_from_detection_to_hand_off() -> None:
    ring = LatencyRing()
    assert ring.record(100.0, 100.0125) == LatencySample(100.0125, pytest.approx(12.5))


def test_a_clock_step_back_is_zero_not_negative() -> None:
    assert LatencyRing().record(100.0, 99.0).latency_ms == 0.0


def test_the_ring_keeps_only_max_samples_newest() -> None:
    ring = LatencyRing(max_samples=3)
    for i in range(5):
        ring.record(float(i), float(i) + 0.001)
    assert len(ring) == 3
    assert [s.at for s in ring.since(0.0)] == pytest.approx([2.001, 3.001, 4.001])


def test_max_samples_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LatencyRing(max_samples=0)


def test_document_keeps_the_window_and_summarises_it() -> None:
    ring = LatencyRing()
    ring.record(0.0, 10.0)  # outside the window below
    for ms in (5, 1, 3, 2, 4):
        ring.record(50.0, 50.0 + ms / 1000)
    doc = ring.document(now=60.0, window_s=30.0)
    assert doc["count"] == 5
    assert [ms for _, ms in doc["samples"]] == [5.0, 1.0, 3.0, 2.0, 4.0]
    assert (doc["p50Ms"], doc["p95Ms"], doc["maxMs"]) == (3.0, 5.0, 5.0)
    assert doc["windowS"] == 30.0


def test_document_of_an_empty_window_has_no_percentiles() -> None:
    doc = LatencyRing().document(now=60.0, window_s=30.0)
    assert doc["samples"] == [] and doc["count"] == 0
    assert doc["p50Ms"] is None and doc["p95Ms"] is None and doc["maxMs"] is None
