"""Reconnect delays: exponential growth with jitter, capped, so failures never become a hot loop.

How it works: the n-th consecutive failure waits a random time in ``[d/2, d]`` where
``d = min(cap, initial * 2**n)`` ("equal jitter"). The lower half keeps a floor under every
delay, so even a burst of instant failures (a wrong password, a refused connection) is paced;
the random upper half spreads 10,000 accounts that failed together so they do not come back
together. A success calls :meth:`Backoff.reset`.
"""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """The delay schedule of one retrying task.

    Args:
        initial_s: the ceiling of the first delay (its floor is half of it).
        cap_s: no delay exceeds this.
        rng: the randomness; injected so tests can pin it.

    Raises:
        ValueError: ``initial_s`` is negative or ``cap_s`` is not positive.
    """

    __slots__ = ("_attempts", "_cap_s", "_initial_s", "_rng")

    def __init__(self, initial_s: float, cap_s: float, *, rng: random.Random | None = None) -> None:
        if initial_s < 0 or cap_s <= 0:
            raise ValueError("initial_s must be >= 0 and cap_s > 0")
        self._initial_s = initial_s
        self._cap_s = cap_s
        # Jitter does not need a CSPRNG; it only decorrelates reconnects.
        self._rng = rng if rng is not None else random.Random()  # noqa: S311
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Consecutive failures since the last :meth:`reset`."""
        return self._attempts

    def ceiling_s(self, attempt: int) -> float:
        """The largest delay the ``attempt``-th consecutive failure (0-based) may wait."""
        # Stop doubling once past the cap: 2**attempt would overflow a float after ~1000 tries.
        if attempt >= 64:
            return self._cap_s
        return min(self._cap_s, self._initial_s * float(1 << attempt))

    def next_delay_s(self) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        ceiling = self.ceiling_s(self._attempts)
        self._attempts += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Forget past failures: the next delay starts from ``initial_s`` again."""
        self._attempts = 0
