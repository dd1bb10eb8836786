"""The sans-I/O half of reconnect, resume and ack: backoff delays, the event cursor, watch replay.

The client session (:mod:`switchboard.client.session`) holds one of each, so both shells
(threaded and asyncio) resume the same way:

* :class:`Backoff` computes the delay before each reconnection attempt: exponential, capped, with
  full jitter so that many workers cut off by one server restart do not come back in lockstep.
  The random source is passed in; nothing here sleeps.
* :class:`EventCursor` remembers which events were handed to user code and which of them were
  acknowledged (the handler returned without raising). Its :attr:`~EventCursor.position` is the
  resume point: the highest event id such that every event handed out at or below it was
  acknowledged. A handler that raises leaves its event outstanding, so the position never passes
  it and a resumed stream (``since=position``) delivers it again. Events acknowledged above the
  position are remembered, so such a replay does not hand them to user code a second time. A
  group member sees only a share of the ids, so no position can speak for the ids between them:
  in *sparse* mode (set when the client joins a group) the cursor remembers the ids it
  acknowledged, a bounded number of them, and only those count as done.
* :class:`WatchLog` records the commands that set a session up (``connect``, ``watchAll``,
  ``watchMailboxes``) as the user sent them, and rebuilds them for a new connection: watches get
  ``since=position`` — or, when they joined a group, are sent as they were (the group's durable
  position on the server rules, and the server ignores ``since`` there).

Rules of this module: no I/O, no clocks, no threads; the session's owner holds the locks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from switchboard.protocol.messages import Command, Response
from switchboard.protocol.wirejson import JsonValue

__all__ = [
    "DEFAULT_MAX_TRACKED_EVENTS",
    "RESUMABLE_METHODS",
    "WATCH_METHODS",
    "Backoff",
    "EventCursor",
    "WatchLog",
    "with_since",
]

logger = logging.getLogger("switchboard.client")

DEFAULT_MAX_TRACKED_EVENTS: Final = 100_000
"""Default limit on event ids an :class:`EventCursor` keeps above its position."""

WATCH_METHODS: Final = frozenset({"watchAll", "watchMailboxes"})
"""Commands that subscribe to pushes and take ``since`` / ``group``."""
RESUMABLE_METHODS: Final = frozenset({"connect", *WATCH_METHODS})
"""Commands a reconnecting client sends again, in the order they were first sent."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, capped (the "full jitter" scheme).

    Attempt ``n`` (from 0) waits a uniformly random time in ``[min_s, min(max_s, first_s *
    factor**n)]``.

    Attributes:
        first_s: the ceiling of the first delay.
        max_s: the cap on every delay.
        factor: how much the ceiling grows per failed attempt.
        min_s: the floor of every delay, so a server that refuses at once is not hammered.
    """

    first_s: float = 0.1
    max_s: float = 10.0
    factor: float = 2.0
    min_s: float = 0.01

    def __post_init__(self) -> None:
        if not 0 <= self.min_s <= self.first_s <= self.max_s or self.factor < 1:
            raise ValueError(f"need 0 <= min_s <= first_s <= max_s and factor >= 1: {self!r}")

    def delay_s(self, attempt: int, random: Callable[[], float]) -> float:
        """The delay before reconnection attempt ``attempt`` (0 for the first).

        Args:
            attempt: how many attempts failed since the connection was lost.
            random: a source of floats in ``[0, 1)``, e.g. ``random.random``.
        """
        # Cap the exponent too: factor**attempt overflows a float after ~1000 attempts.
        ceiling = min(self.max_s, self.first_s * self.factor ** min(attempt, 64))
        return self.min_s + (ceiling - self.min_s) * random()


class EventCursor:
    """Which events user code has been handed and acknowledged; the resume position.

    Args:
        since: the position to start from (e.g. read from a worker's state file); events at or
            below it are treated as already processed.
        max_tracked_events: how many acknowledged ids above the position, plus outstanding ids,
            are kept. When a handler keeps failing on one event while thousands of later ones
            succeed, this bound is reached: the oldest outstanding event is then given up (logged
            at ERROR) and the position moves on, rather than growing memory without end.
    """

    def __init__(
        self, since: int | None = None, *, max_tracked_events: int = DEFAULT_MAX_TRACKED_EVENTS
    ) -> None:
        self.position = since
        self.max_tracked_events = max_tracked_events
        self.sparse = False
        """Group mode: only ids acknowledged here are done (see the module docstring)."""
        self._outstanding: set[int] = set()
        self._acked_above: set[int] = set()
        # Sparse mode: acknowledged ids, oldest first (a dict is an ordered set).
        self._acked_recent: dict[int, None] = {}

    @property
    def outstanding(self) -> frozenset[int]:
        """Event ids handed out and neither acknowledged nor given up."""
        return frozenset(self._outstanding)

    def is_done(self, event_id: int) -> bool:
        """Whether ``event_id`` was already processed (at or below the position, or acked)."""
        if self.sparse:
            return event_id in self._acked_recent
        if self.position is not None and event_id <= self.position:
            return True
        return event_id in self._acked_above

    def hand_out(self, event_id: int) -> bool:
        """Record that ``event_id`` is given to user code; ``False`` if it was already processed.

        A redelivery of an event still outstanding (its handler failed, or the connection was
        lost while it ran) is handed out again.
        """
        if self.is_done(event_id):
            return False
        self._outstanding.add(event_id)
        return True

    def ack(self, event_id: int) -> bool:
        """Record that the handler of ``event_id`` returned; ``True`` if the position moved."""
        before = self.position
        self._outstanding.discard(event_id)
        if self.sparse:
            self._acked_recent[event_id] = None
            while len(self._acked_recent) > self.max_tracked_events:
                del self._acked_recent[next(iter(self._acked_recent))]
            self.position = max(event_id, self.position or 0)
            return self.position != before
        if not self.is_done(event_id):
            self._acked_above.add(event_id)
        self._advance()
        if len(self._outstanding) + len(self._acked_above) > self.max_tracked_events:
            stuck = min(self._outstanding, default=None)
            if stuck is not None:
                logger.error("giving up on event %d: its handler never succeeded", stuck)
                self._outstanding.discard(stuck)
                self._advance()
        return self.position != before

    def _advance(self) -> None:
        lowest_open = min(self._outstanding, default=None)
        movable = [i for i in self._acked_above if lowest_open is None or i < lowest_open]
        if movable:
            self.position = max(movable)
            self._acked_above.difference_update(movable)


def with_since(args: JsonValue, since: int | None) -> JsonValue:
    """``args`` of a watch command with ``since`` set, unless it has a ``group`` or no position.

    Args that are not an object are returned unchanged (the server answers them with an error).
    """
    if since is None or not isinstance(args, dict) or args.get("group") is not None:
        return args
    return {**args, "since": since}


class WatchLog:
    """The set-up commands of a session, to send again on a new connection.

    A ``connect`` is kept once per distinct argument object; a watch command once per distinct
    arguments without ``since`` (re-sending the same watch twice would replay its events twice).
    """

    def __init__(self) -> None:
        self._commands: list[tuple[str, JsonValue]] = []
        # A worker may connect 10,000 accounts: membership and the group are kept up to date
        # as commands are recorded, never found by scanning the list (which made recording
        # quadratic and cost every received push a scan; bench/capacity.py).
        self._keys: set[str] = set()
        self._group: str | None = None

    @property
    def commands(self) -> list[tuple[str, JsonValue]]:
        """The recorded ``(method, args)`` pairs, in the order first sent."""
        return list(self._commands)

    @property
    def group(self) -> str | None:
        """The consumer group a recorded watch joined, if any."""
        return self._group

    def record(self, commands: Sequence[Command], responses: Sequence[Response]) -> None:
        """Remember the set-up commands of a group whose responses were not errors."""
        for command, response in zip(commands, responses, strict=False):
            method, args = command.method, command.args
            if method not in RESUMABLE_METHODS or response.name == "error":
                continue
            key = (method, _without_since(args))
            # Canonical JSON: equal argument objects give equal text whatever their key order.
            text = json.dumps(key, sort_keys=True, separators=(",", ":"), default=repr)
            if text in self._keys:
                continue
            self._keys.add(text)
            self._commands.append(key)
            if self._group is None and method in WATCH_METHODS and isinstance(args, dict):
                group = args.get("group")
                if isinstance(group, str):
                    self._group = group

    def replay(self, since: int | None) -> list[tuple[str, JsonValue]]:
        """The commands to send on a new connection, watches resuming after ``since``."""
        return [
            (method, with_since(args, since) if method in WATCH_METHODS else args)
            for method, args in self._commands
        ]


def _without_since(args: JsonValue) -> JsonValue:
    if isinstance(args, dict) and "since" in args:
        return {k: v for k, v in args.items() if k != "since"}
    return args
