"""The ``nodes`` and ``leases`` tables: heartbeats, and who watches which account until when.

Every time comparison uses the database's clock (``clock_timestamp()``), never a node's, so
nodes with skewed clocks still agree on which lease has expired. A lease row is
``(account_id, node_id, expires_at)``; an account without a row, or whose row has expired, is
free. Only pinned (stored) accounts are leased; client-held accounts stay on the node their
client connected to. The tables are created by the PostgreSQL store's schema step 3.

Each method is one statement or one transaction, so a node killed half way leaves nothing to
repair: its leases simply expire.

One process per node id: every process draws a random ``instance`` tag, and a heartbeat only
counts when the ``nodes`` row carries that tag, or when the row's last heartbeat is older than
one TTL (its process is gone). A second process started with a live node's id therefore cannot
beat for it (:meth:`LeaseTable.claim` says who holds it, and :meth:`LeaseTable.heartbeat_and_renew`
raises :class:`NodeIdTaken`), so it can neither keep a dead twin's leases alive nor renew them.
"""

# Only the constant _NOW is interpolated into SQL; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass

import asyncpg

from switchboard.errors import SwitchboardError

__all__ = ["LeaseTable", "NodeIdTaken", "NodeInfo"]

# The database's Unix time, as a SQL expression (clock_timestamp moves within a transaction).
_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"
# "This process owns its node id" ($1 the node id, $4 the instance): only then may it lease.
_MINE = "EXISTS (SELECT 1 FROM nodes WHERE node_id = $1 AND instance = $4)"


class NodeIdTaken(SwitchboardError):  # noqa: N818 (named like the store's errors)
    """Another live process beats under this node's id; this one must not act as the node."""

    def __init__(self, node_id: str, heartbeat_age_s: float) -> None:
        super().__init__(
            f"node id {node_id!r} is in use by a live node (heartbeat {heartbeat_age_s:.1f} s"
            " ago); pick another --node-id or stop it"
        )
        self.node_id = node_id
        self.heartbeat_age_s = heartbeat_age_s


@dataclass(frozen=True, slots=True)
class Claim:
    """What :meth:`LeaseTable.claim` found: whether this process now owns the node id.

    When it does not, ``heartbeat_at`` and ``age_s`` describe the other process's last beat.
    """

    owned: bool
    heartbeat_at: float = 0.0
    age_s: float = 0.0


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
        instance: this process's tag (random when ``None``); see the module docstring.
    """

    def __init__(
        self, pool: asyncpg.Pool, node_id: str, *, ttl_s: float, instance: str | None = None
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self._pool = pool
        self.node_id = node_id
        self.ttl_s = ttl_s
        self.instance = instance if instance is not None else secrets.token_hex(8)

    # Beat as this process: insert the row, or take it over when it is ours or its process is
    # gone (no beat for a TTL); a live twin's row is left alone and nothing is returned.
    _BEAT = (
        f"INSERT INTO nodes (node_id, heartbeat_at, load, info, instance)"
        f" VALUES ($1, {_NOW}, $2, $3, $4)"
        " ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,"
        " load = excluded.load, info = excluded.info, instance = excluded.instance"
        f" WHERE nodes.instance = excluded.instance OR nodes.heartbeat_at <= {_NOW} - $5"
        " RETURNING node_id"
    )

    async def claim(self, info: str = "") -> Claim:
        """Beat once as this process if the node id is free; else say who beats for it.

        Free means: never used, used by this process, or its last beat is a TTL old.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            won = await conn.fetchval(self._BEAT, self.node_id, 0, info, self.instance, self.ttl_s)
            if won is not None:
                return Claim(True)
            row = await conn.fetchrow(
                f"SELECT heartbeat_at, {_NOW} - heartbeat_at FROM nodes WHERE node_id = $1",
                self.node_id,
            )
        if row is None:  # left between the two statements: try again
            return await self.claim(info)
        return Claim(False, float(row[0]), max(0.0, float(row[1])))

    async def heartbeat_and_renew(self, held: Collection[str], info: str = "") -> set[str]:
        """Record this node's heartbeat and renew the live leases of ``held``; return those.

        Only the accounts this process holds are renewed: a lease left under the same node id
        by a process that died (and restarted with the id) is left to expire, so the accounts
        nobody here watches are free again within the TTL. A lease that already expired is
        not renewed (another node may have taken it), nor is the lease of an account deleted
        since.

        Raises:
            NodeIdTaken: another live process beats under this node id (nothing renewed).
        """
        async with self._pool.acquire() as conn, conn.transaction():
            won = await conn.fetchval(
                self._BEAT, self.node_id, len(held), info, self.instance, self.ttl_s
            )
            if won is None:
                age = await conn.fetchval(
                    f"SELECT {_NOW} - heartbeat_at FROM nodes WHERE node_id = $1", self.node_id
                )
                raise NodeIdTaken(self.node_id, float(age or 0.0))
            rows = await conn.fetch(
                f"UPDATE leases SET expires_at = {_NOW} + $2"
                f" WHERE node_id = $1 AND expires_at >= {_NOW} AND account_id = ANY($3::text[])"
                " AND account_id IN (SELECT account_id FROM accounts WHERE pinned)"
                " RETURNING account_id",
                self.node_id,
                self.ttl_s,
                list(held),
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
                f" AND {_MINE}"
                " ORDER BY a.account_id LIMIT $2 FOR UPDATE OF a SKIP LOCKED)"
                " INSERT INTO leases (account_id, node_id, expires_at)"
                f" SELECT account_id, $1, {_NOW} + $3 FROM candidates"
                " ON CONFLICT (account_id) DO UPDATE SET node_id = excluded.node_id,"
                f" expires_at = excluded.expires_at WHERE leases.expires_at < {_NOW}"
                " RETURNING account_id",
                self.node_id,
                limit,
                self.ttl_s,
                self.instance,
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
                f" WHERE account_id = $2 AND pinned AND {_MINE}"
                " ON CONFLICT (account_id) DO UPDATE SET node_id = excluded.node_id,"
                " expires_at = excluded.expires_at"
                f" WHERE leases.expires_at < {_NOW} OR leases.node_id = excluded.node_id"
                " RETURNING account_id",
                self.node_id,
                account_id,
                self.ttl_s,
                self.instance,
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
        """Release every lease and drop this node's heartbeat (a clean shutdown).

        Only when the node id is this process's: a process that lost its id to another does
        not take that one's leases away.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            mine = await conn.fetchval(
                "SELECT 1 FROM nodes WHERE node_id = $1 AND instance = $2 FOR UPDATE",
                self.node_id,
                self.instance,
            )
            if mine is None:
                return
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
