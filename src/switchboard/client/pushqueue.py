"""The asyncio client's bounded queue of pushes, with no I/O: what ``events()`` hands out next.

How it works: pushes wait in arrival order, at most ``max_queue`` of them. A push that arrives
when the queue is full is dropped and counted, and so is every later push of the same
connection: handing those out would move the resume position past the dropped one. Once the
consumer has taken every push that was kept, :meth:`PushQueue.resync_due` says so, once: the
shell then closes the connection so that the reconnection resumes after the last acknowledged
event and the dropped pushes come again. When a connection is lost and another follows, the
pushes still queued are dropped too (the resumed stream sends them again); errors meant for the
consumer stay. Once the connection has ended for good, :meth:`PushQueue.get` returns
:data:`END` after the last item, to every consumer that asks.

The reader never waits for the consumer: a blocked reader would also stop the replies that
``call()`` waits for.

Rules of this module: no I/O, no clock; not thread-safe (one event loop owns it).
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from typing import Final

from switchboard.client.errors import CommandError
from switchboard.client.session import Push

__all__ = ["DEFAULT_MAX_QUEUE", "END", "End", "PushQueue"]

logger = logging.getLogger("switchboard.aio")

DEFAULT_MAX_QUEUE: Final = 1024
"""Default number of pushes kept for ``events()`` before new ones are dropped."""


class End(enum.Enum):
    """The type of :data:`END`."""

    END = "end"


END: Final = End.END
"""What :meth:`PushQueue.get` returns once the connection has ended for good and all is taken."""


class PushQueue:
    """Pushes (and errors) waiting for the consumer of ``events()``.

    Args:
        max_queue: how many pushes wait at most; later ones are dropped until a resync.
    """

    def __init__(self, max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        self.max_queue = max_queue
        self.dropped = 0
        """How many pushes were dropped because the queue held ``max_queue`` already."""
        self._items: deque[Push | CommandError] = deque()
        self._pushes = 0  # how many of the items are pushes (errors do not count)
        self._overflowed = False  # this connection dropped a push: drop the rest too
        self._finished = False

    def put(self, push: Push) -> bool:
        """Queue ``push``; ``False`` if it was dropped (see the module docstring)."""
        if self._overflowed or self._pushes >= self.max_queue:
            self.dropped += 1
            if not self._overflowed:
                self._overflowed = True
                logger.warning("push queue full (%d), dropped %r and what follows until resync",
                               self.max_queue, push)
            return False
        self._items.append(push)
        self._pushes += 1
        return True

    def put_error(self, error: CommandError) -> None:
        """Queue an error for the consumer (``events()`` raises it in turn)."""
        self._items.append(error)

    def get(self) -> Push | CommandError | End | None:
        """The next item; ``None`` when empty for now, :data:`END` once nothing more can come."""
        if self._items:
            item = self._items.popleft()
            if isinstance(item, Push):
                self._pushes -= 1
            return item
        return END if self._finished else None

    def resync_due(self) -> bool:
        """Whether pushes were dropped and every kept one was taken; true once per overflow."""
        if self._overflowed and not self._pushes:
            self._overflowed = False
            return True
        return False

    def connection_lost(self, *, final: bool) -> None:
        """The connection ended; ``final`` if no other follows.

        Without ``final``, queued pushes are dropped (the resumed stream resends them) and the
        overflow is forgotten (the resumed stream has no gap). With it, what is queued is still
        handed out, then :data:`END`.
        """
        if final:
            self._finished = True
            return
        self._items = deque(item for item in self._items if not isinstance(item, Push))
        self._pushes = 0
        self._overflowed = False
