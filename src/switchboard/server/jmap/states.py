"""Each account's JMAP state strings, from the event log, and the change notices push runs on.

How it works: a state is a position in the event log (:mod:`switchboard.jmap.state`). Every
stored event belongs to one account (a new message, a mailbox's UIDVALIDITY change, a mailbox
gone) and changes that account's Mailbox, Email and Thread data — counts, the list, the
threads — so the three types of an account share one position: the id of the account's last
event. The hub hands every batch of stored events to :meth:`LogStates.on_events` (a hub
listener, in the same call that fans ``newMessage`` out), which moves the positions and tells
the push channels at once (:meth:`LogStates.listen`).

Before its first event since the server started, an account's position is the log's end at
start-up (the *floor*): "every change up to here" is true of it, it never goes back across a
restart (event ids only grow), and no log has to be read to start. A restart therefore moves
every account's state once; a client's ``/changes`` from the old state finds nothing new.

The epoch names the log. It is derived from the server's secret key (the one that encrypts
the stored credentials), so it is the same on every node of a cluster sharing a store and
different for a data directory started afresh: a state from elsewhere is recognised as
foreign (``cannotCalculateChanges``), not misread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

from switchboard.jmap.state import StateCodec
from switchboard.model.events import StoredEvent

__all__ = ["LogStates", "StateListener", "epoch_for_key"]

StateListener = Callable[[Mapping[str, int]], None]
"""Told the new position of every account a batch of events changed; must not block or raise."""


def epoch_for_key(secret_key: bytes) -> str:
    """The log's epoch for a server whose secret key is ``secret_key`` (8 base32 characters)."""
    digest = hmac.new(secret_key, b"switchboard jmap state epoch", hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode("ascii").lower()


class LogStates:
    """Accounts' event-log positions as JMAP states (implements ``JmapStates``).

    Args:
        codec: the state codec, with this log's epoch.
        floor: the log's last event id when the server started.
    """

    def __init__(self, codec: StateCodec, floor: int) -> None:
        self._codec = codec
        self._floor = floor
        self._positions: dict[str, int] = {}
        self._listeners: dict[int, StateListener] = {}
        self._ids = itertools.count()

    @property
    def codec(self) -> StateCodec:
        """The codec of this server's event log."""
        return self._codec

    def position(self, account_id: str) -> int:
        """The account's current position."""
        return max(self._floor, self._positions.get(account_id, 0))

    def state(self, account_id: str, data_type: str) -> str:
        """The state string of ``data_type`` in the account (the same for every type)."""
        return self._codec.encode(self.position(account_id))

    def push_state(self, account_ids: Iterable[str]) -> str:
        """One state for a set of accounts (RFC 8887 ``pushState``): their latest position."""
        return self._codec.encode(max((self.position(a) for a in account_ids), default=self._floor))

    def listen(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener`` with every change from now on; returns what stops it."""
        key = next(self._ids)
        self._listeners[key] = listener

        def stop() -> None:
            self._listeners.pop(key, None)

        return stop

    def on_events(self, events: Sequence[StoredEvent]) -> None:
        """Move the positions of the events' accounts and tell the listeners (a hub listener)."""
        changed: dict[str, int] = {}
        for stored in events:
            account_id = stored.event.account_id
            if stored.event_id > self._positions.get(account_id, 0):
                self._positions[account_id] = stored.event_id
                if stored.event_id > self._floor:
                    changed[account_id] = stored.event_id
        if changed:
            for listener in tuple(self._listeners.values()):
                listener(changed)
