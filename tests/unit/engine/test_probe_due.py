"""When a quiet IDLE is probed: long intervals on whole seconds, never later than asked."""

from __future__ import annotations

import pytest

from switchboard.engine.watcher import probe_due


@pytest.mark.parametrize("quiet_since", [0.0, 100.0, 100.25, 100.999, 12345.5])
def test_long_intervals_fall_due_on_whole_seconds_at_most_a_second_early(
    quiet_since: float,
) -> None:
    due = probe_due(quiet_since, 45.0)
    assert due == int(due)
    assert quiet_since + 44.0 < due <= quiet_since + 45.0


def test_connections_quiet_in_the_same_second_are_probed_together() -> None:
    assert len({probe_due(1000.0 + i / 100, 45.0) for i in range(100)}) == 1


@pytest.mark.parametrize("quiet_since", [0.0, 10.2, 10.7])
def test_short_intervals_are_exact(quiet_since: float) -> None:
    # A short interval (tests, aggressive settings) is not rounded: rounding down could make
    # it due at once, again and again.
    assert probe_due(quiet_since, 0.2) == pytest.approx(quiet_since + 0.2)
