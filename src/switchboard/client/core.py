"""The sans-I/O core both Python clients share: tag commands, encode them, classify received frames.

How it works
------------

The threaded client (``client/threaded.py``) and the asyncio client (``client/aio.py``) are thin
shells that only move text frames between a WebSocket and this core, so they cannot disagree about
the protocol (docs/architecture.md, "Conventions": one core, thin shells).

* :meth:`ClientCore.send_group` gives each command of a group the next integer tag (0, 1, 2 … per
  core, never reused), encodes the group as one request frame with ``wirejson.dumps`` and records
  it under the tuple of its tags, together with an opaque *handle* the shell chose (a
  :class:`~switchboard.client.promise.Promise` or an ``asyncio.Future``). An empty group is
  settled at once by the shell with no frame sent: the server answers ``[]`` to ``[]``
  (docs/protocol.md, "Frames"), which is exactly the answer the shell gives without the round trip.
* :meth:`ClientCore.receive_frame` decodes one received frame and classifies it as one event:

  ``Reply``        a reply frame whose tags (the third element of each response, in order) equal
                   the tag tuple of a pending group. The group is forgotten at once (no leak).
  ``Unsolicited``  a frame of untagged responses: ``newMessage`` pushes, and the server's untagged
                   ``invalidJson`` error.
  ``Unmatched``    a well-formed frame with tags that match no pending group: a reply that came
                   after its group timed out, or a peer that mangles tags. Never an exception.
  ``Dropped``      a frame that is not a JSON array of ``[name, args]`` / ``[name, args, tag]``
                   responses (not JSON, binary, an object, an empty array). The shells log it.

* :meth:`ClientCore.forget` drops one group (timeout, cancellation, failed send) and
  :meth:`ClientCore.close` drops them all and returns them so the shell can reject each handle
  with :class:`~switchboard.client.errors.ConnectionClosed`.

Rules of this module: it imports no I/O and no threads; it is not thread-safe (the threaded shell
holds a lock around every call); only :class:`ClientCore` changes its ``state``.

Reconnecting shells keep the same core across connections (:meth:`ClientCore.reopen`): tags keep
increasing, so a late reply from the old connection can never match a new group. What to send
again, and from which event on, is decided by :mod:`switchboard.client.resume`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from switchboard.client.errors import CommandError, ConnectionClosed, TooManyPending
from switchboard.client.resume import event_id_of
from switchboard.protocol import wirejson

__all__ = [
    "DEFAULT_MAX_PENDING_GROUPS",
    "ClientCore",
    "CoreState",
    "Dropped",
    "Group",
    "Push",
    "Reply",
    "Unmatched",
    "Unsolicited",
    "error_from_response",
    "errors_in",
    "pushes_in",
]

H = TypeVar("H")

DEFAULT_MAX_PENDING_GROUPS = 10_000
"""Default limit on command groups awaiting a reply at the same time."""


class CoreState(enum.Enum):
    """Whether the core can still send; CLOSED is final."""

    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Group(Generic[H]):
    """One request frame awaiting its reply.

    Attributes:
        tags: the integer tags given to the commands, in order; the key replies are matched by.
        cmds: the tagged commands as sent, ``[[method, args, tag], ...]``.
        handle: what the shell settles when the reply comes (a Promise or a Future).
    """

    tags: tuple[int, ...]
    cmds: list[list[Any]]
    handle: H


@dataclass(frozen=True, slots=True)
class Reply(Generic[H]):
    """The reply frame of a pending group; the group is no longer pending."""

    group: Group[H]
    resps: list[list[Any]]


@dataclass(frozen=True, slots=True)
class Unsolicited:
    """A frame of untagged responses, the whole frame as received (e.g. one ``newMessage``)."""

    resps: list[list[Any]]


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A well-formed frame whose tags match no pending group; ``reason`` says why."""

    resps: list[list[Any]]
    reason: str


@dataclass(frozen=True, slots=True)
class Dropped:
    """A frame that is not a usable array of responses; ``reason`` says why."""

    data: str | bytes
    reason: str


@dataclass(frozen=True, slots=True)
class Push:
    """One unsolicited response, e.g. ``Push("newMessage", {"account": …, "messageId": …})``.

    Attributes:
        name: the response name, ``"newMessage"`` for new mail.
        args: the response arguments as sent (normally a dict).
    """

    name: str
    args: Any

    @property
    def event_id(self) -> int | None:
        """The push's ``eventId`` (the server's durable event id), or ``None`` if it has none."""
        return event_id_of(self.args)


Event = Reply[H] | Unsolicited | Unmatched | Dropped


class ClientCore(Generic[H]):
    """Tag allocation and reply matching for one client, with no I/O.

    Args:
        max_pending_groups: how many groups may await replies at once; beyond it
            :meth:`send_group` raises :class:`TooManyPending` instead of growing without bound.
    """

    def __init__(self, *, max_pending_groups: int = DEFAULT_MAX_PENDING_GROUPS) -> None:
        self.max_pending_groups = max_pending_groups
        self.state = CoreState.OPEN
        self.close_code: int | None = None
        self.close_reason = ""
        self._next_tag = 0
        self._pending: dict[tuple[int, ...], Group[H]] = {}

    @property
    def pending_count(self) -> int:
        """How many groups await a reply."""
        return len(self._pending)

    def send_group(self, cmds: Iterable[Sequence[Any]], handle: H) -> tuple[Group[H], str | None]:
        """Tag and encode one command group and remember it until its reply.

        Args:
            cmds: ``(method, args)`` pairs.
            handle: stored in the group for the shell to settle later.

        Returns:
            The group, and the request frame to send, or ``None`` for an empty group (send
            nothing; the shell settles it at once with ``([], [])``, see the module docstring).

        Raises:
            ValueError: a command is not a ``(method, args)`` pair (a 3-tuple included, as in the
                original), or its args hold NaN/infinity.
            TypeError: a method is not a string, or args are not JSON-serialisable.
            ConnectionClosed: the core is closed.
            TooManyPending: ``max_pending_groups`` groups already await replies.
        """
        if self.state is CoreState.CLOSED:
            raise ConnectionClosed(self.close_code, self.close_reason)
        pairs = [_as_pair(cmd) for cmd in cmds]
        if not pairs:
            return Group((), [], handle), None
        if len(self._pending) >= self.max_pending_groups:
            raise TooManyPending(f"{len(self._pending)} command groups already await replies")
        tags = tuple(range(self._next_tag, self._next_tag + len(pairs)))
        tagged = [[method, args, tag] for (method, args), tag in zip(pairs, tags, strict=True)]
        text = wirejson.dumps(tagged)  # encode before committing, so a bad arg changes nothing
        self._next_tag += len(pairs)
        group = Group(tags, tagged, handle)
        self._pending[tags] = group
        return group, text

    def receive_frame(self, data: str | bytes) -> Event[H]:
        """Decode and classify one received WebSocket message (see the module docstring).

        Binary messages are always ``Dropped``: the protocol only uses text frames.
        Never raises for anything the peer sends.
        """
        if isinstance(data, bytes):
            return Dropped(data, "binary frame")
        try:
            frame = wirejson.loads(data)
        except ValueError as exc:
            return Dropped(data, f"not JSON: {exc}")
        if not isinstance(frame, list):
            return Dropped(data, "not a JSON array")
        if not frame:
            # Only an empty request gets an empty reply, and this client never sends one.
            return Dropped(data, "empty frame")
        if not all(_is_response(resp) for resp in frame):
            return Dropped(data, "not an array of [name, args, tag?] responses")
        if all(len(resp) == 2 for resp in frame):
            return Unsolicited(frame)
        if any(len(resp) == 2 for resp in frame):
            return Unmatched(frame, "tagged and untagged responses mixed")
        tags = [resp[2] for resp in frame]
        # Only exact ints can be our tags: True == 1 and 1.0 == 1 in Python, but not on the wire.
        if not all(type(tag) is int for tag in tags):
            return Unmatched(frame, "tags that this client never sends")
        group = self._pending.pop(tuple(tags), None)
        if group is None:
            return Unmatched(frame, f"no pending command group with tags {tuple(tags)}")
        return Reply(group, frame)

    def forget(self, tags: tuple[int, ...]) -> Group[H] | None:
        """Stop waiting for the group with ``tags``; return it, or ``None`` if already settled."""
        return self._pending.pop(tags, None)

    def reopen(self) -> None:
        """Make a closed core usable again for a new connection (reconnecting shells).

        Tags keep counting from where they were, so a late reply from the old connection can
        never match a group sent on the new one.
        """
        self.state = CoreState.OPEN
        self.close_code, self.close_reason = None, ""

    def close(self, code: int | None, reason: str = "") -> list[Group[H]]:
        """Mark the connection closed and return every pending group, now forgotten.

        Later :meth:`send_group` calls raise ``ConnectionClosed(code, reason)``. Closing twice
        returns ``[]`` the second time and keeps the first code.
        """
        if self.state is not CoreState.CLOSED:
            self.state = CoreState.CLOSED
            self.close_code, self.close_reason = code, reason
        groups = list(self._pending.values())
        self._pending.clear()
        return groups


def _as_pair(cmd: Sequence[Any]) -> tuple[str, Any]:
    if isinstance(cmd, str | bytes) or not isinstance(cmd, Sequence):
        raise ValueError(f"a command is a (method, args) pair, not {cmd!r}")
    if len(cmd) != 2:
        raise ValueError(f"a command is a (method, args) pair; got {len(cmd)} elements: {cmd!r}")
    method, args = cmd
    if not isinstance(method, str):
        raise TypeError(f"a method name is a string, not {method!r}")
    return method, args


def _is_response(resp: Any) -> bool:
    return isinstance(resp, list) and len(resp) in (2, 3) and isinstance(resp[0], str)


def errors_in(resps: Iterable[Any]) -> list[list[Any]]:
    """Return the ``["error", {...}, tag?]`` responses of a reply frame, in order.

    Error responses fulfil a ``send_cmds`` promise like any other reply (the original's
    contract); this finds them: ``cmds, resps = promise.get(); if errors_in(resps): ...``.
    """
    return [r for r in resps if isinstance(r, list) and len(r) >= 2 and r[0] == "error"]


def error_from_response(resp: Sequence[Any]) -> CommandError | None:
    """Return a :class:`CommandError` for an error response, ``None`` for any other response."""
    if len(resp) < 2 or resp[0] != "error":
        return None
    args = resp[1] if isinstance(resp[1], dict) else {}
    error_type = args.get("type")
    description = args.get("description")
    return CommandError(
        error_type if isinstance(error_type, str) else None,
        method=args.get("method"),
        arguments=args.get("arguments"),
        description=description if isinstance(description, str) else None,
    )


def pushes_in(resps: Iterable[Sequence[Any]]) -> list[Push]:
    """Turn the responses of an ``Unsolicited`` frame into :class:`Push` values."""
    return [Push(resp[0], resp[1]) for resp in resps]
