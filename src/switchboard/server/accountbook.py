"""The managed accounts' state: configs, pins, client holders and watch sets, by account.

Plain state with the lookups everyone needs; the decisions are the account registry's
(:mod:`switchboard.server.accounts`), which alone changes it — except that rotated OAuth2 tokens
replace a config (:class:`~switchboard.server.credentials.RotatedCredentials`, the engine's
callback, built before the registry).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

from switchboard.model.accounts import AccountConfig
from switchboard.model.store import StoredAccount

__all__ = ["WORKERS", "AccountBook"]

#: The watch-set holder that stands for all workers of an account (watches are per account on
#: /workers, per connection on /clients).
WORKERS = "workers"


class AccountBook:
    """The managed accounts' state: configs, pins, client holders and watch sets, by account.

    Attributes:
        configs: every managed account's settings and credentials, by account id.
        pinned: the accounts a worker connected.
        clients: the client sessions holding each account.
        watch_sets: each account's watch sets, by holder (:data:`WORKERS` or a client session).
    """

    def __init__(self) -> None:
        self.configs: dict[str, AccountConfig] = {}
        self.pinned: set[str] = set()
        self.clients: dict[str, set[Hashable]] = {}
        self.watch_sets: dict[str, dict[Hashable, tuple[str, ...]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, account_id: str) -> asyncio.Lock:
        """The account's lock: every change of its state is made under it."""
        lock = self._locks.get(account_id)
        if lock is None:
            lock = self._locks[account_id] = asyncio.Lock()
        return lock

    def union(self, account_id: str) -> tuple[str, ...]:
        """Every name some watch set of the account holds: what the engine should watch."""
        seen: dict[str, None] = {}
        for names in self.watch_sets.get(account_id, {}).values():
            seen.update(dict.fromkeys(names))
        return tuple(seen)

    def watches(self, account_id: str, holder: Hashable) -> tuple[str, ...]:
        """``holder``'s watch set on the account (empty when it has none)."""
        return self.watch_sets.get(account_id, {}).get(holder, ())

    def register(self, stored: StoredAccount) -> None:
        """Know a pinned account as the store has it, with the workers' stored watches."""
        account_id = stored.config.account_id
        self.configs[account_id] = stored.config
        self.pinned.add(account_id)
        self.watch_sets.setdefault(account_id, {})[WORKERS] = tuple(stored.watches)

    def forget(self, account_id: str) -> None:
        """Drop everything known about the account."""
        self.configs.pop(account_id, None)
        self.pinned.discard(account_id)
        self.clients.pop(account_id, None)
        self.watch_sets.pop(account_id, None)
