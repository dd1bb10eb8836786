"""One client's protocol state with no I/O: what to send, what each received frame means, resume.

How it works
------------

A shell — ``client/syncshell.py`` under the threaded client, ``client/aioshell.py`` under the
asyncio one — owns the WebSocket, the timers and the user's hooks. It tells one
:class:`ClientSession` what happened and does what the session answers, so the two clients
cannot disagree about the protocol. A *handle* is what the shell settles when a group's reply
comes (a ``Promise``, an ``asyncio.Future``); where a frame is not always due, the session takes
a function that makes one, called only when it is:

==========================================  =================================================
the shell calls                             the session answers
==========================================  =================================================
``connection_made(make_handle)``            ``None`` on the first connection (the shell then
                                            calls its ``opened`` hook); on a reconnection the
                                            resume frame: the set-up commands that succeeded,
                                            watches with ``since=last_event_id``
``send(cmds, handle)``                      an :class:`Outgoing`: the tagged group, its frame
``receive(data)``                           one event: :class:`Reply`, :class:`Pushes`,
                                            :class:`Unmatched` or :class:`Dropped`
``hand_out(pushes)``                        a :class:`HandOut`: whether user code gets them,
                                            which event ids to acknowledge after it returned
``ack(ids, make_handle)``                   the ``ack`` frame to send, if the server must hear
``reack(ids, make_handle)``                 the same for a redelivery processed before
``expire(tags)``                            the group nobody waits for any more (a timeout)
``connection_lost(code, reason, final=…)``  the pending groups, to reject (ConnectionClosed)
==========================================  =================================================

Each command of a group gets the next integer tag (0, 1, 2 … per session, never reused, also
across reconnections, so a late reply from a lost connection can never match a new group), and
the group is sent as one frame. A reply frame matches the group whose tag tuple it echoes, in
order; the group is then forgotten. An empty group sends nothing and is settled at once with
``[]``: the server answers ``[]`` to ``[]`` (docs/protocol.md, "Frames"). Received frames are
decoded by the protocol core (:func:`switchboard.protocol.replies.decode_responses`), pushes
read into typed :class:`Push` values, error responses into :class:`CommandError` values.

Resume (:mod:`switchboard.client.resume`): a watch without ``since`` is sent with
``since=last_event_id``; one with its own ``since`` sets the position when there is none yet.
Replies record the ``connect`` and watch commands that succeeded, to send again on a new
connection. A push is handed to user code once; its event id is acknowledged (``ack``) after the
user's code returned without raising, which moves ``last_event_id``. A group member tells the
server too, and acknowledges again at once a redelivery of what it processed before.

Rules of this module: it imports no I/O, no clock and no threads, and it is not thread-safe (the
threaded shell holds a lock around every call). Only :meth:`ClientSession._move` changes
``state``, always along :data:`TRANSITIONS`. Nothing the peer sends makes it raise; misuse by
the caller does (a command that is not a pair, sending while not open, too many pending groups).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from switchboard.client.errors import (
    CommandError,
    ConnectionClosed,
    InvalidState,
    TooManyPending,
)
from switchboard.client.resume import (
    DEFAULT_MAX_TRACKED_EVENTS,
    WATCH_METHODS,
    EventCursor,
    WatchLog,
)
from switchboard.protocol import wirejson
from switchboard.protocol.messages import Command, Response
from switchboard.protocol.replies import FrameFault, NewMessagePush, decode_responses
from switchboard.protocol.wirejson import JsonLike, JsonValue

__all__ = [
    "DEFAULT_MAX_PENDING_GROUPS",
    "TRANSITIONS",
    "ClientSession",
    "Dropped",
    "Event",
    "Group",
    "HandOut",
    "Outgoing",
    "Push",
    "Pushes",
    "Reply",
    "SessionState",
    "Unmatched",
    "errors_of",
    "is_gap",
]

H = TypeVar("H")

DEFAULT_MAX_PENDING_GROUPS: Final = 10_000
"""Default limit on command groups awaiting a reply at the same time."""

_EXPIRED_REMEMBERED: Final = 1024
"""How many expired groups' tags are remembered to recognise their late replies."""


class SessionState(enum.Enum):
    """Where a client's logical connection stands."""

    CONNECTING = "connecting"
    """No connection yet: nothing can be sent."""
    OPEN = "open"
    DISCONNECTED = "disconnected"
    """The connection was lost and the shell is opening a new one."""
    CLOSED = "closed"
    """Ended for good."""


_S = SessionState
TRANSITIONS: Final[dict[SessionState, frozenset[SessionState]]] = {
    _S.CONNECTING: frozenset({_S.OPEN, _S.CLOSED}),
    _S.OPEN: frozenset({_S.DISCONNECTED, _S.CLOSED}),
    _S.DISCONNECTED: frozenset({_S.OPEN, _S.CLOSED}),
    _S.CLOSED: frozenset(),
}
"""The legal moves (a shell that opens an open session, say, has a bug)."""


@dataclass(frozen=True, slots=True)
class Group(Generic[H]):
    """One request frame awaiting its reply.

    Attributes:
        tags: the tags given to the commands, in order; the key replies are matched by.
        commands: the tagged commands as sent.
        handle: what the shell settles when the reply comes (a Promise or a Future).
    """

    tags: tuple[int, ...]
    commands: tuple[Command, ...]
    handle: H

    def to_json(self) -> list[list[JsonValue]]:
        """The commands as sent, ``[[method, args, tag], ...]`` (the 0.1.3 promise's value)."""
        return [command.to_json() for command in self.commands]


@dataclass(frozen=True, slots=True)
class Outgoing(Generic[H]):
    """A group to send: ``text`` is its request frame, ``None`` for an empty group."""

    group: Group[H]
    text: str | None


@dataclass(frozen=True, slots=True)
class Push:
    """One unsolicited response, e.g. ``Push("newMessage", {"account": …, "messageId": …})``.

    Attributes:
        name: the response name, ``"newMessage"`` for new mail.
        args: the response arguments as sent.
    """

    name: str
    args: JsonValue
    # The typed args, read on first use: the session itself needs only the event id.
    _typed: NewMessagePush | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def new_message(self) -> NewMessagePush | None:
        """A ``newMessage`` push's arguments, typed; ``None`` for other pushes, or arguments
        without a ``messageId``."""
        typed = self._typed
        if typed is None and self.name == "newMessage":
            typed = NewMessagePush.from_args(self.args)
            object.__setattr__(self, "_typed", typed)  # frozen: the one way to cache
        return typed

    @property
    def event_id(self) -> int | None:
        """A ``newMessage`` push's ``eventId`` (the server's durable event id), else ``None``."""
        if self.name != "newMessage" or not isinstance(self.args, dict):
            return None
        event_id = self.args.get("eventId")
        if type(event_id) is not int or not isinstance(self.args.get("messageId"), str):
            return None
        return event_id

    def to_json(self) -> list[JsonValue]:
        """The push as received, ``[name, args]``."""
        return [self.name, self.args]


@dataclass(frozen=True, slots=True)
class Reply(Generic[H]):
    """The reply frame of a pending group; the group is no longer pending."""

    group: Group[H]
    responses: tuple[Response, ...]

    @property
    def errors(self) -> tuple[CommandError, ...]:
        """The error responses of the reply, as :class:`CommandError` values, in order."""
        return errors_of(self.responses)

    def to_json(self) -> list[list[JsonValue]]:
        """The reply frame as received (the 0.1.3 promise's value)."""
        return [response.to_json() for response in self.responses]


@dataclass(frozen=True, slots=True)
class Pushes:
    """A frame of untagged responses: ``newMessage`` pushes, the untagged ``invalidJson``."""

    pushes: tuple[Push, ...]

    def to_json(self) -> list[list[JsonValue]]:
        """The frame as received (what the 0.1.3 ``received_unsolicited`` hook gets)."""
        return [push.to_json() for push in self.pushes]


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A well-formed frame whose tags match no pending group.

    ``late`` is true for the reply to a group this session sent and stopped waiting for (its
    call timed out or was cancelled): expected, not a fault of the server.
    """

    responses: tuple[Response, ...]
    reason: str
    late: bool = False

    def to_json(self) -> list[list[JsonValue]]:
        """The frame as received."""
        return [response.to_json() for response in self.responses]


@dataclass(frozen=True, slots=True)
class Dropped:
    """A frame that is not a usable array of responses; ``reason`` says why."""

    data: str | bytes
    reason: str


Event = Reply[H] | Pushes | Unmatched | Dropped


@dataclass(frozen=True, slots=True)
class HandOut:
    """What to do with the pushes of one frame (or with one push).

    Attributes:
        deliver: give them to user code (``False``: every event in them was processed before).
        event_ids: the event ids handed out now: acknowledge them once user code returned.
        redelivered: ids processed before that a group member acknowledges again at once.
    """

    deliver: bool
    event_ids: tuple[int, ...] = ()
    redelivered: tuple[int, ...] = ()


def errors_of(responses: Iterable[Response]) -> tuple[CommandError, ...]:
    """The error responses among ``responses``, as :class:`CommandError` values, in order."""
    found = (CommandError.from_response(response) for response in responses)
    return tuple(error for error in found if error is not None)


def is_gap(error: CommandError) -> bool:
    """Whether a resumed watch failed because the server's log no longer reaches back."""
    return error.type == "cannotCalculateChanges" and error.method in WATCH_METHODS


class ClientSession(Generic[H]):
    """Tags, pending groups, resume cursor, watch log and acks of one client, with no I/O.

    Args:
        since: the event id processed last (e.g. from a state file); watches resume after it.
        max_pending_groups: how many groups may await replies at once; beyond it
            :meth:`send` raises :class:`TooManyPending` rather than grow without bound.
        max_tracked_events: bound on the event ids the cursor keeps (see ``EventCursor``).
    """

    def __init__(
        self,
        *,
        since: int | None = None,
        max_pending_groups: int = DEFAULT_MAX_PENDING_GROUPS,
        max_tracked_events: int = DEFAULT_MAX_TRACKED_EVENTS,
    ) -> None:
        self.max_pending_groups = max_pending_groups
        self.state = SessionState.CONNECTING
        self.close_code: int | None = None
        self.close_reason = ""
        self.generation = 0
        """How many connections were opened: 1 on the first, more after reconnections."""
        self._next_tag = 0
        self._pending: dict[tuple[int, ...], Group[H]] = {}
        # Tags of groups expired before their reply came, newest last, so that the reply can
        # be told apart from a stray frame; bounded, oldest forgotten first.
        self._expired: dict[tuple[int, ...], None] = {}
        self._cursor = EventCursor(since, max_tracked_events=max_tracked_events)
        self._log = WatchLog()

    @property
    def pending_count(self) -> int:
        """How many groups await a reply."""
        return len(self._pending)

    @property
    def last_event_id(self) -> int | None:
        """The resume position: every event handed out at or below it was acknowledged."""
        return self._cursor.position

    @property
    def group(self) -> str | None:
        """The consumer group a successful watch joined, if any."""
        return self._log.group

    def _move(self, new: SessionState) -> None:
        if new not in TRANSITIONS[self.state]:
            raise InvalidState(f"client session cannot go from {self.state.name} to {new.name}")
        self.state = new

    # -- connection lifetime ----------------------------------------------------------------

    def connection_made(self, handle: Callable[[], H]) -> Outgoing[H] | None:
        """A connection is open; return what to send first, if anything.

        Args:
            handle: makes the handle of the resume group, if there is one.

        Returns:
            ``None`` on the first connection. On a reconnection, the recorded set-up commands
            (watches with ``since=last_event_id``; group watches as they were), or ``None``
            when there are none.

        Raises:
            InvalidState: the session is open already or closed for good (a shell bug).
        """
        self._move(SessionState.OPEN)
        self.generation += 1
        self.close_code, self.close_reason = None, ""
        if self.generation == 1:
            return None
        commands = self._log.replay(self._cursor.position)
        return self._tag(commands, handle()) if commands else None

    def connection_lost(self, code: int | None, reason: str = "", *, final: bool) -> list[Group[H]]:
        """The connection ended; return every pending group, now forgotten.

        Later :meth:`send` calls raise ``ConnectionClosed(code, reason)`` until
        :meth:`connection_made` (unless ``final``). Once closed for good, another call returns
        ``[]`` and keeps the first code.

        Args:
            code: the WebSocket close code (1006 when the peer vanished without a close frame).
            reason: the close reason.
            final: no new connection will follow (no reconnect, or the user closed).
        """
        if self.state is not SessionState.CLOSED:
            self.close_code, self.close_reason = code, reason
            self._move(SessionState.CLOSED if final else SessionState.DISCONNECTED)
        groups = list(self._pending.values())
        self._pending.clear()
        return groups

    # -- commands ---------------------------------------------------------------------------

    def send(self, cmds: Iterable[Sequence[JsonLike]], handle: H) -> Outgoing[H]:
        """Tag and encode one command group; remember it until its reply.

        Watch commands get ``since`` from the resume cursor (see the module docstring).

        Args:
            cmds: ``(method, args)`` pairs.
            handle: stored in the group for the shell to settle later.

        Returns:
            The group and its frame, or no frame for an empty group (settle it at once).

        Raises:
            ValueError: a command is not a ``(method, args)`` pair (a 3-tuple included, as in
                the original), or its args hold NaN or an infinity.
            TypeError: a method is not a string, or args are not JSON-serialisable.
            ConnectionClosed: the session is not open.
            TooManyPending: ``max_pending_groups`` groups already await replies.
        """
        if self.state is not SessionState.OPEN:
            reason = "not connected yet" if self.state is SessionState.CONNECTING else ""
            raise ConnectionClosed(self.close_code, self.close_reason or reason)
        pairs = [_as_pair(cmd) for cmd in cmds]
        return self._tag([self._prepare(method, args) for method, args in pairs], handle)

    def _prepare(self, method: str, args: JsonLike) -> tuple[str, JsonLike]:
        """A watch as a resuming client sends it (``since`` from the cursor), or ``args``."""
        if method in WATCH_METHODS and isinstance(args, dict) and args.get("group") is None:
            explicit = args.get("since")
            if type(explicit) is int:
                if self._cursor.position is None:
                    self._cursor.position = explicit  # the caller processed those already
            elif explicit is None and self._cursor.position is not None:
                return method, {**args, "since": self._cursor.position}
        return method, args

    def _tag(self, pairs: Sequence[tuple[str, JsonLike]], handle: H) -> Outgoing[H]:
        if not pairs:
            return Outgoing(Group((), (), handle), None)
        if len(self._pending) >= self.max_pending_groups:
            raise TooManyPending(f"{len(self._pending)} command groups already await replies")
        first = self._next_tag
        commands = tuple(Command(method, args, first + i) for i, (method, args) in enumerate(pairs))
        # Encode before committing anything, so that bad arguments change nothing.
        text = wirejson.dumps([command.to_json() for command in commands])
        self._next_tag += len(commands)
        group = Group(tuple(range(first, self._next_tag)), commands, handle)
        self._pending[group.tags] = group
        return Outgoing(group, text)

    def expire(self, tags: tuple[int, ...]) -> Group[H] | None:
        """Stop waiting for the group with ``tags``; return it, or ``None`` if already settled."""
        group = self._pending.pop(tags, None)
        if group is not None:
            self._expired[tags] = None
            if len(self._expired) > _EXPIRED_REMEMBERED:
                del self._expired[next(iter(self._expired))]
        return group

    # -- received frames --------------------------------------------------------------------

    def receive(self, data: str | bytes) -> Event[H]:
        """Decode and classify one received WebSocket message (see the module docstring).

        Binary messages are always ``Dropped``: the protocol only uses text frames.

        Raises:
            Nothing on purpose: any exception escaping this method is a bug.
        """
        if isinstance(data, bytes):
            return Dropped(data, "binary frame")
        responses = decode_responses(data)
        if isinstance(responses, FrameFault):
            return Dropped(data, responses.reason)
        tagged = [response.tagged for response in responses]
        if not any(tagged):
            return Pushes(tuple(Push(r.name, r.args) for r in responses))
        if not all(tagged):
            return Unmatched(responses, "tagged and untagged responses mixed")
        # Only exact ints can be our tags: True == 1 and 1.0 == 1 in Python, not on the wire.
        tags = tuple(r.tag for r in responses if isinstance(r.tag, int) and type(r.tag) is not bool)
        if len(tags) != len(responses):
            return Unmatched(responses, "tags that this client never sends")
        group = self._pending.pop(tags, None)
        if group is None:
            if self._expired.pop(tags, False) is None:
                return Unmatched(responses, f"a late reply to tags {tags}", late=True)
            return Unmatched(responses, f"no pending command group with tags {tags}")
        self._log.record(group.commands, responses)
        # A group member sees a share of the ids: the gaps between them are other members'.
        self._cursor.sparse = self._log.group is not None
        return Reply(group, responses)

    # -- pushes and acks --------------------------------------------------------------------

    def hand_out(self, pushes: Sequence[Push]) -> HandOut:
        """Decide whether user code gets ``pushes`` (one frame's); record those it gets.

        A push whose event was processed before (a resumed stream, a group's redelivery) is not
        handed out again; a push with no event id always is, and is never acknowledged.
        """
        ids = [i for i in (push.event_id for push in pushes) if i is not None]
        if not ids:
            return HandOut(deliver=True)
        fresh = tuple(event_id for event_id in ids if self._cursor.hand_out(event_id))
        if fresh:
            return HandOut(deliver=True, event_ids=fresh)
        redelivered = tuple(ids) if self._log.group is not None else ()
        return HandOut(deliver=False, redelivered=redelivered)

    def ack(self, event_ids: Iterable[int], handle: Callable[[], H]) -> Outgoing[H] | None:
        """Record that user code handled ``event_ids``; return the ``ack`` frame, if due.

        Ids already acknowledged are skipped. Only a group member tells the server (a plain
        subscriber's position is its own), and only while open: the server redelivers what it
        did not hear about, and the cursor skips it then. ``handle`` makes the frame's handle,
        only when there is a frame (most pushes need none).
        """
        fresh = [i for i in dict.fromkeys(event_ids) if not self._cursor.is_done(i)]
        for event_id in fresh:
            self._cursor.ack(event_id)
        return self.reack(fresh, handle)

    def reack(self, event_ids: Sequence[int], handle: Callable[[], H]) -> Outgoing[H] | None:
        """The ``ack`` frame for ids acknowledged before, for a group member while open."""
        if not event_ids or self._log.group is None or self.state is not SessionState.OPEN:
            return None
        return self._tag([("ack", {"eventIds": list(event_ids)})], handle())


def _as_pair(cmd: Sequence[JsonLike]) -> tuple[str, JsonLike]:
    if isinstance(cmd, str | bytes) or not isinstance(cmd, Sequence):
        raise ValueError(f"a command is a (method, args) pair, not {cmd!r}")
    if len(cmd) != 2:
        raise ValueError(f"a command is a (method, args) pair; got {len(cmd)} elements: {cmd!r}")
    method, args = cmd
    if not isinstance(method, str):
        raise TypeError(f"a method name is a string, not {method!r}")
    return method, args
