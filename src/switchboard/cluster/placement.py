"""A server's place in a cluster: the account placement of a node sharing one PostgreSQL.

:class:`ClusterPlacement` implements the server's
:class:`~switchboard.server.placement.AccountPlacement` (docs/scaling.md). The command line builds
it when ``store_url`` names a PostgreSQL database and hands it to the server, which never imports
this package. Once the server has read the store it starts the placement, which then owns:

- a small pool of its own for the lease loop, so renewals never queue behind the store's calls;
- the :class:`~switchboard.cluster.node.ClusterNode` deciding which pinned accounts this node's
  engine watches (through an :class:`~switchboard.cluster.holder.EngineLeaseHolder`);
- the :class:`~switchboard.cluster.tail.EventTail` that hands every event of the shared log,
  local or not, to the hub exactly once (the engine's own sink is a ``NullSink``);
- the :class:`~switchboard.cluster.notices.AccountNotices` through which the nodes' account
  registries keep each other informed (this class handles the notices it receives).

What it answers the registry: every pinned account of the store is known on every node, but only
its lease holder's engine watches it. An account a command names that this node has not heard of
yet is read from the store. A worker connecting a new account here takes its lease at once when
it is free (:meth:`ClusterNode.adopt <switchboard.cluster.node.ClusterNode.adopt>`); watches set
on a node that does not hold the account are stored and applied by the holder, which answers
before ``watchMailboxes`` does. A client's watch set stays on its own node.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import asyncpg

from switchboard.cluster.holder import EngineLeaseHolder
from switchboard.cluster.leases import LeaseTable
from switchboard.cluster.node import ClusterNode
from switchboard.cluster.notices import AccountNotices
from switchboard.cluster.tail import EventTail, NullSink
from switchboard.engine.engine import WatchResult
from switchboard.engine.errors import EngineError
from switchboard.model.store import EventSink, StoredAccount
from switchboard.server.placement import AtStart, Placed, PlacementParts
from switchboard.store.errors import StoreError

__all__ = ["ClusterPlacement"]

logger = logging.getLogger("switchboard.cluster")

# Lease rounds and notices need few connections; the store has its own pool.
_POOL_MAX_CONNECTIONS = 3
# Bounds on the lease pool's calls: a database that stops answering fails a round instead of
# holding it (the node fences itself on its own clock either way).
_CONNECT_TIMEOUT_S = 10.0
_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class ClusterPlacement:
    """This node's lease loop, event tail and account notices; see the module docstring.

    Args:
        dsn: the shared database (the store's URL).
        node_id: this node's name, unique in the cluster (the store is opened with it too).
        lease_ttl_s: how long a lease lasts without renewal.
        info: a note other nodes see in the ``nodes`` table (e.g. this node's URL).
    """

    def __init__(self, dsn: str, node_id: str, *, lease_ttl_s: float, info: str = "") -> None:
        self.dsn = dsn
        self._node_id = node_id
        self._ttl_s = lease_ttl_s
        self._info = info
        self._parts: PlacementParts | None = None
        self._pool: asyncpg.Pool | None = None
        self._node: ClusterNode | None = None
        self._tail: EventTail | None = None
        self._notices: AccountNotices | None = None
        self.holder: EngineLeaseHolder | None = None
        """Starts and stops this node's leased accounts, and counts them (for /health)."""

    @property
    def node_id(self) -> str:
        """This node's name in the cluster."""
        return self._node_id

    def engine_sink(self, hub: EventSink) -> EventSink:
        """A ``NullSink``: every event reaches the hub through the event tail, local ones too."""
        return NullSink()

    def at_start(self, stored: StoredAccount) -> AtStart:
        """Know every pinned account (the lease loop starts those won); leave the rest alone."""
        return AtStart.KNOW if stored.pinned else AtStart.SKIP

    # -- lifetime ---------------------------------------------------------------------------

    async def start(self, parts: PlacementParts) -> None:
        """Claim the node id, follow the event log, listen for account notices, start leasing.

        Raises:
            NodeIdTaken: another live process uses this node id (one clear line for the CLI).
            StoreError: the database cannot be reached.
        """
        self._parts = parts
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=0,  # no floor to rebuild in a loop during an outage (see the store)
                max_size=_POOL_MAX_CONNECTIONS,
                timeout=_CONNECT_TIMEOUT_S,
                command_timeout=self._ttl_s,
            )
        except _DB_ERRORS as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        self.holder = EngineLeaseHolder(parts.engine, parts.store, parts.accounts.is_pinned)
        table = LeaseTable(self._pool, self._node_id, ttl_s=self._ttl_s)
        self._node = ClusterNode(
            table, self.holder, info=self._info, reconcile=self.holder.reconcile
        )
        try:
            await self._node.claim()
        except _DB_ERRORS as exc:
            raise StoreError(f"cannot claim node id {self._node_id!r}: {exc}") from exc
        self._tail = EventTail(parts.store, self.dsn, parts.hub)
        self._notices = AccountNotices(self._pool, self.dsn, self)
        await self._tail.start()
        await self._notices.start()
        self._node.start()

    async def stop(self) -> None:
        """Stop watching (leases given back at once), then stop the tail and the notices."""
        if self._node is not None:
            try:
                await self._node.stop(leave=True)
            except _DB_ERRORS:
                # Could not give the leases back: they expire after the TTL instead.
                await self._node.stop(leave=False)
            self._node = None
        if self._notices is not None:
            await self._notices.stop()
            self._notices = None
        if self._tail is not None:
            await self._tail.stop()
            self._tail = None
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    @property
    def held(self) -> frozenset[str]:
        """The accounts this node holds leases on (and watches)."""
        return self._node.held if self._node is not None else frozenset()

    async def wait_started(self) -> None:
        """Wait until every account won so far has been started in the engine."""
        if self._node is not None:
            await self._node.wait_started()

    # -- the registry's questions ------------------------------------------------------------

    async def lookup(self, account_id: str) -> StoredAccount | None:
        """The shared store's copy: a worker may have connected it on another node.

        Raises:
            StoreError: the store cannot be read.
        """
        if self._parts is None:
            return None
        return await self._parts.store.get_account(account_id)

    async def place(self, account_id: str) -> Placed:
        """``STARTED`` when this node holds the lease (taken now if it was free), else
        ``ELSEWHERE``.

        Raises:
            StoreError: the database cannot be reached.
        """
        if self._node is None:
            return Placed.ELSEWHERE
        try:
            held = await self._node.adopt(account_id)
        except _DB_ERRORS as exc:
            raise StoreError(f"cannot take the lease of {account_id!r}: {exc}") from exc
        return Placed.STARTED if held else Placed.ELSEWHERE

    async def watch_elsewhere(
        self,
        account_id: str,
        names: tuple[str, ...],
        *,
        workers: tuple[str, ...],
        for_workers: bool,
    ) -> WatchResult:
        """Store the workers' watches and have the lease holder apply them.

        Same rule as on one node: the holder first applies the old set plus the new names, and
        the set shrinks to ``names`` only when none of them failed. A client's watch set stays
        on its node (docs/scaling.md): a client here gets the events of the mailboxes the
        account's workers watch.

        Raises:
            StoreError: the watches cannot be stored, or the holder cannot be asked.
        """
        if not for_workers:
            return WatchResult(names, ())
        trial = tuple(dict.fromkeys(workers + names))
        failed = set(await self._request_watch(account_id, trial))
        if failed & set(names):
            # The holder stored the set without the failed names (apply_stored_watches).
            kept = tuple(n for n in trial if n not in failed)
        else:
            kept = names
            if names != trial:  # the set shrank: the holder stops what it no longer needs
                failed_now = set(await self._request_watch(account_id, names))
                kept = tuple(n for n in names if n not in failed_now)
        return WatchResult(kept, tuple(n for n in names if n in failed))

    async def _request_watch(self, account_id: str, names: tuple[str, ...]) -> tuple[str, ...]:
        """Store the workers' watches and have the holder apply them; the names that failed."""
        assert self._parts is not None  # watches are set only once the server serves
        await self._parts.store.save_watches(account_id, names)
        failed_names = None
        if self._notices is not None:
            failed_names = await self._notices.request_watch(account_id)
        if failed_names is None:
            # No holder answered in time: the watches are stored, and the node that takes the
            # lease starts the account with them.
            logger.warning("no node answered for %s; its watches are stored", account_id)
            return ()
        return failed_names

    async def changed(self, account_id: str) -> None:
        """Tell the other nodes the account (or its watches) changed.

        Raises:
            StoreError: the database cannot be reached.
        """
        if self._notices is not None:
            await self._notices.changed(account_id)

    async def holders(self) -> Mapping[str, str]:
        """``account_id -> node_id`` for every live lease in the cluster.

        Raises:
            StoreError: the database cannot be reached.
        """
        if self._pool is None:
            return {}
        try:
            return await LeaseTable(self._pool, self._node_id, ttl_s=self._ttl_s).holders()
        except _DB_ERRORS as exc:
            raise StoreError(f"cannot read the leases: {exc}") from exc

    def health(self) -> dict[str, object]:
        """The cluster part of ``/health``: this node's name, leases, watchers and event tail.

        ``leases`` is what the node holds; ``watching`` what its engine really runs watchers
        for (counted from the watchers), so the two can be compared; ``unleased`` lists the
        cluster's accounts watched here without a lease (there should be none).
        """
        node, parts = self._node, self._parts
        watching = sorted(parts.engine.watching()) if parts is not None else []
        is_leased = parts.accounts.is_pinned if parts is not None else None
        renewed_at = node.renewed_at if node is not None else None
        holder = self.holder
        return {
            "nodeId": self._node_id,
            "leaseTtlS": self._ttl_s,
            "leases": sorted(self.held),
            "watching": watching,
            "unleased": [
                a
                for a in watching
                if a not in self.held and (is_leased is None or is_leased(a))
            ],
            "renewedAgoS": (
                None if renewed_at is None else round(time.monotonic() - renewed_at, 1)
            ),
            "leaseError": node.last_error if node is not None else None,
            "fenced": node.fenced if node is not None else False,
            "tail": self._tail.status() if self._tail is not None else None,
            "started": holder.starts if holder is not None else 0,
            "stopped": holder.stops if holder is not None else 0,
        }

    # -- account notices (AccountNotices' handler) -------------------------------------------

    async def account_changed(self, account_id: str) -> None:
        """Another node saved or deleted the account: re-read it. Never raises."""
        if self._parts is None:
            return
        try:
            await self._parts.accounts.reload(account_id)
        except (StoreError, EngineError, OSError) as exc:
            logger.warning("cannot re-read account %s: %s", account_id, exc)

    async def apply_stored_watches(self, account_id: str) -> tuple[str, ...] | None:
        """As the lease holder, watch what the workers' stored watch set says (a notice).

        Returns the names that failed, or ``None`` when this node does not hold the account.
        Never raises.
        """
        if self._parts is None:
            return None
        if account_id in self.held:
            await self.wait_started()  # the lease may have been won a moment ago
        return await self._parts.accounts.apply_worker_watches(account_id)

    async def resync(self) -> None:
        """Re-read every account (account notices may have been missed). Never raises."""
        if self._parts is None:
            return
        try:
            stored = await self._parts.store.load_accounts()
        except StoreError as exc:
            logger.warning("cannot re-read the accounts: %s", exc)
            return
        pinned = {a.config.account_id for a in stored if a.pinned}
        for account_id in sorted(pinned | self._parts.accounts.pinned_ids()):
            await self.account_changed(account_id)
