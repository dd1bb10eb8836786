"""The engine's vocabulary: accounts, credentials, checkpoints, events, and the interfaces it uses.

These types are the contract between the engine (which watches mailboxes), the store (which
makes checkpoints and the event log durable) and the server (which pushes events to workers).
None of them does I/O.

How the pieces meet: the engine reads a mailbox's :class:`Checkpoint` from a
:class:`CheckpointStore`, and whenever it has new mail to announce it calls
:meth:`CheckpointStore.record` with the events *and* the checkpoint they move to — one atomic
step, so a crash can never announce a message without moving the checkpoint or move it without
announcing. ``record`` returns the events with their log ids (:class:`StoredEvent`), which the
engine then hands to its :class:`EventSink` (the server's fan-out).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "AccountConfig",
    "Checkpoint",
    "CheckpointStore",
    "EngineEvent",
    "EventSink",
    "MailboxGone",
    "MessageSummary",
    "NewMessage",
    "OAuth2Auth",
    "PasswordAuth",
    "StoredEvent",
    "TlsMode",
    "UidValidityChanged",
]


class TlsMode(enum.Enum):
    """How the IMAP connection is secured."""

    IMPLICIT = "ssl"  # IMAPS, TLS from the first byte (the original's only mode; our default)
    STARTTLS = "starttls"  # plain connect, then STARTTLS before any credential is sent
    PLAIN = "plain"  # no TLS: refused unless the host is loopback or the account allows it


@dataclass(frozen=True, slots=True)
class PasswordAuth:
    """LOGIN (or AUTHENTICATE PLAIN) with a password."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class OAuth2Auth:
    """AUTHENTICATE XOAUTH2 with an access token, refreshed from a refresh token when given.

    ``expires_at`` is a Unix time; ``None`` means unknown (refresh only after a failure).
    """

    username: str
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_endpoint: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """Everything needed to reach one mail account.

    ``account_id`` is the name the wire protocol uses for the account (the login name given to
    ``connect``, as in the original). ``provider`` names a provider profile (IDLE refresh
    interval and the like); ``None`` picks the generic profile.
    """

    account_id: str
    host: str
    port: int
    auth: PasswordAuth | OAuth2Auth
    tls: TlsMode = TlsMode.IMPLICIT
    ca_file: str | None = None
    verify_tls: bool = True
    allow_plain: bool = False
    provider: str | None = None

    @property
    def username(self) -> str:
        """The login name."""
        return self.auth.username


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


class CheckpointStore(Protocol):
    """Durable per-mailbox checkpoints plus the event log, as the engine needs them."""

    async def load_checkpoint(self, account_id: str, mailbox: str) -> Checkpoint | None:
        """Return the mailbox's checkpoint, or ``None`` when it was never watched."""
        ...

    async def record(
        self,
        account_id: str,
        mailbox: str,
        checkpoint: Checkpoint,
        events: Sequence[EngineEvent],
    ) -> Sequence[StoredEvent]:
        """Append ``events`` to the log and move the checkpoint, atomically.

        Returns the stored events in order. With no events it only moves the checkpoint.
        """
        ...


class EventSink(Protocol):
    """Where the engine hands events once they are durable (the server's fan-out)."""

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """Deliver ``events`` to subscribers. Must not block or raise."""
        ...
