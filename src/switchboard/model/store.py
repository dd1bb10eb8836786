"""What the engine and the server need of the durable store: the :class:`Store` protocol.

A store keeps Switchboard's durable state: accounts (credentials sealed at rest), the mailboxes
each account watches, per-mailbox checkpoints, the event log, worker-group positions and auth
tokens. The engine needs only :class:`CheckpointStore` (and hands stored events to an
:class:`EventSink`); the server and the CLI use the whole :class:`Store`. The backends live in
:mod:`switchboard.store`, with the rules every backend keeps (``store/base.py``) and the errors
they raise (``store/errors.py``: ``StoreClosed`` and the rest).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from switchboard.model.accounts import AccountConfig
from switchboard.model.events import Checkpoint, EngineEvent, StoredEvent

__all__ = [
    "CheckpointStore",
    "EventSink",
    "EventTotals",
    "GroupPosition",
    "Store",
    "StoredAccount",
    "StoredToken",
    "TokenScope",
]


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


@dataclass(frozen=True, slots=True)
class StoredAccount:
    """An account as the store holds it.

    ``pinned`` accounts were connected by a worker and are resumed after a restart; the others
    (connected by a client) live only while some client holds them. ``watches`` lists the
    mailboxes to watch, in the order they were given. ``created_at`` is the Unix time the
    account was first saved.
    """

    config: AccountConfig
    pinned: bool
    watches: tuple[str, ...]
    created_at: float


@dataclass(frozen=True, slots=True)
class EventTotals:
    """One account's share of the event log: how many events, and the newest one's id and time."""

    count: int
    last_event_id: int
    last_event_at: float


@dataclass(frozen=True, slots=True)
class GroupPosition:
    """A worker group's durable position (issue 6).

    Every event of the group's scope with an id at or below ``position`` was acknowledged (or was
    not the group's to deliver); ``acked_above`` holds the acknowledged ids above it.
    """

    position: int
    acked_above: frozenset[int]


class TokenScope(enum.StrEnum):
    """What an auth token opens: ``worker`` reaches /workers and /clients, ``client`` /clients."""

    WORKER = "worker"
    CLIENT = "client"


@dataclass(frozen=True, slots=True)
class StoredToken:
    """An auth token's record; the token itself is never stored, only its SHA-256 digest.

    ``account`` binds a client token to one account (``connect`` for another is refused);
    ``revoked_at`` is the Unix time of ``revoke_token``, ``None`` while the token is valid.
    """

    token_id: str
    name: str
    scope: TokenScope
    account: str | None
    created_at: float
    revoked_at: float | None = None


class Store(CheckpointStore, Protocol):
    """Durable accounts, watches, checkpoints and the event log."""

    async def close(self) -> None:
        """Flush and release the store; later calls raise :class:`StoreClosed`. Idempotent."""
        ...

    # -- accounts --------------------------------------------------------------------------

    async def save_account(self, config: AccountConfig, *, pinned: bool) -> None:
        """Insert or replace the account ``config.account_id``, credentials sealed.

        Replacing keeps the account's ``created_at`` and its watches.

        Raises:
            CodecError: a field of ``config`` has the wrong type.
            StoreClosed: the store was closed.
        """
        ...

    async def load_accounts(self) -> list[StoredAccount]:
        """Return every account, ordered by ``account_id``.

        Raises:
            CorruptCredentials: the secret key is not the one the credentials were sealed with.
            StoreClosed: the store was closed.
        """
        ...

    async def get_account(self, account_id: str) -> StoredAccount | None:
        """Return one account, or ``None`` when there is none by that id.

        Raises:
            CorruptCredentials: the secret key is not the one the credentials were sealed with.
            StoreClosed: the store was closed.
        """
        ...

    async def delete_account(self, account_id: str) -> None:
        """Remove the account, its watches and its checkpoints; its events stay in the log.

        Deleting an unknown account does nothing.

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def save_watches(self, account_id: str, mailboxes: Sequence[str]) -> None:
        """Replace the account's watched mailboxes (duplicates dropped, order kept).

        Raises:
            UnknownAccount: no account by that id was saved.
            StoreClosed: the store was closed.
        """
        ...

    # -- events ----------------------------------------------------------------------------

    async def events_after(
        self, after_id: int, *, limit: int, account_ids: Collection[str] | None = None
    ) -> list[StoredEvent]:
        """Return up to ``limit`` events with ids above ``after_id``, ascending.

        ``account_ids`` keeps only those accounts' events; ``None`` keeps all.

        Raises:
            ValueError: ``limit`` is below 1.
            EventIdOutOfRange: ``after_id`` is outside the signed 64-bit range.
            StoreClosed: the store was closed.
        """
        ...

    async def oldest_event_id(self) -> int | None:
        """Return the smallest id still in the log, or ``None`` when the log is empty.

        A cursor below ``oldest_event_id() - 1`` has lost events to retention.

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def last_event_id(self) -> int:
        """Return the largest id ever given to an event, 0 when none ever was.

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def event_totals(self, up_to: int) -> dict[str, EventTotals]:
        """Per account, the events still in the log with ids up to ``up_to``.

        What ``switchboard accounts list`` shows after a restart (events, last event); read
        once at start-up, with ``up_to`` the last id then, so later events are counted live.

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def prune_events(self, *, older_than: float | None, keep_last: int | None) -> int:
        """Drop old events; return how many were removed.

        An event goes when it was created before ``older_than`` (a Unix time, seconds) or is not
        among the newest ``keep_last`` events; ``None`` disables either rule. The newest event
        is never removed, so the last id — and therefore the next one — survives.

        Raises:
            ValueError: ``keep_last`` is negative.
            StoreClosed: the store was closed.
        """
        ...

    # -- worker groups (issue 6) -------------------------------------------------------------
    # ``prune_events`` keeps every event above the lowest group position, so a group whose
    # members are all offline still finds what it missed; ``delete_group`` lets the log go.

    async def group_position(self, name: str) -> GroupPosition:
        """Return the group's durable position; a group never acked starts at the log's end.

        The first call for a name records the current last event id as its position, so a new
        group does not replay the whole log.

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def group_ack(
        self, name: str, event_ids: Collection[int], *, settled_through: int = 0
    ) -> GroupPosition:
        """Record acknowledgements atomically and return the new position (see settle_group).

        ``settled_through`` is the caller's word that every group event at or below it was
        acknowledged or out of the group's scope (the store cannot tell scope).

        Raises:
            EventIdOutOfRange: an id or ``settled_through`` is outside the signed 64-bit range.
            StoreClosed: the store was closed.
        """
        ...

    async def delete_group(self, name: str) -> None:
        """Forget a group's position (unknown names are ignored).

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def list_groups(self) -> dict[str, GroupPosition]:
        """Return every group's position by name.

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    # -- auth tokens (issue 6) ---------------------------------------------------------------

    async def save_token(self, token: StoredToken, digest: bytes) -> None:
        """Insert a token record with the SHA-256 ``digest`` of the token text.

        Raises:
            ValueError: the id, name or digest is already taken.
            StoreClosed: the store was closed.
        """
        ...

    async def find_token(self, digest: bytes) -> StoredToken | None:
        """Return the token whose digest is ``digest`` (revoked ones included), or ``None``.

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def list_tokens(self) -> list[StoredToken]:
        """Return every token record, oldest first.

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def revoke_token(self, id_or_name: str) -> StoredToken | None:
        """Mark the token with this id or name revoked; return it, ``None`` if there is none.

        Revoking a revoked token keeps its first ``revoked_at``.

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def has_active_tokens(self) -> bool:
        """Whether any token is not revoked (auth is then required on every socket).

        Raises:
            StoreClosed: the store was closed.
        """
        ...

    async def active_token_ids(self) -> frozenset[str]:
        """The ids of every token not revoked: what a server compares its open sockets with.

        Raises:
            StoreClosed: the store was closed.
        """
        ...
