"""JMAP state strings from event-log positions, and the pages a Foo/changes call returns.

How it works: Switchboard's event log numbers every event with an increasing integer. The
state of a data type (Mailbox, Email, Thread) in an account is a position in that log: "all
changes up to here". A state string is ``EPOCH:POSITION``, where the epoch names the log
(the server takes it from its store, so a wiped or different data directory is detected
instead of misread). When a /changes page must stop inside one event (more changed ids than
``maxChanges``), the state is ``EPOCH:POSITION.OFFSET``: everything before ``POSITION`` plus
the first ``OFFSET`` changes of the event at ``POSITION``, in the canonical order below.

:func:`changes_since` is the whole /changes computation (RFC 8620 §5.2) minus the reading of
the log:

- a state that does not parse, carries another epoch, lies ahead of the current position, or
  is older than the oldest position the log still covers → ``cannotCalculateChanges``;
- changes are taken in the canonical order (position, object id, created < updated <
  destroyed) and folded per id as §5.2 recommends: created-then-updated is *created*,
  updated-then-destroyed is *destroyed*, created-then-destroyed is left out;
- at most ``maxChanges`` ids are returned; the page then ends early with ``hasMoreChanges``
  and an intermediate ``newState`` from which the next call continues exactly.

A ``queryState`` for /query and /queryChanges can use the same codec.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from switchboard.jmap.errors import CannotCalculateChanges, InvalidArguments, describe
from switchboard.jmap.jsonvalue import JsonObject

__all__ = [
    "Change",
    "ChangeKind",
    "ChangesPage",
    "Cursor",
    "StateCodec",
    "changes_since",
]

_EPOCH: Final = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)
# Canonical decimals only (no sign, no leading zero), bounded so int() never sees a long string.
_STATE: Final = re.compile(r"(0|[1-9][0-9]{0,18})(?:\.([1-9][0-9]{0,8}))?", re.ASCII)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A point in the event log.

    Attributes:
        position: with ``offset`` 0, every event up to and including this position; with
            ``offset`` > 0, every event before it.
        offset: how many changes of the event at ``position`` are included (canonical order).

    Raises:
        ValueError: a negative number.
    """

    position: int
    offset: int = 0

    def __post_init__(self) -> None:
        if self.position < 0 or self.offset < 0:
            raise ValueError(f"a cursor is never negative: {self!r}")


@dataclass(frozen=True, slots=True)
class StateCodec:
    """Turns cursors into state strings and back, for one event log.

    Attributes:
        epoch: 1–32 characters of ``[A-Za-z0-9_-]`` naming the log.

    Raises:
        ValueError: ``epoch`` breaks that rule.
    """

    epoch: str

    def __post_init__(self) -> None:
        if _EPOCH.fullmatch(self.epoch) is None:
            raise ValueError(f"an epoch is 1-32 characters of [A-Za-z0-9_-]: {self.epoch!r}")

    def encode(self, cursor: Cursor | int) -> str:
        """The state string for a cursor, or for "everything up to position" given an int."""
        if isinstance(cursor, int):
            cursor = Cursor(cursor)
        suffix = f".{cursor.offset}" if cursor.offset else ""
        return f"{self.epoch}:{cursor.position}{suffix}"

    def decode(self, state: str) -> Cursor:
        """Parse a state string this codec wrote.

        Raises:
            CannotCalculateChanges: ``state`` is malformed or belongs to another log.
        """
        epoch, separator, rest = state.rpartition(":") if isinstance(state, str) else ("", "", "")
        match = _STATE.fullmatch(rest)
        if not separator or epoch != self.epoch or match is None:
            raise CannotCalculateChanges(f"{describe(state)} is not a state of this server")
        return Cursor(int(match.group(1)), int(match.group(2) or 0))


class ChangeKind(enum.IntEnum):
    """What happened to an object; the value orders changes to one id within one event."""

    CREATED = 0
    UPDATED = 1
    DESTROYED = 2


@dataclass(frozen=True, slots=True)
class Change:
    """One object changed by the event at ``position``."""

    position: int
    object_id: str
    kind: ChangeKind


@dataclass(frozen=True, slots=True)
class ChangesPage:
    """The result of a Foo/changes call (RFC 8620 §5.2)."""

    old_state: str
    new_state: str
    has_more_changes: bool
    created: tuple[str, ...]
    updated: tuple[str, ...]
    destroyed: tuple[str, ...]

    def to_json(self, account_id: str) -> JsonObject:
        """The Foo/changes response arguments."""
        return {
            "accountId": account_id,
            "oldState": self.old_state,
            "newState": self.new_state,
            "hasMoreChanges": self.has_more_changes,
            "created": list(self.created),
            "updated": list(self.updated),
            "destroyed": list(self.destroyed),
        }


def _fold(first: ChangeKind, last: ChangeKind) -> ChangeKind | None:
    """The net change of an id whose first and last changes in the page are given (§5.2)."""
    if first is ChangeKind.CREATED:
        return None if last is ChangeKind.DESTROYED else ChangeKind.CREATED
    if last is ChangeKind.DESTROYED:
        return ChangeKind.DESTROYED
    # updated...updated, or destroyed-then-created (ids are never reused, so only a
    # misbehaving store does that): the client must refetch the object either way.
    return ChangeKind.UPDATED


def changes_since(
    codec: StateCodec,
    since_state: str,
    changes: Iterable[Change],
    *,
    oldest: int,
    current: int,
    max_changes: int | None = None,
) -> ChangesPage:
    """Compute a /changes page.

    Args:
        codec: the state codec of this log.
        since_state: the client's ``sinceState``.
        changes: the changes of this data type and account with positions after the
            since-state's position (extra ones are ignored), in any order.
        oldest: the oldest position the log can still compute changes from.
        current: the current position of this data type, the ``newState`` when complete.
        max_changes: the client's ``maxChanges``, or ``None``.

    Raises:
        InvalidArguments: ``max_changes`` is not a positive integer.
        CannotCalculateChanges: the since-state is malformed, from another log, from the
            future, or older than ``oldest``.
    """
    if max_changes is not None and (isinstance(max_changes, bool) or max_changes < 1):
        raise InvalidArguments("maxChanges must be a positive integer or null")
    since = codec.decode(since_state)
    # A mid-event cursor also needs the event at its position, so that one must be kept.
    if since.position < oldest or (since.offset and since.position == oldest):
        raise CannotCalculateChanges("that state is older than the event log keeps")
    if since.position > current:
        raise CannotCalculateChanges("that state is not one this server reached")
    ordered = sorted(
        (c for c in changes if since.position <= c.position <= current),
        key=lambda c: (c.position, c.object_id, c.kind),
    )
    # Drop what the since-state already covers: all of its position, or its first changes.
    at_since = [c for c in ordered if c.position == since.position]
    pending = at_since[since.offset :] if since.offset else []
    pending += [c for c in ordered if c.position > since.position]

    net: dict[str, tuple[ChangeKind, ChangeKind]] = {}
    count = taken = 0
    for change in pending:
        previous = net.get(change.object_id)
        folded = (previous[0] if previous else change.kind, change.kind)
        counted_before = previous is not None and _fold(*previous) is not None
        delta = int(_fold(*folded) is not None) - int(counted_before)
        if max_changes is not None and count + delta > max_changes:
            break
        net[change.object_id] = folded
        count += delta
        taken += 1

    if taken == len(pending):
        new_state, more = codec.encode(current), False
    else:
        # One change adds at most one id and max_changes >= 1, so the first always fits.
        assert taken > 0
        last, stop = pending[taken - 1], pending[taken]
        if last.position != stop.position:
            new_state = codec.encode(last.position)  # the page ended on an event boundary
        else:
            # The changes of stop's event included so far, the since-state's own among them.
            done = sum(1 for c in pending[:taken] if c.position == stop.position)
            if stop.position == since.position:
                done += since.offset
            new_state = codec.encode(Cursor(stop.position, done))
        more = True

    lists: dict[ChangeKind, list[str]] = {kind: [] for kind in ChangeKind}
    for object_id, (first, final) in net.items():
        kind = _fold(first, final)
        if kind is not None:
            lists[kind].append(object_id)
    return ChangesPage(
        since_state,
        new_state,
        more,
        tuple(lists[ChangeKind.CREATED]),
        tuple(lists[ChangeKind.UPDATED]),
        tuple(lists[ChangeKind.DESTROYED]),
    )
