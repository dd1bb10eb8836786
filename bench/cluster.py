"""Benchmark the lease layer: 2 nodes sharing 20,000 accounts on one PostgreSQL.

Measures what the cluster adds, not IMAP: how long two nodes take to split the accounts, what a
renewal round costs, how long the survivor takes to own everything after the other node dies
(leases left to expire), and how long a node joining again takes to get its half back. The
holders are no-ops, so the figures are the lease loop's own; watching the accounts is the
engine's cost, measured by ``bench/capacity.py`` against ``bench/fake_imap.py``.

Run: ``.venv/bin/python bench/cluster.py [--accounts 20000] [--ttl 6]`` with PostgreSQL on
127.0.0.1:5432 (trust auth as ``postgres``); it creates and drops a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time

import asyncpg  # type: ignore[import-untyped]

from switchboard.cluster.leases import LeaseTable
from switchboard.cluster.node import ClusterNode
from switchboard.store import SecretBox
from switchboard.store.postgres import PostgresStore

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


class NoopHolder:
    """Holds leases without watching anything: the lease loop's own cost is measured."""

    async def start_account(self, account_id: str) -> None:
        pass

    async def stop_account(self, account_id: str) -> None:
        pass


async def until(nodes: list[ClusterNode], done: object, timeout_s: float = 600) -> float:
    start = time.perf_counter()
    async with asyncio.timeout(timeout_s):
        while not done():  # type: ignore[operator]
            waits = [asyncio.create_task(n.round_done.wait()) for n in nodes]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            for n in nodes:
                n.round_done.clear()
    return time.perf_counter() - start


async def main(accounts: int, ttl_s: float) -> None:
    name = f"sbbench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f"CREATE DATABASE {name}")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        store = await PostgresStore.open(dsn, SecretBox.generate())
        await store.close()
        conn = await asyncpg.connect(dsn)
        # Bulk rows: the credentials column only has to be non-empty for leasing.
        await conn.execute(
            "INSERT INTO accounts (account_id, host, port, tls, ca_file, verify_tls, allow_plain,"
            " provider, credentials, pinned, created_at, updated_at)"
            " SELECT 'user' || i, '127.0.0.1', 1143, 'plain', NULL, false, true, NULL, '\\x00',"
            " true, 0, 0 FROM generate_series(1, $1) AS i",
            accounts,
        )
        await conn.close()
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)

        def node(n: str) -> ClusterNode:
            return ClusterNode(
                LeaseTable(pool, n, ttl_s=ttl_s),
                NoopHolder(),
                max_acquire_per_round=accounts,
                max_release_per_round=2000,
            )

        a, b = node("a"), node("b")
        a.start()
        b.start()
        half = -(-accounts // 2)
        t = await until([a, b], lambda: len(a.held) + len(b.held) == accounts)
        print(f"{accounts} accounts split {len(a.held)}/{len(b.held)} in {t:.2f} s")
        table = LeaseTable(pool, "a", ttl_s=ttl_s)
        start = time.perf_counter()
        for _ in range(5):
            await table.heartbeat_and_renew(len(a.held))
        per_round_ms = (time.perf_counter() - start) / 5 * 1000
        print(f"one renewal of {len(a.held)} leases: {per_round_ms:.0f} ms")

        await b.stop(leave=False)
        t = await until([a], lambda: len(a.held) == accounts)
        print(f"node b killed: a owns all {accounts} after {t:.2f} s (TTL {ttl_s:.0f} s)")

        c = node("c")
        c.start()
        t = await until([a, c], lambda: len(c.held) >= half - 1 and len(a.held) <= half + 1)
        print(f"node c joined: {len(a.held)}/{len(c.held)} after {t:.2f} s")
        await a.stop()
        await c.stop()
        await pool.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--ttl", type=float, default=6.0)
    args = parser.parse_args()
    asyncio.run(main(args.accounts, args.ttl))
