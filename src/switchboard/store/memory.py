"""An in-memory :class:`~switchboard.store.base.Store`, for tests and throwaway servers.

It keeps exactly what :class:`~switchboard.store.sqlite.SqliteStore` keeps — events as codec
JSON, credentials sealed with the :class:`SecretBox` — so it fails where SQLite would (an event
that cannot be encoded, a wrong key) and the engine's tests exercise the real codec. The state
lives in a :class:`MemoryData` that outlives the store: pass it to a new ``MemoryStore`` to
model a restart.

Each method runs to completion without awaiting, so on one event loop every call is atomic
with respect to the others.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from switchboard.model.accounts import AccountConfig
from switchboard.model.events import Checkpoint, EngineEvent, StoredEvent
from switchboard.model.store import EventTotals, GroupPosition, StoredAccount, StoredToken
from switchboard.store import codec
from switchboard.store.base import (
    check_checkpoint_move,
    check_event_ids,
    check_events_limit,
    check_prune,
    drop_announced,
    message_key,
    settle_group,
)
from switchboard.store.crypto import SecretBox
from switchboard.store.errors import CorruptCredentials, StoreClosed, UnknownAccount

__all__ = ["MemoryData", "MemoryStore"]


@dataclass(slots=True)
class _AccountRow:
    settings: dict[str, Any]
    sealed_auth: bytes
    pinned: bool
    watches: tuple[str, ...]
    created_at: float


@dataclass(slots=True)
class _EventRow:
    event_id: int
    payload: str  # codec JSON
    account_id: str
    created_at: float
    message: tuple[str, str, int, int] | None = None  # a newMessage's (account, mailbox, uv, uid)


@dataclass(slots=True)
class MemoryData:
    """The contents of a :class:`MemoryStore`; survives the store's ``close()``."""

    accounts: dict[str, _AccountRow] = field(default_factory=dict)
    checkpoints: dict[tuple[str, str], Checkpoint] = field(default_factory=dict)
    events: list[_EventRow] = field(default_factory=list)  # ascending event_id
    last_event_id: int = 0  # never decreases, like SQLite's AUTOINCREMENT sequence
    groups: dict[str, GroupPosition] = field(default_factory=dict)
    tokens: list[tuple[StoredToken, bytes]] = field(default_factory=list)  # (record, digest)
    # The messages of the events in ``events``: the SQL backends' unique index, in memory.
    messages: set[tuple[str, str, int, int]] = field(default_factory=set)


class MemoryStore:
    """The :class:`~switchboard.store.base.Store` protocol over plain Python objects.

    Args:
        secret_box: seals credentials; a fresh random key when ``None``.
        data: existing contents (from another store's :attr:`data`) to "reopen"; empty if None.
        clock: returns the current Unix time; injected so tests can age events.
    """

    def __init__(
        self,
        secret_box: SecretBox | None = None,
        *,
        data: MemoryData | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._box = secret_box if secret_box is not None else SecretBox.generate()
        self.data = data if data is not None else MemoryData()
        self._clock = clock
        self._closed = False

    def _check_open(self) -> MemoryData:
        if self._closed:
            raise StoreClosed("the store is closed")
        return self.data

    async def close(self) -> None:
        """Mark the store closed; :attr:`data` keeps the contents."""
        self._closed = True

    # -- checkpoints and events (the engine's CheckpointStore) --------------------------------

    async def load_checkpoint(self, account_id: str, mailbox: str) -> Checkpoint | None:
        """Return the mailbox's checkpoint, or ``None`` when it was never recorded.

        Raises:
            StoreClosed: the store was closed.
        """
        return self._check_open().checkpoints.get((account_id, mailbox))

    async def record(
        self,
        account_id: str,
        mailbox: str,
        checkpoint: Checkpoint,
        events: Sequence[EngineEvent],
    ) -> Sequence[StoredEvent]:
        """Append ``events`` and move the checkpoint, atomically; skip announced messages.

        Returns the events stored: a message already announced is not (see the store rules).

        Raises:
            CheckpointMovedBackwards: same UIDVALIDITY, lower UID than stored.
            CodecError: an event cannot be encoded (nothing is changed).
            StoreClosed: the store was closed.
        """
        data = self._check_open()
        key = (account_id, mailbox)
        old = data.checkpoints.get(key)
        check_checkpoint_move(old, checkpoint, where=f"{key}")
        # Encode everything before touching anything: that is the whole transaction here.
        payloads = {id(e): codec.dump_event(e) for e in events}
        fresh = [
            e
            for e in drop_announced(account_id, mailbox, old, events)
            if message_key(e) not in data.messages
        ]
        now = self._clock()
        stored: list[StoredEvent] = []
        for event, payload in ((e, payloads[id(e)]) for e in fresh):
            data.last_event_id += 1
            message = message_key(event)
            data.events.append(
                _EventRow(data.last_event_id, payload, event.account_id, now, message)
            )
            if message is not None:
                data.messages.add(message)
            stored.append(StoredEvent(data.last_event_id, event, now))
        data.checkpoints[key] = checkpoint
        return stored

    async def events_after(
        self, after_id: int, *, limit: int, account_ids: Collection[str] | None = None
    ) -> list[StoredEvent]:
        """Return up to ``limit`` events with ids above ``after_id``, ascending.

        Raises:
            ValueError: ``limit`` is below 1.
            EventIdOutOfRange: ``after_id`` is outside the signed 64-bit range.
            StoreClosed: the store was closed.
        """
        check_events_limit(limit)
        check_event_ids(after_id)
        data = self._check_open()
        wanted = None if account_ids is None else frozenset(account_ids)
        out: list[StoredEvent] = []
        for row in data.events:
            if row.event_id <= after_id or (wanted is not None and row.account_id not in wanted):
                continue
            out.append(StoredEvent(row.event_id, codec.load_event(row.payload), row.created_at))
            if len(out) >= limit:
                break
        return out

    async def oldest_event_id(self) -> int | None:
        """Return the smallest id in the log, ``None`` when empty.

        Raises:
            StoreClosed: the store was closed.
        """
        data = self._check_open()
        return data.events[0].event_id if data.events else None

    async def last_event_id(self) -> int:
        """Return the largest id ever given, 0 when none.

        Raises:
            StoreClosed: the store was closed.
        """
        return self._check_open().last_event_id

    async def event_totals(self, up_to: int) -> dict[str, EventTotals]:
        """Per account, the events still in the log with ids up to ``up_to``.

        Raises:
            StoreClosed: the store was closed.
        """
        totals: dict[str, EventTotals] = {}
        for row in self._check_open().events:
            if row.event_id > up_to:
                break
            seen = totals.get(row.account_id)
            count = 1 if seen is None else seen.count + 1
            totals[row.account_id] = EventTotals(count, row.event_id, row.created_at)
        return totals

    async def prune_events(self, *, older_than: float | None, keep_last: int | None) -> int:
        """Drop events older than ``older_than`` or beyond the newest ``keep_last``.

        Raises:
            ValueError: ``keep_last`` is negative.
            StoreClosed: the store was closed.
        """
        check_prune(keep_last)
        data = self._check_open()
        if not data.events:
            return 0
        newest = data.events[-1]
        # Keep the newest max(keep_last, 1) rows whatever else happens.
        protected = max(keep_last, 1) if keep_last is not None else len(data.events)
        keep_from = len(data.events) - protected
        # And everything some group has not settled yet.
        group_floor = min((g.position for g in data.groups.values()), default=None)
        kept = [
            row
            for i, row in enumerate(data.events)
            if row is newest
            or (group_floor is not None and row.event_id > group_floor)
            or (i >= keep_from and (older_than is None or row.created_at >= older_than))
        ]
        removed = len(data.events) - len(kept)
        data.events = kept
        data.messages = {row.message for row in kept if row.message is not None}
        return removed

    # -- accounts --------------------------------------------------------------------------

    async def save_account(self, config: AccountConfig, *, pinned: bool) -> None:
        """Insert or replace an account (keeps ``created_at`` and watches when replacing).

        Raises:
            CodecError: a field of ``config`` has the wrong type.
            StoreClosed: the store was closed.
        """
        data = self._check_open()
        settings = codec.account_settings(config)
        sealed = self._box.seal(codec.dump_auth(config.auth))
        old = data.accounts.get(config.account_id)
        data.accounts[config.account_id] = _AccountRow(
            settings=settings,
            sealed_auth=sealed,
            pinned=bool(pinned),
            watches=old.watches if old is not None else (),
            created_at=old.created_at if old is not None else self._clock(),
        )

    async def load_accounts(self) -> list[StoredAccount]:
        """Return every account, ordered by id.

        Raises:
            CorruptCredentials: the secret key does not open the credentials.
            StoreClosed: the store was closed.
        """
        data = self._check_open()
        return [self._to_stored(i, data.accounts[i]) for i in sorted(data.accounts)]

    async def get_account(self, account_id: str) -> StoredAccount | None:
        """Return one account or ``None``.

        Raises:
            CorruptCredentials: the secret key does not open the credentials.
            StoreClosed: the store was closed.
        """
        row = self._check_open().accounts.get(account_id)
        return None if row is None else self._to_stored(account_id, row)

    async def delete_account(self, account_id: str) -> None:
        """Remove an account with its watches and checkpoints (events stay).

        Raises:
            StoreClosed: the store was closed.
        """
        data = self._check_open()
        data.accounts.pop(account_id, None)
        for key in [k for k in data.checkpoints if k[0] == account_id]:
            del data.checkpoints[key]

    async def save_watches(self, account_id: str, mailboxes: Sequence[str]) -> None:
        """Replace the account's watched mailboxes.

        Raises:
            UnknownAccount: no such account.
            StoreClosed: the store was closed.
        """
        row = self._check_open().accounts.get(account_id)
        if row is None:
            raise UnknownAccount(f"no account {account_id!r} in the store")
        row.watches = tuple(dict.fromkeys(mailboxes))

    # -- worker groups -----------------------------------------------------------------------

    async def group_position(self, name: str) -> GroupPosition:
        """Return the group's position, starting a new group at the log's end.

        Raises:
            StoreClosed: the store was closed.
        """
        data = self._check_open()
        found = data.groups.get(name)
        if found is None:
            found = data.groups[name] = GroupPosition(data.last_event_id, frozenset())
        return found

    async def group_ack(
        self, name: str, event_ids: Collection[int], *, settled_through: int = 0
    ) -> GroupPosition:
        """Record acknowledgements and return the new position.

        Raises:
            EventIdOutOfRange: an id or ``settled_through`` is outside the signed 64-bit range.
            StoreClosed: the store was closed.
        """
        check_event_ids(*event_ids, settled_through)
        old = await self.group_position(name)
        new = settle_group(old, event_ids, settled_through)
        self.data.groups[name] = new
        return new

    async def delete_group(self, name: str) -> None:
        """Forget a group.

        Raises:
            StoreClosed: the store was closed.
        """
        self._check_open().groups.pop(name, None)

    async def list_groups(self) -> dict[str, GroupPosition]:
        """Return every group's position.

        Raises:
            StoreClosed: the store was closed.
        """
        return dict(self._check_open().groups)

    # -- auth tokens -------------------------------------------------------------------------

    async def save_token(self, token: StoredToken, digest: bytes) -> None:
        """Insert a token record.

        Raises:
            ValueError: the id, name or digest is already taken.
            StoreClosed: the store was closed.
        """
        data = self._check_open()
        for old, old_digest in data.tokens:
            if token.token_id == old.token_id or token.name == old.name or digest == old_digest:
                raise ValueError(f"a token with id or name {token.name!r} exists")
        data.tokens.append((token, bytes(digest)))

    async def find_token(self, digest: bytes) -> StoredToken | None:
        """Return the token with this digest, or ``None``.

        Raises:
            StoreClosed: the store was closed.
        """
        for token, stored in self._check_open().tokens:
            if stored == digest:
                return token
        return None

    async def list_tokens(self) -> list[StoredToken]:
        """Return every token, oldest first.

        Raises:
            StoreClosed: the store was closed.
        """
        return [token for token, _ in self._check_open().tokens]

    async def revoke_token(self, id_or_name: str) -> StoredToken | None:
        """Revoke the token with this id or name.

        Raises:
            StoreClosed: the store was closed.
        """
        data = self._check_open()
        for i, (token, digest) in enumerate(data.tokens):
            if id_or_name in (token.token_id, token.name):
                if token.revoked_at is None:
                    token = dataclasses.replace(token, revoked_at=self._clock())
                    data.tokens[i] = (token, digest)
                return token
        return None

    async def has_active_tokens(self) -> bool:
        """Whether any token is not revoked.

        Raises:
            StoreClosed: the store was closed.
        """
        return any(t.revoked_at is None for t, _ in self._check_open().tokens)

    async def active_token_ids(self) -> frozenset[str]:
        """The ids of every token not revoked.

        Raises:
            StoreClosed: the store was closed.
        """
        return frozenset(t.token_id for t, _ in self._check_open().tokens if t.revoked_at is None)

    def _to_stored(self, account_id: str, row: _AccountRow) -> StoredAccount:
        try:
            plain = self._box.open(row.sealed_auth)
        except CorruptCredentials:
            raise CorruptCredentials(account_id) from None
        config = codec.account_from_settings(account_id, row.settings, codec.load_auth(plain))
        return StoredAccount(config, row.pinned, row.watches, row.created_at)
