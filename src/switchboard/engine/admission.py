"""Admission control: pace new IMAP connections globally and per host.

When 10,000 accounts lose their connections at once (a network blip, a server restart) they
must not all run TCP + TLS + LOGIN in the same second: that would peg the CPU with handshakes
and look like an attack to the provider. Every new connection therefore first takes a slot
from its host's bucket and then from the global bucket.

How it works: each bucket is a GCRA ("generic cell rate") scheduler — it keeps a theoretical
arrival time ``tat`` and hands out slots at ``rate_per_s`` with a burst of ``burst`` slots.
Slots are *reserved* synchronously (no lock, no loop), then the caller sleeps until its slot;
concurrent callers therefore line up in call order. A caller waits for its host slot before it
reserves a global slot, so a crowd waiting on one slow host never holds global slots hostage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["AdmissionControl", "RateBucket"]


class RateBucket:
    """A GCRA slot scheduler: at most ``burst`` slots at once, then ``rate_per_s`` per second.

    Args:
        rate_per_s: sustained slots per second.
        burst: slots available at once after a quiet period (at least 1).

    Raises:
        ValueError: ``rate_per_s`` is not positive or ``burst`` is below 1.
    """

    __slots__ = ("_interval_s", "_tat", "_tolerance_s")

    def __init__(self, rate_per_s: float, burst: int = 1) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be positive and burst at least 1")
        self._interval_s = 1.0 / rate_per_s
        self._tolerance_s = (burst - 1) * self._interval_s
        self._tat = float("-inf")

    def reserve(self, now: float) -> float:
        """Take the next slot; return how many seconds from ``now`` it starts (0 = at once)."""
        start = max(now, self._tat - self._tolerance_s)
        self._tat = max(now, self._tat) + self._interval_s
        wait_s = start - now
        # Float sums of intervals leave femtosecond crumbs; they are not a reason to sleep.
        return wait_s if wait_s > 1e-9 else 0.0

    def idle_at(self, now: float) -> bool:
        """Whether the bucket is full again at ``now`` (so forgetting it changes nothing)."""
        return self._tat <= now


class AdmissionControl:
    """Paces new connections: ``rate_per_s`` overall and ``rate_per_host_per_s`` per host.

    Args:
        rate_per_s: new connections per second over the whole engine.
        rate_per_host_per_s: new connections per second to one host.
        clock: monotonic seconds (injected for tests).
        sleep: the sleep coroutine (injected for tests).
        max_tracked_hosts: host buckets kept before full (idle) ones are forgotten.

    Raises:
        ValueError: a rate is not positive.
    """

    def __init__(
        self,
        rate_per_s: float,
        rate_per_host_per_s: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]],
        max_tracked_hosts: int = 1024,
    ) -> None:
        # A burst of one second's worth lets a handful of accounts start without any wait.
        self._global = RateBucket(rate_per_s, burst=max(1, int(rate_per_s)))
        self._rate_per_host_per_s = rate_per_host_per_s
        self._host_burst = max(1, int(rate_per_host_per_s))
        RateBucket(rate_per_host_per_s)  # validate now, not on the first connection
        self._hosts: dict[str, RateBucket] = {}
        self._clock = clock
        self._sleep = sleep
        self._max_tracked_hosts = max_tracked_hosts
        self.admitted = 0
        """Connections admitted so far."""

    async def admit(self, host: str) -> None:
        """Wait until a new connection to ``host`` may start.

        Cancelling the wait is safe; the reserved slot is simply left unused.
        """
        key = host.lower()
        bucket = self._hosts.get(key)
        if bucket is None:
            self._forget_idle_hosts()
            bucket = self._hosts[key] = RateBucket(self._rate_per_host_per_s, self._host_burst)
        wait_s = bucket.reserve(self._clock())
        if wait_s > 0:
            await self._sleep(wait_s)
        wait_s = self._global.reserve(self._clock())
        if wait_s > 0:
            await self._sleep(wait_s)
        self.admitted += 1

    def _forget_idle_hosts(self) -> None:
        # Bound the table: a bucket that is full again carries no information.
        if len(self._hosts) < self._max_tracked_hosts:
            return
        now = self._clock()
        for host in [h for h, b in self._hosts.items() if b.idle_at(now)]:
            del self._hosts[host]
