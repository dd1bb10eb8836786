"""The lease loop's hands on the engine: watch an account when its lease is won, stop when lost.

A won account is read from the shared store (credentials sealed with the cluster's one key),
added to the engine and given its stored watches; the engine then catches up from the shared
checkpoints. A lost or released account is removed from the engine, which logs out of every
connection of it before returning — only then may the lease go back.

Commands for an account another node watches (``getMessages`` …) are served locally: the
server opens its own short-lived command connection with the stored credentials (see
``docs/scaling.md``); this holder only governs watching.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from switchboard.engine.engine import Engine
from switchboard.engine.errors import EngineError, UnknownAccount
from switchboard.model.store import Store
from switchboard.store.errors import StoreError

__all__ = ["EngineLeaseHolder"]

logger = logging.getLogger("switchboard.cluster")


class EngineLeaseHolder:
    """Starts and stops leased accounts in an :class:`~switchboard.engine.engine.Engine`.

    Args:
        engine: this node's engine.
        store: the shared store (accounts and their watches).
        is_leased: whether an account is one the cluster leases (a pinned one); the others
            (connected only by this node's clients) are this node's own. Until it is set,
            :meth:`reconcile` stops only watchers no account owns.
    """

    def __init__(
        self, engine: Engine, store: Store, is_leased: Callable[[str], bool] | None = None
    ) -> None:
        self._engine = engine
        self._store = store
        self.is_leased = is_leased
        self.starts = 0
        """Accounts started (a counter for /health and the tests)."""
        self.stops = 0
        """Accounts stopped."""

    async def start_account(self, account_id: str) -> None:
        """Add the stored account to the engine and watch its stored mailboxes; never raises.

        Like a restart (``Engine.resume``): nothing is asked of the IMAP server here, so an
        account whose server is down or refuses its password keeps its lease and its watchers
        retry on their backoff schedule, showing their state on ``/health`` and the dashboard.
        """
        try:
            stored = await self._store.get_account(account_id)
            if stored is None:  # deleted since the lease was taken; the next renewal drops it
                return
            if not self._engine.has_account(account_id):
                self._engine.add_account(stored.config)
            self.starts += 1
            if stored.watches:
                self._engine.resume(account_id, stored.watches)
        except (StoreError, EngineError, OSError) as exc:
            logger.warning("cannot start leased account %s: %s", account_id, exc)

    async def stop_account(self, account_id: str) -> None:
        """Remove the account from the engine (LOGOUT of its connections); never raises."""
        if self._engine.has_account(account_id):
            self.stops += 1
            # Removed meanwhile (an operator's DELETE, a notice): nothing left to stop.
            with contextlib.suppress(UnknownAccount):
                await self._engine.remove_account(account_id)

    async def reconcile(self, held: frozenset[str]) -> None:
        """Stop whatever this node watches without holding it; never raises.

        After every lease round: a watcher no account owns, or a leased account the engine
        runs although this node does not hold its lease. Neither should exist; each one found
        is logged as an error, because another node may be watching the same account.
        """
        await self._engine.stop_strays()
        if self.is_leased is None:
            return
        for account_id in self._engine.watching():
            if account_id not in held and self.is_leased(account_id):
                logger.error("stopping %s: watched here without its lease", account_id)
                await self.stop_account(account_id)
