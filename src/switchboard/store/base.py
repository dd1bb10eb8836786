"""The rules every store backend keeps, and the small helpers that make the backends agree.

The interface itself, :class:`~switchboard.model.store.Store`, lives in the shared model (the
engine, the server and the CLI use it without importing any backend). Credentials are sealed with
a :class:`~switchboard.store.crypto.SecretBox`.

Rules every backend keeps (the contract tests in ``tests/unit/store`` check them on each):

- ``record`` is atomic: the events are appended and the checkpoint moves, or nothing changes.
- Event ids increase strictly, across close/reopen and across pruning; an id is never reused.
- A checkpoint never moves back under the same UIDVALIDITY (:class:`CheckpointMovedBackwards`).
- A message is announced at most once: ``record`` skips a ``NewMessage`` whose
  (account, mailbox, UIDVALIDITY, UID) the stored checkpoint already covers or the log already
  holds, in the same transaction as it moves the checkpoint (:func:`drop_announced`; the SQL
  backends also keep a unique index on those four). Whatever watchers race — a node that lost
  its lease, a watcher with a stale checkpoint — a second announcement cannot be stored.
- After ``close()`` every method raises :class:`StoreClosed`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from switchboard.model.events import Checkpoint, EngineEvent, NewMessage
from switchboard.model.store import GroupPosition
from switchboard.store.errors import CheckpointMovedBackwards, EventIdOutOfRange

__all__ = [
    "MessageKey",
    "check_checkpoint_move",
    "check_events_limit",
    "check_prune",
    "drop_announced",
    "message_key",
    "settle_group",
]

MessageKey = tuple[str, str, int, int]
"""(account, mailbox, UIDVALIDITY, UID): what identifies one announced message."""


def settle_group(old: GroupPosition, acked: Collection[int], settled_through: int) -> GroupPosition:
    """The position after acknowledging ``acked``; shared by the backends so they agree.

    The position moves to ``settled_through`` if that is higher, then over every acknowledged
    id that directly follows it; acknowledged ids at or below the position are forgotten.
    """
    position = max(old.position, settled_through)
    above = {i for i in old.acked_above if i > position}
    above.update(i for i in acked if i > position)
    while position + 1 in above:
        position += 1
        above.discard(position)
    return GroupPosition(position, frozenset(above))


def check_checkpoint_move(old: Checkpoint | None, new: Checkpoint, *, where: str) -> None:
    """Refuse a checkpoint that moves back under the same UIDVALIDITY.

    Raises:
        CheckpointMovedBackwards: ``new.last_uid < old.last_uid`` with equal UIDVALIDITY.
    """
    if old is not None and new.uidvalidity == old.uidvalidity and new.last_uid < old.last_uid:
        raise CheckpointMovedBackwards(
            f"checkpoint of {where} would move back from UID {old.last_uid} to {new.last_uid} "
            f"under the same UIDVALIDITY {new.uidvalidity}; that would announce messages twice"
        )


def message_key(event: EngineEvent) -> MessageKey | None:
    """The message a ``NewMessage`` announces; ``None`` for the other events."""
    if isinstance(event, NewMessage):
        return (event.account_id, event.mailbox, event.uidvalidity, event.uid)
    return None


def drop_announced(
    account_id: str, mailbox: str, old: Checkpoint | None, events: Sequence[EngineEvent]
) -> list[EngineEvent]:
    """``events`` without the messages the stored checkpoint ``old`` already covers.

    A ``NewMessage`` of this mailbox under the checkpoint's UIDVALIDITY with a UID at or below
    its last UID was announced before (the checkpoint only moves with its events), and so is a
    message listed twice in ``events``. The backends also drop what their log already holds.
    """
    kept: list[EngineEvent] = []
    seen: set[MessageKey] = set()
    for event in events:
        key = message_key(event)
        if key is not None:
            if (
                old is not None
                and key[:3] == (account_id, mailbox, old.uidvalidity)
                and key[3] <= old.last_uid
            ) or key in seen:
                continue
            seen.add(key)
        kept.append(event)
    return kept


def check_events_limit(limit: int) -> None:
    """Validate ``events_after``'s ``limit``.

    Raises:
        ValueError: ``limit`` is below 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")


# SQLite INTEGER and PostgreSQL bigint: signed 64-bit.
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def check_event_ids(*event_ids: int) -> None:
    """Refuse event ids no backend can hold (``events_after``'s cursor, ``group_ack``'s ids).

    Raises:
        EventIdOutOfRange: an id is outside ``-2**63..2**63-1``.
    """
    for event_id in event_ids:
        if not _INT64_MIN <= event_id <= _INT64_MAX:
            # A 4,000-digit id would make a 4,000-character log line: say how long it is.
            digits = len(str(abs(event_id)))
            shown = str(event_id) if digits <= 30 else f"of {digits} digits"
            raise EventIdOutOfRange(f"event id {shown} is outside the signed 64-bit range")


def check_prune(keep_last: int | None) -> None:
    """Validate ``prune_events``'s ``keep_last``.

    Raises:
        ValueError: ``keep_last`` is negative.
    """
    if keep_last is not None and keep_last < 0:
        raise ValueError(f"keep_last must not be negative, not {keep_last}")
