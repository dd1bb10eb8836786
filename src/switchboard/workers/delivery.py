"""How workers deliver to an outside service: bounded retries, a dead-letter file, per-key order.

* :class:`RetryPolicy` and :func:`deliver_with_retries` retry a delivery with exponential backoff
  and full jitter, up to a bounded number of attempts; an error the service will repeat
  (:class:`PermanentError`, e.g. HTTP 400) stops at once.
* :class:`DeadLetterFile` appends what finally failed as one JSON line each, flushed and fsynced
  before the worker acknowledges the event: "dead-lettered" must survive a crash as surely as
  "delivered" does.
* :class:`KeyedOrder` lets deliveries run in parallel while those sharing a key (the account)
  run one at a time in the order they started.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from switchboard.errors import SwitchboardError

__all__ = [
    "DeadLetterFile",
    "DeliveryError",
    "KeyedOrder",
    "PermanentError",
    "RetryPolicy",
    "deliver_to_each",
    "deliver_with_retries",
]

logger = logging.getLogger("switchboard.workers.delivery")

T = TypeVar("T")


class DeliveryError(SwitchboardError):
    """A delivery failed (one attempt); retrying may help. ``transient`` says whether it may."""

    transient = True


class PermanentError(DeliveryError):
    """A delivery failed in a way a retry would repeat (rejected payload, bad credentials)."""

    transient = False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in each wait.

    Attempt ``n`` (from 1) that fails waits a random time in ``[0, min(max_delay_s,
    base_delay_s * 2 ** (n - 1))]`` before attempt ``n + 1``; full jitter spreads retries of many
    workers hitting one recovering service.
    """

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ValueError("delays must not be negative")

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt ``attempt`` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return (rng or random).uniform(0, ceiling)


async def deliver_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str = "delivery",
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    retry_on: tuple[type[BaseException], ...] = (DeliveryError, OSError, TimeoutError),
) -> T:
    """Run ``attempt`` until it succeeds, a permanent error, or ``policy.max_attempts``.

    Raises:
        PermanentError: the service refused in a way a retry would repeat.
        DeliveryError: the last attempt failed (or any ``retry_on`` error, as the last one).
    """
    for number in range(1, policy.max_attempts + 1):
        try:
            result = await attempt()
            _raise_if_cancelling()
            return result
        except PermanentError:
            raise
        except retry_on as exc:
            if number == policy.max_attempts:
                raise
            wait_s = policy.delay_s(number)
            logger.warning("%s failed (attempt %d/%d, retry in %.2f s): %s",
                           what, number, policy.max_attempts, wait_s, exc)
            await sleep(wait_s)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


async def deliver_to_each(
    targets: Sequence[str],
    send: Callable[[str], Awaitable[bool]],
    policy: RetryPolicy,
    *,
    what: str,
    dead_letter: DeadLetterFile | None,
    dead_record: Callable[[list[str]], dict[str, Any]],
) -> int:
    """Send to every target; retry only the ones not done yet; dead-letter what still failed.

    ``send(target)`` returns ``True`` when the target accepted, ``False`` when it refused for good
    (done, not retried), and raises :class:`DeliveryError` to be retried. ``dead_record`` builds
    the dead-letter record from the targets still pending. Returns how many accepted.

    Raises:
        DeliveryError: some target still failed after the retries, and there is no dead-letter
            file.
        OSError: the dead-letter file cannot be written.
    """
    pending = list(targets)
    accepted = 0

    async def attempt() -> None:
        nonlocal accepted
        for target in list(pending):
            if await send(target):
                accepted += 1
            pending.remove(target)

    try:
        await deliver_with_retries(attempt, policy, what=what)
    except DeliveryError as exc:
        if dead_letter is None:
            raise
        await dead_letter.write(dead_record(pending), str(exc))
    return accepted


def _raise_if_cancelling() -> None:
    # Python 3.11's asyncio.wait_for (used inside aiosmtplib and others) returns a result that
    # raced with a cancel and swallows the cancel (CPython gh-86296, fixed in 3.12); a worker
    # told to stop would then carry on. Honour the pending cancel: the event is simply not
    # acknowledged and comes again (at-least-once).
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class DeadLetterFile:
    """An append-only JSON-lines file of deliveries that finally failed.

    Each record is ``{"time": <unix s>, "error": str, "event": {...}}`` on one line. The write
    is fsynced before :meth:`write` returns, so the event may then be acknowledged.

    Args:
        path: the file; its directory is created if missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = asyncio.Lock()

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    async def write(self, event: dict[str, Any], error: str) -> None:
        """Append one record and fsync it (in a thread: the disk must not stall the loop).

        Raises:
            OSError: the file cannot be written; the event must then not be acknowledged.
        """
        record = {"time": round(time.time(), 3), "error": error, "event": event}
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        async with self._lock:  # whole lines, never interleaved
            await asyncio.to_thread(self._append, line)

    def records(self) -> list[dict[str, Any]]:
        """Read every record back (for tests and for replaying by hand)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]


class KeyedOrder:
    """Serialise work per key while different keys run in parallel.

    ``async with order.turn(key):`` waits for every earlier turn of the same key; turns are
    granted in the order :meth:`turn` was entered (``asyncio.Lock`` wakes waiters FIFO). Locks
    of keys nobody waits on are dropped, so the table stays as small as the work in flight.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s turn for the body of the ``async with``."""
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
