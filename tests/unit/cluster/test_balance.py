"""Fair shares and the per-round plan."""

from __future__ import annotations

import pytest

from switchboard.cluster.balance import LeasePlan, fair_share, plan_leases


def plan(held: int, total: int, alive: int) -> LeasePlan:
    return plan_leases(
        held=held,
        total_accounts=total,
        alive_nodes=alive,
        max_acquire_per_round=100,
        max_release_per_round=3,
    )


def test_fair_share() -> None:
    assert fair_share(30, 3) == 10
    assert fair_share(31, 3) == 11
    assert fair_share(5, 0) == 5  # a node that sees nobody alive (not even itself yet)
    with pytest.raises(ValueError):
        fair_share(-1, 1)


def test_under_share_acquires_up_to_share_bounded_per_round() -> None:
    assert plan(0, 30, 3) == LeasePlan(10, 0)
    assert plan(0, 3000, 3) == LeasePlan(100, 0)
    assert plan(9, 30, 3) == LeasePlan(1, 0)


def test_over_share_releases_gradually_beyond_hysteresis() -> None:
    assert plan(11, 30, 3) == LeasePlan(0, 0)  # one over: kept, no flapping
    assert plan(15, 30, 3) == LeasePlan(0, 3)  # a node joined: give back 3 per round
    assert plan(12, 30, 3) == LeasePlan(0, 2)
    assert plan(10, 30, 3) == LeasePlan(0, 0)


def test_a_round_cannot_both_acquire_and_release() -> None:
    with pytest.raises(ValueError):
        LeasePlan(1, 1)
