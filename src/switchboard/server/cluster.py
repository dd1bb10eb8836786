"""A server's place in a cluster: its lease loop, its event tail and its account notices.

Built by :class:`~switchboard.server.app.SwitchboardServer` when ``store_url`` names a
PostgreSQL database (docs/scaling.md). It owns:

- a small pool of its own for the lease loop, so renewals never queue behind the store's calls;
- the :class:`~switchboard.cluster.node.ClusterNode` deciding which pinned accounts this node's
  engine watches (through an :class:`~switchboard.cluster.holder.EngineLeaseHolder`);
- the :class:`~switchboard.cluster.tail.EventTail` that hands every event of the shared log,
  local or not, to the hub exactly once (the engine's own sink is a ``NullSink``);
- the :class:`~switchboard.cluster.notices.AccountNotices` through which the account registries
  of the nodes keep each other informed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg

from switchboard.cluster.holder import EngineLeaseHolder
from switchboard.cluster.leases import LeaseTable
from switchboard.cluster.node import ClusterNode
from switchboard.cluster.notices import AccountNotices, NoticeHandler
from switchboard.cluster.tail import EventTail
from switchboard.engine.engine import Engine
from switchboard.model.store import EventSink, Store
from switchboard.store.errors import StoreError

__all__ = ["ClusterLink"]

# Lease rounds and notices need few connections; the store has its own pool.
_POOL_MAX_CONNECTIONS = 3
# Bounds on the lease pool's calls: a database that stops answering fails a round instead of
# holding it (the node fences itself on its own clock either way).
_CONNECT_TIMEOUT_S = 10.0
_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class ClusterLink:
    """This node's lease loop, event tail and account notices.

    Args:
        dsn: the shared database (the store's URL).
        node_id: this node's name, unique in the cluster.
        store: the shared store (opened with the same ``node_id``).
        engine: this node's engine (whose sink must be a ``NullSink``).
        hub: the local fan-out the event tail publishes to.
        lease_ttl_s: how long a lease lasts without renewal.
        info: a note other nodes see in the ``nodes`` table (e.g. this node's URL).
    """

    def __init__(
        self,
        dsn: str,
        node_id: str,
        store: Store,
        engine: Engine,
        hub: EventSink,
        *,
        lease_ttl_s: float,
        info: str = "",
    ) -> None:
        self.dsn = dsn
        self.node_id = node_id
        self._store = store
        self._engine = engine
        self._hub = hub
        self._ttl_s = lease_ttl_s
        self._info = info
        self._pool: asyncpg.Pool | None = None
        self._node: ClusterNode | None = None
        self._tail: EventTail | None = None
        self._notices: AccountNotices | None = None
        self.holder = EngineLeaseHolder(engine, store)
        """Counts the accounts this node started and stopped (for /health)."""

    async def start(self, handler: NoticeHandler, *, is_leased: Callable[[str], bool]) -> None:
        """Claim the node id, follow the event log, listen for account notices, start leasing.

        Args:
            handler: acts on account notices (the account registry).
            is_leased: whether an account is leased by the cluster (a pinned one).

        Raises:
            NodeIdTaken: another live process uses this node id (one clear line for the CLI).
            StoreError: the database cannot be reached.
        """
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
        self.holder.is_leased = is_leased
        table = LeaseTable(self._pool, self.node_id, ttl_s=self._ttl_s)
        self._node = ClusterNode(
            table, self.holder, info=self._info, reconcile=self.holder.reconcile
        )
        try:
            await self._node.claim()
        except _DB_ERRORS as exc:
            raise StoreError(f"cannot claim node id {self.node_id!r}: {exc}") from exc
        self._tail = EventTail(self._store, self.dsn, self._hub)
        self._notices = AccountNotices(self._pool, self.dsn, handler)
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

    async def adopt(self, account_id: str) -> bool:
        """Take the account's lease now if it is free, and start it here.

        Raises:
            StoreError: the database cannot be reached.
        """
        if self._node is None:
            return False
        try:
            return await self._node.adopt(account_id)
        except _DB_ERRORS as exc:
            raise StoreError(f"cannot take the lease of {account_id!r}: {exc}") from exc

    async def changed(self, account_id: str) -> None:
        """Tell the other nodes the account (or its watches) changed.

        Raises:
            StoreError: the database cannot be reached.
        """
        if self._notices is not None:
            await self._notices.changed(account_id)

    async def request_watch(self, account_id: str) -> tuple[str, ...] | None:
        """Ask the holder to apply the stored watches; its failed names, ``None`` if no answer.

        Raises:
            StoreError: the database cannot be reached.
        """
        if self._notices is None:
            return None
        return await self._notices.request_watch(account_id)

    async def holders(self) -> dict[str, str]:
        """``account_id -> node_id`` for every live lease in the cluster.

        Raises:
            StoreError: the database cannot be reached.
        """
        if self._pool is None:
            return {}
        try:
            return await LeaseTable(self._pool, self.node_id, ttl_s=self._ttl_s).holders()
        except _DB_ERRORS as exc:
            raise StoreError(f"cannot read the leases: {exc}") from exc

    def health(self) -> dict[str, object]:
        """The cluster part of ``/health``: this node's name, leases, watchers and event tail.

        ``leases`` is what the node holds; ``watching`` what its engine really runs watchers
        for (counted from the watchers), so the two can be compared; ``unleased`` lists the
        cluster's accounts watched here without a lease (there should be none).
        """
        node = self._node
        watching = sorted(self._engine.watching())
        is_leased = self.holder.is_leased
        renewed_at = node.renewed_at if node is not None else None
        return {
            "nodeId": self.node_id,
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
            "started": self.holder.starts,
            "stopped": self.holder.stops,
        }
