"""The cross-node event path: read the shared log after a NOTIFY and publish to the local hub.

With several nodes, a node's engine records events but does NOT publish them itself (give it
a :class:`NullSink`); every event, local or not, reaches the node's hub through this tail. One
path means each event is published exactly once per node, in id order, whichever node watched
the account. The log can be tailed by "id above the last one seen" because the PostgreSQL store
makes ids visible in commit order (see :mod:`switchboard.store.postgres`).

Wake-ups come from ``LISTEN switchboard_events``; a poll every ``poll_interval_s`` covers a
notification lost while the listening connection was being re-established.

The tail never stops by itself: any failure to listen or to read (the database restarting, a
timeout) is logged once, shown on ``/health`` (:meth:`EventTail.status`: ``reconnecting``, the
error, the position), and retried with a growing delay (up to ``max_retry_s``); once the
database answers again it listens afresh and replays everything after its position, and says
so in the log. The position only moves after the events were handed to the sink.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Sequence

import asyncpg

from switchboard.model.events import StoredEvent
from switchboard.model.store import EventSink, Store
from switchboard.store.channels import EVENTS_CHANNEL
from switchboard.store.errors import StoreError

__all__ = ["EventTail", "NullSink", "TailState"]

logger = logging.getLogger("switchboard.cluster")


_DB_ERRORS = (StoreError, OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class TailState(enum.StrEnum):
    """Whether the tail follows the log (``connected``) or retries after a failure."""

    CONNECTED = "connected"
    RECONNECTING = "reconnecting"


class NullSink:
    """An engine sink that drops events: in a cluster the :class:`EventTail` publishes them."""

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """Do nothing; the event is durable and the tail will read it back."""


class EventTail:
    """Follows the shared event log from the id it starts at and publishes to ``sink``.

    Args:
        store: the shared store (its ``events_after`` is read).
        dsn: the database to LISTEN on (the store's).
        sink: the local fan-out (the server's ``Hub``).
        batch_limit: most events read per query.
        poll_interval_s: the longest a missed notification can delay delivery.
        connect_timeout_s: the limit for (re)opening the listening connection.
        max_retry_s: the longest wait between two attempts while the database fails.
        clock: monotonic seconds (injected for tests).
    """

    def __init__(
        self,
        store: Store,
        dsn: str,
        sink: EventSink,
        *,
        batch_limit: int = 500,
        poll_interval_s: float = 1.0,
        connect_timeout_s: float = 10.0,
        max_retry_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._dsn = dsn
        self._sink = sink
        self._batch_limit = batch_limit
        self._poll_interval_s = poll_interval_s
        self._connect_timeout_s = connect_timeout_s
        self._max_retry_s = max(max_retry_s, poll_interval_s)
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self.last_seen = 0
        """The id of the last event published."""
        self.state = TailState.CONNECTED
        self.last_error: str | None = None
        """The latest failure (kept after recovery, for /health)."""
        self.failing_since: float | None = None
        self.recoveries = 0
        """How many times the tail resumed after failing."""

    async def start(self, after_id: int | None = None) -> None:
        """Begin after ``after_id`` (the log's current end when ``None``) and LISTEN.

        Raises:
            StoreError: the store or the database cannot be reached.
        """
        self.last_seen = await self._store.last_event_id() if after_id is None else after_id
        await self._listen()
        self._task = asyncio.create_task(self._run(), name="event-tail")

    async def stop(self) -> None:
        """Stop following and close the listening connection."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._close_listener()

    async def _listen(self) -> None:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=self._connect_timeout_s)
            await conn.add_listener(EVENTS_CHANNEL, self._notified)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(f"cannot LISTEN on PostgreSQL: {exc}") from exc
        self._listener = conn
        # Anything committed before LISTEN took effect is caught by the read that follows.
        self._wake.set()

    def _notified(self, *_args: object) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            conn.terminate()

    def status(self) -> dict[str, object]:
        """The tail for ``/health``: state, position, last error, how long it has failed."""
        since = self.failing_since
        return {
            "state": self.state.value,
            "position": self.last_seen,
            "lastError": self.last_error,
            "failingForS": None if since is None else round(self._clock() - since, 1),
            "recoveries": self.recoveries,
        }

    async def _run(self) -> None:
        delay_s = self._poll_interval_s
        while True:
            try:
                async with asyncio.timeout(delay_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                if self._listener is None or self._listener.is_closed():
                    await self._close_listener()
                    await self._listen()
                if self.state is TailState.RECONNECTING:
                    self._resuming()
                await self.drain()
            except _DB_ERRORS as exc:
                self._failed(f"{type(exc).__name__}: {exc}")
                delay_s = min(delay_s * 2, self._max_retry_s)
                continue
            except Exception as exc:  # a bug, but the tail must never stop silently
                logger.exception("event tail: unexpected failure; retrying")
                self._failed(f"{type(exc).__name__}: {exc}")
                delay_s = self._max_retry_s
                continue
            delay_s = self._poll_interval_s

    def _failed(self, error: str) -> None:
        if self.state is TailState.CONNECTED:
            self.state = TailState.RECONNECTING
            self.failing_since = self._clock()
            logger.warning(
                "event tail: %s; reconnecting, will replay from event %d", error, self.last_seen
            )
        elif error != self.last_error:
            logger.warning("event tail: still failing: %s", error)
        self.last_error = error

    def _resuming(self) -> None:
        down_s = self._clock() - (self.failing_since or self._clock())
        logger.warning(
            "event tail: reconnected after %.1f s; replaying from event %d",
            down_s,
            self.last_seen,
        )
        self.state = TailState.CONNECTED
        self.failing_since = None
        self.recoveries += 1

    async def drain(self) -> int:
        """Publish everything after :attr:`last_seen`; return how many events were published.

        Raises:
            StoreError: the log cannot be read.
        """
        published = 0
        while True:
            batch = await self._store.events_after(self.last_seen, limit=self._batch_limit)
            if not batch:
                return published
            self._sink.publish(batch)
            self.last_seen = batch[-1].event_id
            published += len(batch)
