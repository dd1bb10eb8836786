"""The open JMAP push connections: WebSockets (RFC 8887) and EventSource streams (RFC 8620 §7.3).

Two readers need them, as they need the 2014 sessions: the revocation watch
(:class:`~switchboard.server.revocation.RevocationWatch`), which ends the ones opened with a
token revoked since, and ``/metrics``, which counts them by kind. A connection is added when
it opens and leaves when it ends; the set is weak, so a connection the HTTP layer dropped
without its ``aclose`` cannot stay counted.
"""

from __future__ import annotations

import collections
import weakref
from collections.abc import Iterator
from typing import Final, Protocol

from switchboard.server.revocation import Revocable

__all__ = ["EVENTSOURCE", "KINDS", "WEBSOCKET", "OpenStreams", "Stream"]

WEBSOCKET: Final = "websocket"
EVENTSOURCE: Final = "eventsource"
KINDS: Final = (WEBSOCKET, EVENTSOURCE)


class Stream(Revocable, Protocol):
    """An open push connection, as the watch and the metrics see it."""

    @property
    def kind(self) -> str:
        """:data:`WEBSOCKET` or :data:`EVENTSOURCE`."""
        ...


class OpenStreams:
    """The open JMAP push connections of one server."""

    def __init__(self) -> None:
        self._open: weakref.WeakSet[Stream] = weakref.WeakSet()

    def add(self, stream: Stream) -> None:
        """``stream`` opened."""
        self._open.add(stream)

    def discard(self, stream: Stream) -> None:
        """``stream`` ended (nothing happens if it was not there)."""
        self._open.discard(stream)

    def __iter__(self) -> Iterator[Stream]:
        return iter(list(self._open))

    def counts(self) -> dict[str, int]:
        """How many are open, by kind (every kind present, 0 when none)."""
        by_kind = collections.Counter(s.kind for s in self if s.is_open)
        return {kind: by_kind[kind] for kind in KINDS}
