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

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from switchboard.engine.model import AccountConfig, Checkpoint, CheckpointStore, StoredEvent
from switchboard.store.errors import CheckpointMovedBackwards

__all__ = ["Store", "StoredAccount", "check_checkpoint_move", "check_events_limit", "check_prune"]


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
    # Reserved: per-group cursor positions and acks (``group_position(group) -> int``,
    # ``ack(group, event_id)``) will live here, with their own migration in sqlite.py.
    # Pruning must then keep events above the lowest live group position.


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


def check_prune(keep_last: int | None) -> None:
    """Validate ``prune_events``'s ``keep_last``.

    Raises:
        ValueError: ``keep_last`` is negative.
    """
    if keep_last is not None and keep_last < 0:
        raise ValueError(f"keep_last must not be negative, not {keep_last}")
