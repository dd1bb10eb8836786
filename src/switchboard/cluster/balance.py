"""How many account leases a node should take or give back: fair shares with hysteresis (pure).

A node's fair share is ``ceil(accounts / alive nodes)``. A node under its share takes
unowned accounts (new ones, or those of a dead node) up to it; a node over ``share +
hysteresis`` gives back the excess a few at a time, so a joining node gets its part over
several rounds while the others never drop below their share. The hysteresis keeps a node from
giving back the one account rounding gave it, which another node would take, and so on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LeasePlan", "fair_share", "plan_leases"]


@dataclass(frozen=True, slots=True)
class LeasePlan:
    """What one round of the lease loop does: take ``acquire`` leases, give back ``release``."""

    acquire: int
    release: int

    def __post_init__(self) -> None:
        if self.acquire < 0 or self.release < 0 or (self.acquire and self.release):
            raise ValueError(f"a round either acquires or releases, not {self}")


def fair_share(total_accounts: int, alive_nodes: int) -> int:
    """``ceil(total_accounts / alive_nodes)``; every account when this node looks alone.

    Raises:
        ValueError: a count is negative.
    """
    if total_accounts < 0 or alive_nodes < 0:
        raise ValueError("counts must not be negative")
    return math.ceil(total_accounts / max(alive_nodes, 1))


def plan_leases(
    *,
    held: int,
    total_accounts: int,
    alive_nodes: int,
    max_acquire_per_round: int,
    max_release_per_round: int,
    hysteresis: int = 1,
) -> LeasePlan:
    """Decide one round: reach the fair share, never overshoot it, give back slowly.

    ``held`` is what this node holds now; ``alive_nodes`` counts this node too.

    Raises:
        ValueError: a count is negative.
    """
    share = fair_share(total_accounts, alive_nodes)
    if held < share:
        return LeasePlan(min(share - held, max_acquire_per_round), 0)
    if held > share + hysteresis:
        return LeasePlan(0, min(held - share, max_release_per_round))
    return LeasePlan(0, 0)
