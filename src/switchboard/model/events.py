"""Checkpoints and the events the engine announces, as the store logs them.

How the pieces meet: the engine reads a mailbox's :class:`Checkpoint` from the store, and whenever
it has new mail to announce it records the events *and* the checkpoint they move to in one atomic
step (:meth:`switchboard.model.store.CheckpointStore.record`), so a crash can never announce a
message without moving the checkpoint or move it without announcing. The store returns the events
with their log ids (:class:`StoredEvent`), which the engine then hands to its sink (the server's
fan-out).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Checkpoint",
    "EngineEvent",
    "MailboxGone",
    "MessageSummary",
    "NewMessage",
    "StoredEvent",
    "UidValidityChanged",
]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where announcing stopped in one mailbox: its UIDVALIDITY and the highest UID announced."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """A few decoded envelope fields, pushed with ``newMessage`` when a subscriber asks."""

    subject: str | None = None
    from_: str | None = None
    date: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message that was not in the mailbox at the last checkpoint."""

    account_id: str
    mailbox: str  # raw IMAP (modified UTF-7) name
    uidvalidity: int
    uid: int
    summary: MessageSummary | None = None
    # Unix time the watcher saw the IMAP server's EXISTS push that revealed this message (None
    # for catch-up after a (re)connect, where no push was seen). Only for the dashboard's
    # latency chart: not stored, not compared, not sent to workers.
    detected_at: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class UidValidityChanged:
    """The mailbox's UIDVALIDITY changed: old UIDs mean nothing; the checkpoint was reset."""

    account_id: str
    mailbox: str
    old_uidvalidity: int
    new_uidvalidity: int


@dataclass(frozen=True, slots=True)
class MailboxGone:
    """A watched mailbox was deleted or renamed; its watcher stopped, the account goes on."""

    account_id: str
    mailbox: str
    reason: str


EngineEvent = NewMessage | UidValidityChanged | MailboxGone


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as written to the event log, with its monotonically increasing id."""

    event_id: int
    event: EngineEvent
    created_at: float  # Unix time
