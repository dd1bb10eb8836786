import random

import pytest

from switchboard.engine.backoff import Backoff


def test_delays_grow_then_cap_with_jitter_within_bounds():
    backoff = Backoff(1.0, 60.0, rng=random.Random(7))
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60, 60]
    for ceiling in ceilings:
        delay = backoff.next_delay_s()
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.attempts == len(ceilings)


def test_jitter_actually_varies():
    backoff = Backoff(10.0, 10.0, rng=random.Random(1))
    delays = {backoff.next_delay_s() for _ in range(20)}
    assert len(delays) > 10
    assert all(5.0 <= d <= 10.0 for d in delays)


def test_reset_starts_over():
    backoff = Backoff(1.0, 600.0)
    for _ in range(10):
        backoff.next_delay_s()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay_s() <= 1.0


def test_auth_schedule_is_slow_and_never_a_hot_loop():
    # The engine's default auth schedule: 60 s initial, 1 h cap.
    backoff = Backoff(60.0, 3600.0)
    delays = [backoff.next_delay_s() for _ in range(30)]
    assert min(delays) >= 30.0
    assert max(delays) <= 3600.0
    assert delays[-1] >= 1800.0  # reached the cap region


def test_huge_attempt_counts_do_not_overflow():
    backoff = Backoff(1.0, 5.0)
    assert backoff.ceiling_s(10_000) == 5.0


@pytest.mark.parametrize(("initial", "cap"), [(-1.0, 1.0), (1.0, 0.0)])
def test_invalid_arguments(initial, cap):
    with pytest.raises(ValueError):
        Backoff(initial, cap)
