"""The store's interface: the :class:`Store` protocol every backend implements, and its rules.

A store keeps Switchboard's durable state: accounts (credentials sealed with a
:class:`~switchboard.store.crypto.SecretBox`), the mailboxes each account watches, per-mailbox
checkpoints and the event log. It is the engine's
:class:`~switchboard.engine.model.CheckpointStore` plus what the server and the CLI need.

Rules every backend keeps (the contract tests in ``tests/unit/store`` check them on each):

- ``record`` is atomic: the events are appended and the checkpoint moves, or nothing changes.
- Event ids increase strictly, across close/reopen and across pruning; an id is never reused.
- A checkpoint never moves back under the same UIDVALIDITY (:class:`CheckpointMovedBackwards`).
- After ``close()`` every method raises :class:`StoreClosed`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from switchboard.engine.model import AccountConfig, Checkpoint, CheckpointStore, StoredEvent
from switchboard.store.errors import CheckpointMovedBackwards, EventIdOutOfRange

__all__ = [
    "EventTotals",
    "GroupPosition",
    "Store",
    "StoredAccount",
    "StoredToken",
    "TokenScope",
    "check_checkpoint_move",
    "check_events_limit",
    "check_prune",
    "settle_group",
]


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
