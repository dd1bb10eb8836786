"""The accounts the server manages: who may use them, how long they live, and what they watch.

Rules (docs/protocol.md, "Commands"; what changed from the original: its "Differences from the
2014 server"):

- ``connect`` answers only after a real login succeeded (:mod:`switchboard.server.credentials`).
  Connecting to an account that already exists needs the same credentials, or credentials that
  log in afresh (which then replace the stored ones, e.g. a new access token). The same username
  on another host or port is an ``accountConflict``.
- An account connected by a worker is *pinned*: it is stored (credentials encrypted) and survives
  the worker and the server. An account only clients connected lives while a client holds it.
- Every session (and, per account, the workers together) has its own watch set; the engine
  watches the union, so an IDLE connection stops when no watch set contains its mailbox.
- Only this module changes those sets (they live in one
  :class:`~switchboard.server.accountbook.AccountBook`; rotated OAuth2 tokens are the one other
  write, ``server.credentials``); everything it decides goes through one per-account lock, so
  concurrent ``connect``s of the same new username cannot race.

Which node's engine watches a pinned account is not decided here: the
:class:`~switchboard.server.placement.AccountPlacement` says (a single node watches them all;
docs/scaling.md for a cluster). The registry asks it about an account it does not know, about a
pinned account its engine does not hold, and tells it when an account changed. Commands for an
account the engine does not hold run on a connection the engine's reader opens for the command
and closes after it. Accounts only clients connected stay in the engine of the node their client
used.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Hashable
from dataclasses import dataclass, replace
from typing import Protocol

from switchboard.engine.engine import WatchResult
from switchboard.engine.errors import EngineError, UnknownAccount
from switchboard.model.accounts import AccountConfig
from switchboard.model.store import Store, StoredAccount
from switchboard.protocol.errors import AccountConflict
from switchboard.server.accountbook import WORKERS, AccountBook
from switchboard.server.credentials import same_credentials, verify_login
from switchboard.server.placement import AccountPlacement, AtStart, Placed
from switchboard.store.errors import StoreError

__all__ = ["AccountEngine", "AccountRegistry", "ConnectOutcome"]

logger = logging.getLogger("switchboard.server")

class AccountEngine(Protocol):
    """The slice of :class:`~switchboard.engine.engine.Engine` the registry drives."""

    async def verify(self, config: AccountConfig) -> AccountConfig:
        """Log in once; the config with refreshed tokens."""
        ...

    def add_account(self, config: AccountConfig) -> None:
        """Hold the account (no connection yet)."""
        ...

    async def update_account(self, config: AccountConfig) -> None:
        """New credentials for a held account."""
        ...

    async def remove_account(self, account_id: str) -> None:
        """Stop and forget the account (LOGOUT of its connections)."""
        ...

    def has_account(self, account_id: str) -> bool:
        """Whether the engine holds the account."""
        ...

    async def watch(self, account_id: str, mailboxes: Collection[str]) -> WatchResult:
        """Replace the account's watched set; what is watched and what failed."""
        ...

    def resume(self, account_id: str, mailboxes: Collection[str]) -> tuple[str, ...]:
        """Watch stored watches again without reaching the server first."""
        ...


@dataclass(frozen=True, slots=True)
class ConnectOutcome:
    """What ``connect`` did: the account's wire name and whether it was created just now."""

    account_id: str
    created: bool


class AccountRegistry:
    """Accounts by wire name (the login name, exactly as given), with their holders and watches.

    Args:
        book: the accounts' state (shared with the engine's
            :class:`~switchboard.server.credentials.RotatedCredentials`).
        engine: this node's engine.
        store: where pinned accounts and their workers' watches are kept.
        placement: which node's engine watches each pinned account.
    """

    def __init__(
        self,
        book: AccountBook,
        engine: AccountEngine,
        store: Store,
        placement: AccountPlacement,
    ) -> None:
        self._book = book
        self._engine = engine
        self._store = store
        self._placement = placement

    # -- lifetime -------------------------------------------------------------------------

    async def restore(self) -> int:
        """Know every pinned account of the store and start those placed here; return how many.

        No IMAP server is contacted here (``Engine.resume``): the accounts' watchers connect
        in the background, each on its own, so an unreachable server or a changed password
        holds up neither the start nor any other account. A broken account shows its state and
        last error while its watchers retry on their backoff schedule, and its stored watches
        apply as soon as it recovers.

        Raises:
            StoreError: the store cannot be read.
        """
        restored = 0
        for stored in await self._store.load_accounts():
            account_id = stored.config.account_id
            at_start = self._placement.at_start(stored)
            if at_start is AtStart.FORGET:
                await self._store.delete_account(account_id)
                continue
            if at_start is AtStart.SKIP:
                continue
            self._book.register(stored)
            restored += 1
            if at_start is AtStart.WATCH:
                self._engine.add_account(stored.config)
                if stored.watches:
                    self._engine.resume(account_id, stored.watches)
        return restored

    def exists(self, account_id: str) -> bool:
        """Whether ``account_id`` is a managed account (else ``inactiveAccount``)."""
        return account_id in self._book.configs

    def config(self, account_id: str) -> AccountConfig | None:
        """The account's current settings and credentials, or ``None``."""
        return self._book.configs.get(account_id)

    def is_pinned(self, account_id: str) -> bool:
        """Whether a worker connected the account (it then outlives its clients)."""
        return account_id in self._book.pinned

    def pinned_ids(self) -> frozenset[str]:
        """Every pinned account known here."""
        return frozenset(self._book.pinned)

    def account_ids(self) -> list[str]:
        """Every managed account (in a cluster: every pinned one, wherever it is watched)."""
        return sorted(self._book.configs)

    async def known(self, account_id: str) -> bool:
        """Like :meth:`exists`, but asks the placement about an account not seen yet.

        In a cluster a worker may connect an account on one node and use it on another before
        that node got the notice.

        Raises:
            StoreError: the store cannot be read.
        """
        if account_id not in self._book.configs:
            async with self._book.lock(account_id):
                await self._look_up(account_id)
        return account_id in self._book.configs

    # -- connect --------------------------------------------------------------------------

    async def connect(
        self, wanted: AccountConfig, *, by_worker: bool, holder: Hashable
    ) -> ConnectOutcome:
        """Create or join the account ``wanted`` describes, checking its credentials.

        A client session ``holder`` is recorded as holding the account; a worker pins it.

        Raises:
            AccountConflict: the username exists with another host or port.
            switchboard.engine.errors.AuthenticationFailed: the credentials do not log in.
            switchboard.engine.errors.ConnectionFailed: the IMAP server cannot be reached.
            StoreError: the store cannot be read or written.
        """
        book, account_id = self._book, wanted.account_id
        async with book.lock(account_id):
            if account_id not in book.configs:
                await self._look_up(account_id)  # connected on another node meanwhile?
            existing = book.configs.get(account_id)
            created = existing is None
            if existing is None:
                verified = await verify_login(self._engine, wanted)
                book.configs[account_id] = verified
                if not by_worker:
                    # A client's account lives in this node's engine; a worker's is placed below.
                    self._engine.add_account(verified)
                logger.info("account %s connected (%s:%d)", account_id, wanted.host, wanted.port)
            else:
                if (existing.host, existing.port) != (wanted.host, wanted.port):
                    raise AccountConflict(
                        f"account {account_id} is connected to "
                        f"{existing.host}:{existing.port}, not {wanted.host}:{wanted.port}"
                    )
                if not same_credentials(existing.auth, wanted.auth):
                    verified = await verify_login(self._engine, replace(existing, auth=wanted.auth))
                    book.configs[account_id] = verified
                    if self._engine.has_account(account_id):
                        await self._engine.update_account(verified)
                    if account_id in book.pinned:
                        await self._store.save_account(verified, pinned=True)
                        await self._placement.changed(account_id)
            if by_worker:
                if account_id not in book.pinned:
                    book.pinned.add(account_id)
                    await self._store.save_account(book.configs[account_id], pinned=True)
                    await self._store.save_watches(account_id, book.watches(account_id, WORKERS))
                    await self._place_new_pin(account_id)
            else:
                book.clients.setdefault(account_id, set()).add(holder)
            return ConnectOutcome(account_id, created)

    async def _place_new_pin(self, account_id: str) -> None:
        """A worker pinned the account here: have it watched where the placement says."""
        was_here = self._engine.has_account(account_id)  # a client had connected it here
        await self._placement.changed(account_id)
        placed = await self._placed(account_id)
        if placed is Placed.STARTED:
            if was_here and self._book.union(account_id):
                # Started with the workers' watches only; add this node's clients' sets.
                await self._engine.watch(account_id, self._book.union(account_id))
        elif placed is Placed.ELSEWHERE and was_here and self._engine.has_account(account_id):
            # Another node watches it: two engines must never watch one account.
            await self._engine.remove_account(account_id)

    async def _placed(self, account_id: str) -> Placed:
        """Ask where the pinned account is watched; start it in this engine when ``HERE``."""
        placed = await self._placement.place(account_id)
        if placed is Placed.HERE and not self._engine.has_account(account_id):
            self._engine.add_account(self._book.configs[account_id])
        return placed

    # -- watches ----------------------------------------------------------------------------

    async def set_watches(
        self, account_id: str, holder: Hashable, names: tuple[str, ...]
    ) -> WatchResult:
        """Replace ``holder``'s watch set on the account; the engine watches the union.

        A name that cannot be watched (nonexistent, unselectable, over the provider's
        connection limit) never costs a watch: when one fails, the names that work are added
        to the set and nothing is removed, so a typo cannot leave an account unwatched.

        Returns what the engine now watches and which requested names failed; failed names
        are not kept in the holder's set (:meth:`watches` says what it holds afterwards).

        Raises:
            UnknownAccount: the account is not managed.
            switchboard.engine.errors.ConnectionFailed: the IMAP server cannot be reached.
            StoreError: the workers' watches cannot be stored.
        """
        book = self._book
        async with book.lock(account_id):
            pinned = account_id in book.pinned
            if pinned and not self._engine.has_account(account_id):
                await self._placed(account_id)  # another node's, or taken here now
                if not self._engine.has_account(account_id):
                    return await self._watch_elsewhere(account_id, holder, names)
            sets = book.watch_sets.setdefault(account_id, {})
            old = sets.get(holder, ())
            # Old names first: should the provider's connection limit bite, it bites the new
            # names, and nothing watched now stops before every requested name is checked.
            trial = tuple(dict.fromkeys(old + names))
            sets[holder] = trial
            try:
                result = await self._engine.watch(account_id, book.union(account_id))
            except UnknownAccount:
                if not pinned:
                    raise
                # The placement moved the account to another node while we listed: that
                # node applies the stored watches.
                sets[holder] = old
                return await self._watch_elsewhere(account_id, holder, names)
            failed = set(result.failed)
            if failed & set(names):
                # The engine already skipped the failed names: the rest stays watched.
                sets[holder] = tuple(n for n in trial if n not in failed)
            else:
                sets[holder] = names
                if names != trial:  # the set shrank: stop what no watch set holds any more
                    result = await self._engine.watch(account_id, book.union(account_id))
            if holder == WORKERS and pinned:
                await self._store.save_watches(account_id, sets[holder])
            return WatchResult(result.watching, tuple(n for n in names if n in failed))

    async def _watch_elsewhere(
        self, account_id: str, holder: Hashable, names: tuple[str, ...]
    ) -> WatchResult:
        """Watches for an account another node watches; the caller holds its lock."""
        sets = self._book.watch_sets.setdefault(account_id, {})
        result = await self._placement.watch_elsewhere(
            account_id, names, workers=sets.get(WORKERS, ()), for_workers=holder == WORKERS
        )
        sets[holder] = result.watching
        return result

    def watches(self, account_id: str, holder: Hashable) -> tuple[str, ...]:
        """``holder``'s watch set on the account (empty when it has none)."""
        return self._book.watches(account_id, holder)

    async def apply_worker_watches(self, account_id: str) -> tuple[str, ...] | None:
        """Have the engine watch the workers' set of an account it holds; the names that failed.

        ``None`` when the engine does not hold the account. Failed names leave the workers'
        set (and its stored copy). Never raises: a failure is logged, and every name then
        counts as failed.
        """
        if not self._engine.has_account(account_id):
            return None
        book = self._book
        async with book.lock(account_id):
            names = book.watches(account_id, WORKERS)
            try:
                result = await self._engine.watch(account_id, book.union(account_id))
            except UnknownAccount:
                # Stopped meanwhile: whoever watches it next starts it with the stored watches.
                logger.info("watch request for %s: the account moved meanwhile", account_id)
                return None
            except (EngineError, OSError) as exc:
                # The asker reports them failed; the supervisor keeps retrying what it can.
                logger.warning("cannot watch %s for another node: %s", account_id, exc)
                return names
            failed = set(result.failed)
            if failed & set(names):
                kept = tuple(n for n in names if n not in failed)
                book.watch_sets.setdefault(account_id, {})[WORKERS] = kept
                try:
                    await self._store.save_watches(account_id, kept)
                except StoreError as exc:
                    logger.warning("cannot store the watches of %s: %s", account_id, exc)
            return tuple(n for n in names if n in failed)

    async def release(self, holder: Hashable) -> None:
        """A client session closed: drop its watches and holds; stop accounts nobody holds."""
        book = self._book
        for account_id in list(book.configs):
            sets = book.watch_sets.get(account_id, {})
            clients = book.clients.get(account_id, set())
            if holder not in sets and holder not in clients:
                continue
            async with book.lock(account_id):
                had_watch = sets.pop(holder, None) is not None
                clients.discard(holder)
                if not clients and account_id not in book.pinned:
                    await self._stop(account_id)
                    logger.info("account %s stopped: its last client left", account_id)
                elif had_watch and self._engine.has_account(account_id):
                    await self._engine.watch(account_id, book.union(account_id))

    async def remove(self, account_id: str) -> bool:
        """Stop and forget ``account_id`` whoever holds it (an operator's ``DELETE``).

        Its watchers LOGOUT and its stored copy (credentials, watches) is deleted, so it does
        not come back on restart. Sessions that had connected it get ``inactiveAccount``-style
        errors from then on. Returns whether the account existed.

        Raises:
            StoreError: the store cannot be read or written.
        """
        await self.known(account_id)
        async with self._book.lock(account_id):
            if account_id not in self._book.configs:
                return False
            self._book.pinned.discard(account_id)
            await self._store.delete_account(account_id)
            await self._stop(account_id)
            await self._placement.changed(account_id)
        logger.info("account %s removed by an operator", account_id)
        return True

    async def _stop(self, account_id: str) -> None:
        self._book.forget(account_id)
        if self._engine.has_account(account_id):
            await self._engine.remove_account(account_id)

    # -- the store's copy ---------------------------------------------------------------------

    async def reload(self, account_id: str) -> None:
        """Adopt the store's copy of the account (another node saved or deleted it).

        Raises:
            StoreError: the store cannot be read.
            EngineError: the engine refused the new settings.
        """
        async with self._book.lock(account_id):
            stored = await self._store.get_account(account_id)
            if stored is not None and stored.pinned:
                await self._adopt(stored)
            else:
                await self._unpinned_elsewhere(account_id)

    async def _look_up(self, account_id: str) -> None:
        """Know an account the placement finds in the store; the caller holds its lock."""
        stored = await self._placement.lookup(account_id)
        if stored is not None and stored.pinned:
            await self._adopt(stored)

    async def _adopt(self, stored: StoredAccount) -> None:
        book, account_id = self._book, stored.config.account_id
        old = book.configs.get(account_id)
        book.register(stored)
        if old is not None and old != stored.config and self._engine.has_account(account_id):
            await self._engine.update_account(stored.config)

    async def _unpinned_elsewhere(self, account_id: str) -> None:
        """The store no longer pins the account: keep it only while clients here hold it."""
        book = self._book
        if account_id not in book.pinned:
            return
        book.pinned.discard(account_id)
        book.watch_sets.get(account_id, {}).pop(WORKERS, None)
        if not book.clients.get(account_id):
            # Deleted elsewhere; a cluster's lease loop drops the lease at its next renewal.
            await self._stop(account_id)
