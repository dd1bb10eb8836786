"""Three nodes, one PostgreSQL, real Dovecot: spread, one watcher per account, takeover, no loss.

The nodes run in this process (an engine, a lease loop and a store each, on their own pools);
node 1's event tail stands in for the hub a worker on node 1 would read from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest

from switchboard.cluster.holder import EngineLeaseHolder
from switchboard.cluster.leases import LeaseTable
from switchboard.cluster.node import ClusterNode
from switchboard.cluster.tail import EventTail, NullSink
from switchboard.engine import Engine, EngineSettings
from switchboard.model.accounts import AccountConfig, PasswordAuth, TlsMode
from switchboard.model.events import NewMessage, StoredEvent
from switchboard.store import SecretBox
from switchboard.store.postgres import PostgresStore
from tests.support.dovecot import DovecotServer, ImapUser

pytestmark = pytest.mark.dovecot

TTL_S = 3.0
ACCOUNTS = 30
WAIT_S = 30.0
FAST = EngineSettings(
    connect_timeout_s=5.0,
    command_timeout_s=5.0,
    backoff_initial_s=0.2,
    backoff_cap_s=1.0,
    stop_timeout_s=3.0,
)


class Worker:
    """What a worker on node 1 sees: (account, uid) of every newMessage, duplicates kept."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []
        self.changed = asyncio.Event()

    def publish(self, events: Sequence[StoredEvent]) -> None:
        for e in events:
            if isinstance(e.event, NewMessage):
                self.seen.append((e.event.account_id, e.event.uid))
        self.changed.set()

    async def wait_for(self, wanted: set[tuple[str, int]]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not wanted <= set(self.seen):
                self.changed.clear()
                await self.changed.wait()


class Node:
    def __init__(self, name: str, dsn: str, box: SecretBox) -> None:
        self.name = name
        self.dsn = dsn
        self.box = box

    async def start(self) -> None:
        self.store = await PostgresStore.open(self.dsn, self.box, node_id=self.name)
        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)
        self.engine = Engine(self.store, NullSink(), settings=FAST)
        self.holder = EngineLeaseHolder(self.engine, self.store)
        self.loop = ClusterNode(LeaseTable(self.pool, self.name, ttl_s=TTL_S), self.holder)
        self.loop.start()

    async def stop(self, *, leave: bool = True) -> None:
        await self.loop.stop(leave=leave)
        await self.engine.stop()
        await self.pool.close()
        await self.store.close()


def message(n: int) -> bytes:
    return f"From: a@example.com\r\nSubject: m{n}\r\n\r\nbody {n}\r\n".encode()


async def until(nodes: list[Node], done: object, timeout_s: float = WAIT_S) -> None:
    async with asyncio.timeout(timeout_s):
        while not done():  # type: ignore[operator]
            waits = [asyncio.create_task(n.loop.round_done.wait()) for n in nodes]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            for n in nodes:
                n.loop.round_done.clear()
        for n in nodes:
            await n.loop.wait_started()


async def test_three_nodes_share_accounts_and_survive_a_dead_node(
    dovecot: DovecotServer, pg_dsn: str
) -> None:
    box = SecretBox.generate()
    users: list[ImapUser] = [dovecot.new_user() for _ in range(ACCOUNTS)]
    setup = await PostgresStore.open(pg_dsn, box)
    for u in users:
        config = AccountConfig(
            u.username,
            dovecot.host,
            dovecot.port,
            PasswordAuth(u.username, u.password),
            tls=TlsMode.PLAIN,
            allow_plain=True,
        )
        await setup.save_account(config, pinned=True)
        await setup.save_watches(u.username, ["INBOX"])
    await setup.close()

    nodes = [Node(f"node{i}", pg_dsn, box) for i in (1, 2, 3)]
    for n in nodes:
        await n.start()
    worker = Worker()
    tail = EventTail(nodes[0].store, pg_dsn, worker, poll_interval_s=0.5)
    await tail.start()
    try:
        await until(nodes, lambda: sorted(len(n.loop.held) for n in nodes) == [10, 10, 10])
        # Exactly one engine holds each account, and Dovecot sees one node's connections
        # (its IDLE watcher plus its command connection) per user.
        for u in users:
            assert sum(n.engine.has_account(u.username) for n in nodes) == 1
            assert dovecot.imap_connection_count(u) <= 2

        # Mail for all 30 accounts reaches the worker on node 1.
        appended: set[tuple[str, int]] = set()
        for u in users:
            uid = await asyncio.to_thread(dovecot.append, u, message(1))
            appended.add((u.username, uid))
        await worker.wait_for(appended)

        # A burst of appends while node 3 dies (its leases are left to expire).
        dead = nodes.pop()
        dead_accounts = set(dead.loop.held)

        async def burst() -> None:
            for n in range(2, 5):
                for u in users:
                    uid = await asyncio.to_thread(dovecot.append, u, message(n))
                    appended.add((u.username, uid))

        appending = asyncio.create_task(burst())
        await dead.stop(leave=False)
        await appending
        await until(nodes, lambda: sorted(len(n.loop.held) for n in nodes) == [15, 15])
        assert dead_accounts <= nodes[0].loop.held | nodes[1].loop.held
        await worker.wait_for(appended)
        assert sorted(set(worker.seen)) == sorted(appended)
        assert len(worker.seen) == len(appended)  # nothing announced twice
        for u in users:
            assert sum(n.engine.has_account(u.username) for n in nodes) == 1
    finally:
        await tail.stop()
        for n in nodes:
            await n.stop()
