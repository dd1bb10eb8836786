"""The ``nodes`` and ``leases`` tables: heartbeats, and who watches which account until when.

Every time comparison uses the database's clock (``clock_timestamp()``), never a node's, so
nodes with skewed clocks still agree on which lease has expired. A lease row is
``(account_id, node_id, expires_at)``; an account without a row, or whose row has expired, is
free. Only pinned (stored) accounts are leased; client-held accounts stay on the node their
client connected to. The tables are created by the PostgreSQL store's schema step 3.

Each method is one statement or one transaction, so a node killed half way leaves nothing to
repair: its leases simply expire.
"""

# Only the constant _NOW is interpolated into SQL; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import asyncpg

__all__ = ["LeaseTable", "NodeInfo"]

# The database's Unix time, as a SQL expression (clock_timestamp moves within a transaction).
_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A node as the others see it: its last heartbeat, its load and whether it is alive."""

    node_id: str
    heartbeat_at: float
    load: int
    alive: bool
    info: str


class LeaseTable:
    """Lease operations for one node over a pool on the shared database.

    Args:
        pool: an ``asyncpg`` pool on the database the PostgreSQL store uses.
        node_id: this node's name, unique in the cluster.
        ttl_s: how long a lease (and a heartbeat) lasts without renewal.
    """

    def __init__(self, pool: asyncpg.Pool, node_id: str, *, ttl_s: float) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self._pool = pool
        self.node_id = node_id
        self.ttl_s = ttl_s

    async def heartbeat_and_renew(self, load: int, info: str = "") -> set[str]:
        """Record this node's heartbeat and renew its live leases; return the renewed accounts.

        A lease that already expired is not renewed (another node may have taken it), nor is
        the lease of an account deleted since.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                f"INSERT INTO nodes (node_id, heartbeat_at, load, info) VALUES ($1, {_NOW}, $2, $3)"
                " ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,"
                " load = excluded.load, info = excluded.info",
                self.node_id,
                load,
                info,
            )
            rows = await conn.fetch(
                f"UPDATE leases SET expires_at = {_NOW} + $2"
                f" WHERE node_id = $1 AND expires_at >= {_NOW}"
                " AND account_id IN (SELECT account_id FROM accounts WHERE pinned)"
                " RETURNING account_id",
                self.node_id,
                self.ttl_s,
            )
        return {r[0] for r in rows}

    async def counts(self) -> tuple[int, int]:
        """Return ``(pinned accounts, alive nodes)``; a node is alive within one TTL of its beat."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM accounts WHERE pinned),"
                f" (SELECT count(*) FROM nodes WHERE heartbeat_at > {_NOW} - $1)",
                self.ttl_s,
            )
        assert row is not None  # an aggregate query always returns one row
        return int(row[0]), int(row[1])

    async def acquire(self, limit: int) -> list[str]:
        """Take up to ``limit`` free accounts (never leased, or whose lease expired).

        Candidates are locked with ``SKIP LOCKED``, so nodes acquiring at the same moment take
        different accounts instead of queueing; the conditional upsert only replaces a lease
        that is still expired when the row is written.
        """
        if limit <= 0:
            return []
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "WITH candidates AS ("
                " SELECT a.account_id FROM accounts a"
                " LEFT JOIN leases l ON l.account_id = a.account_id"
                f" WHERE a.pinned AND (l.account_id IS NULL OR l.expires_at < {_NOW})"
                " ORDER BY a.account_id LIMIT $2 FOR UPDATE OF a SKIP LOCKED)"
                " INSERT INTO leases (account_id, node_id, expires_at)"
                f" SELECT account_id, $1, {_NOW} + $3 FROM candidates"
                " ON CONFLICT (account_id) DO UPDATE SET node_id = excluded.node_id,"
                f" expires_at = excluded.expires_at WHERE leases.expires_at < {_NOW}"
                " RETURNING account_id",
                self.node_id,
                limit,
                self.ttl_s,
            )
        return sorted(r[0] for r in rows)

    async def acquire_account(self, account_id: str) -> bool:
        """Take the lease of one pinned account if it is free; return whether this node has it.

        Used when a worker connects a new account on this node, so it is watched at once
        instead of at the next round; the fair share then moves extras to the other nodes.
        Also true when this node already holds the live lease.
        """
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "INSERT INTO leases (account_id, node_id, expires_at)"
                f" SELECT account_id, $1, {_NOW} + $3 FROM accounts"
                " WHERE account_id = $2 AND pinned"
                " ON CONFLICT (account_id) DO UPDATE SET node_id = excluded.node_id,"
                " expires_at = excluded.expires_at"
                f" WHERE leases.expires_at < {_NOW} OR leases.node_id = excluded.node_id"
                " RETURNING account_id",
                self.node_id,
                account_id,
                self.ttl_s,
            )
        return row is not None

    async def release(self, account_ids: Collection[str]) -> None:
        """Give leases back at once (the caller stopped watching those accounts first)."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM leases WHERE node_id = $1 AND account_id = ANY($2::text[])",
                self.node_id,
                list(account_ids),
            )

    async def leave(self) -> None:
        """Release every lease and drop this node's heartbeat (a clean shutdown)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM leases WHERE node_id = $1", self.node_id)
            await conn.execute("DELETE FROM nodes WHERE node_id = $1", self.node_id)

    async def holders(self) -> dict[str, str]:
        """Return ``account_id -> node_id`` for every live lease (for /health and the dashboard)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT account_id, node_id FROM leases WHERE expires_at >= {_NOW}"
            )
        return {a: n for a, n in rows}

    async def nodes(self) -> list[NodeInfo]:
        """Return every node that ever beat and has not left, alive ones first."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT node_id, heartbeat_at, load, heartbeat_at > {_NOW} - $1, info"
                " FROM nodes ORDER BY 4 DESC, node_id",
                self.ttl_s,
            )
        return [NodeInfo(n, float(h), int(ld), bool(a), i) for n, h, ld, a, i in rows]
