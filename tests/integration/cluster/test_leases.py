"""Leases on real PostgreSQL: spread, takeover after a node dies, a joining node, no overlap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection

import asyncpg
import pytest

from switchboard.cluster.leases import LeaseTable, NodeIdTaken
from switchboard.cluster.node import ClusterNode
from switchboard.model.accounts import AccountConfig, PasswordAuth
from switchboard.model.events import Checkpoint, NewMessage
from switchboard.store import SecretBox
from switchboard.store.postgres import LeaseLost, PostgresStore

TTL_S = 2.0
WAIT_S = 20.0


class Watching:
    """Who watches what, across all nodes; fails the test the moment two nodes overlap."""

    def __init__(self) -> None:
        self.by_account: dict[str, str] = {}
        self.overlaps: list[str] = []

    def holder(self, node_id: str) -> Holder:
        return Holder(self, node_id)


class Holder:
    def __init__(self, watching: Watching, node_id: str) -> None:
        self._w = watching
        self._node = node_id

    async def start_account(self, account_id: str) -> None:
        other = self._w.by_account.get(account_id)
        if other is not None and other != self._node:
            self._w.overlaps.append(f"{account_id}: {other} and {self._node}")
        self._w.by_account[account_id] = self._node

    async def stop_account(self, account_id: str) -> None:
        if self._w.by_account.get(account_id) == self._node:
            del self._w.by_account[account_id]


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    store = await PostgresStore.open(pg_dsn, SecretBox.generate())  # creates the schema
    for i in range(30):
        config = AccountConfig(f"user{i:02d}", "127.0.0.1", 143, PasswordAuth(f"user{i:02d}", "pw"))
        await store.save_account(config, pinned=True)
    await store.close()
    p = await asyncpg.create_pool(pg_dsn, min_size=1, max_size=6)
    yield p
    await p.close()


def node(pool: asyncpg.Pool, watching: Watching, name: str) -> ClusterNode:
    return ClusterNode(
        LeaseTable(pool, name, ttl_s=TTL_S), watching.holder(name), max_release_per_round=3
    )


async def until(
    nodes: list[ClusterNode], done: Callable[[], bool], timeout_s: float = WAIT_S
) -> None:
    """Wait, round by round, until ``done()``; fail after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not done():
            waits = [asyncio.create_task(n.round_done.wait()) for n in nodes]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            for n in nodes:
                n.round_done.clear()


def spread(nodes: list[ClusterNode]) -> list[int]:
    return sorted(len(n.held) for n in nodes)


async def test_accounts_spread_move_on_death_and_rebalance_on_join(pool: asyncpg.Pool) -> None:
    watching = Watching()
    nodes = [node(pool, watching, f"n{i}") for i in range(3)]
    for n in nodes:
        n.start()
    try:
        await until(nodes, lambda: spread(nodes) == [10, 10, 10])
        assert len(watching.by_account) == 30

        # n2 dies (its leases are left to expire, as after kill -9).
        dead = nodes.pop()
        await dead.stop(leave=False)
        loop = asyncio.get_running_loop()
        died_at = loop.time()
        await until(nodes, lambda: spread(nodes) == [15, 15])
        # Within the TTL, plus a round to notice and one to acquire, plus slack for a busy
        # 2-core machine (the database and the other nodes share it).
        took_s = loop.time() - died_at
        assert took_s <= TTL_S + 2 * nodes[0].interval_s + 2.0, f"takeover took {took_s:.1f} s"
        assert len(watching.by_account) == 30

        # A fresh node joins: the others give back 3 per round until everyone has 10.
        joiner = node(pool, watching, "n3")
        joiner.start()
        nodes.append(joiner)
        await until(nodes, lambda: spread(nodes) == [10, 10, 10])
        holders = await LeaseTable(pool, "probe", ttl_s=TTL_S).holders()
        assert sorted(holders) == sorted(watching.by_account)
        assert {holders[a] for a in joiner.held} == {"n3"}
        assert watching.overlaps == []
    finally:
        for n in nodes:
            await n.stop()


async def test_a_node_that_cannot_renew_fences_itself(pool: asyncpg.Pool) -> None:
    watching = Watching()
    n = node(pool, watching, "lonely")
    n.start()
    try:
        await until([n], lambda: len(n.held) == 30)
    finally:
        await n.stop()
    # The same node with a clock far ahead: its renewal counts as too old when it returns.
    now = [0.0]
    late = ClusterNode(
        LeaseTable(pool, "late", ttl_s=TTL_S), watching.holder("late"), clock=lambda: now[0]
    )
    await late.run_round()
    assert len(late.held) == 30
    now[0] += TTL_S  # as if the next renewal never answered for a whole TTL
    await late.fence_if_expired()
    assert late.held == frozenset()
    assert watching.by_account == {}
    await late.stop()


async def test_record_is_fenced_by_the_lease(pg_dsn: str, pool: asyncpg.Pool) -> None:
    a = await PostgresStore.open(pg_dsn, SecretBox.generate(), node_id="a")
    b = await PostgresStore.open(pg_dsn, SecretBox.generate(), node_id="b")
    try:
        table = LeaseTable(pool, "a", ttl_s=TTL_S)
        assert (await table.claim()).owned  # only the process owning its node id may lease
        assert await table.acquire(1) == ["user00"]
        event = NewMessage("user00", "INBOX", 1, 1)
        with pytest.raises(LeaseLost):
            await b.record("user00", "INBOX", Checkpoint(1, 1), [event])
        stored = await a.record("user00", "INBOX", Checkpoint(1, 1), [event])
        assert [s.event_id for s in stored] == [1]
        # Accounts without a lease (client-held) are not fenced.
        await b.record("client-only", "INBOX", Checkpoint(1, 0), [])
    finally:
        await a.close()
        await b.close()


async def test_a_second_process_with_a_live_node_id_is_refused(pool: asyncpg.Pool) -> None:
    watching = Watching()
    first = node(pool, watching, "n1")
    await first.claim()
    first.start()
    try:
        await until([first], lambda: len(first.held) == 30)
        twin = node(pool, watching, "n1")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(NodeIdTaken, match=r"node id 'n1' is in use by a live node"):
            await twin.claim()
        # Refused as soon as the live node's heartbeat moved: within about one round.
        assert loop.time() - started <= first.interval_s + 1.0
        # The twin cannot beat for n1 either, nor take its accounts.
        with pytest.raises(NodeIdTaken):
            await twin.run_round()
        assert await LeaseTable(pool, "n1", ttl_s=TTL_S).acquire(30) == []
        assert twin.held == frozenset() and len(first.held) == 30
        await twin.stop()  # gives back nothing: the id is not its own
        holders = await LeaseTable(pool, "probe", ttl_s=TTL_S).holders()
        assert len(holders) == 30 and set(holders.values()) == {"n1"}
    finally:
        await first.stop()


async def test_a_restart_with_the_id_of_a_dead_process_waits_for_its_beat_to_expire(
    pool: asyncpg.Pool,
) -> None:
    watching = Watching()
    dead = node(pool, watching, "n1")
    await dead.claim()
    await dead.run_round()
    assert len(dead.held) == 30
    await dead.stop(leave=False)  # as after kill -9: the heartbeat stays, then expires
    # Its leases outlive its heartbeat a little (they were renewed a moment after it): the
    # new process must not renew them as its own, or nobody would watch those accounts.
    async with pool.acquire() as conn:
        await conn.execute("UPDATE leases SET expires_at = expires_at + 1")
    loop = asyncio.get_running_loop()
    started = loop.time()
    restarted = node(pool, watching, "n1")
    await restarted.claim()
    waited_s = loop.time() - started
    assert TTL_S - 1.0 <= waited_s <= TTL_S + 2.0, waited_s
    restarted.start()
    try:
        await until([restarted], lambda: len(restarted.held) == 30)
    finally:
        await restarted.stop()


async def test_a_round_stuck_on_the_database_still_fences(pool: asyncpg.Pool) -> None:
    # The lease loop waits on a renewal that never answers (a hung database): the watchdog
    # stops every account on the node's own clock all the same.
    class Stuck(LeaseTable):
        hang = False

        async def heartbeat_and_renew(self, held: Collection[str], info: str = "") -> set[str]:
            if self.hang:
                await asyncio.Event().wait()
            return await super().heartbeat_and_renew(held, info)

    watching = Watching()
    table = Stuck(pool, "stuck", ttl_s=TTL_S)
    n = ClusterNode(table, watching.holder("stuck"))
    await n.claim()
    n.start()
    try:
        await until([n], lambda: len(n.held) == 30)
        table.hang = True
        async with asyncio.timeout(TTL_S * 2):
            while n.held:  # noqa: ASYNC110 - the watchdog has no event to wait on
                await asyncio.sleep(0.05)
        assert n.fenced and watching.by_account == {}
    finally:
        await n.stop(leave=False)
