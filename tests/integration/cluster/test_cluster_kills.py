"""Three ``switchboard serve`` nodes under repeated kill -9: one IMAP session per account, no loss.

The IMAP server is the witness. After the nodes settle and after every takeover, Dovecot must
show exactly one session per account, in IDLE (its session titles and ``doveadm who``), and a
sampler checks all along that no account ever has two sessions in IDLE at once. Every node's
``/health`` must list as watched exactly the accounts it leases.

The worker connects to node 1 and, when its node is killed, resumes on another node with
``since``. Node 3 is killed and restarted with the same id while node 1 (the worker's node) is
killed; later node 2 is killed. Every message appended is announced once: counted by message
(account, UIDVALIDITY, UID), not by event id, so an event announced twice under two ids fails.

``SWITCHBOARD_CLUSTER_KILL_RUNS`` repeats the whole scenario (CI runs it once).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

import switchboard.aio
from tests.support.cluster import (
    Node,
    RoamingWorker,
    connect_args,
    duplicates_by_message,
    fair,
    leases,
    message,
    one_session_each,
    redeliveries,
    until,
    watching,
)
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.postgres import PgDatabase

RUNS = int(os.environ.get("SWITCHBOARD_CLUSTER_KILL_RUNS", "1"))

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(150 * RUNS)]

ACCOUNTS = 24
TTL_S = 3.0
WAIT_S = 40.0
# Command connections close after 1 s unused, so Dovecot soon shows only the IDLE sessions.
NODE_ENV = {"SWITCHBOARD_IMAP_COMMAND_IDLE_CLOSE_S": "1"}


class IdleSampler:
    """Reads Dovecot's sessions over and over; records every user seen with two IDLE sessions.

    Ghost sessions (a killed client's, which Dovecot has not noticed yet) are not counted but
    reported, see ``DovecotServer.sessions_by_user``.
    """

    def __init__(self, dovecot: DovecotServer, users: list[ImapUser]) -> None:
        self.dovecot = dovecot
        self.names = {u.username for u in users}
        self.violations: list[tuple[str, list[str]]] = []
        self.ghosts: set[str] = set()  # users seen with a ghost session (not counted)
        self.rounds = 0

    async def run(self) -> None:
        while True:
            sessions = await asyncio.to_thread(self.dovecot.sessions_by_user)
            for user, commands in sessions.items():
                if user in self.names and commands.count("IDLE") > 1:
                    self.violations.append((user, commands))
            ghosts = await asyncio.to_thread(self.dovecot.sessions_by_user, ghosts=True)
            self.ghosts.update(u for u in ghosts if u in self.names)
            self.rounds += 1
            await asyncio.sleep(0.1)


def watched_as_leased(nodes: list[Node]) -> bool:
    """Each live node's engine watches exactly the accounts it holds leases on."""
    alive = [n for n in nodes if n.alive]
    return leases(alive) == watching(alive)


async def one_run(run: int, dovecot: DovecotServer, pg_dsn: str, tmp: Path) -> str:
    key = Fernet.generate_key().decode()
    nodes = [
        Node(f"n{i}", pg_dsn, key, dovecot, tmp, ttl_s=TTL_S, env=NODE_ENV) for i in (1, 2, 3)
    ]
    n1, n2, n3 = nodes
    users = [dovecot.new_user() for _ in range(ACCOUNTS)]
    uidvalidity = {u.username: dovecot.uidvalidity(u) for u in users}
    appended: set[tuple[str, str]] = set()
    worker = RoamingWorker(nodes)
    sampler = IdleSampler(dovecot, users)
    sampling: asyncio.Task[None] | None = None

    def append(user: ImapUser, label: str) -> None:
        uid = dovecot.append(user, message(label))
        appended.add((user.username, f"INBOX!{uidvalidity[user.username]}?{uid}"))

    async def burst(label: str, under_way: asyncio.Event) -> None:
        for n in range(3):
            for i, u in enumerate(users):
                await asyncio.to_thread(append, u, f"{label} {n}")
                if n == 0 and i == ACCOUNTS // 3:
                    under_way.set()

    async def takeover(alive: list[Node], what: str, killed_at: float) -> float:
        """Wait until the live nodes hold every account; return the seconds since the kill."""

        def covered() -> bool:
            try:
                held = leases([n for n in alive if n.alive])
            except OSError:
                return False  # a node restarting: not listening yet
            return len(set().union(*held.values())) == ACCOUNTS

        try:
            await until(what, covered, WAIT_S)
        except AssertionError:
            for node in alive:
                if node.alive:
                    print(node.name, node.health()["node"], node.log_tail())
            raise
        return time.monotonic() - killed_at

    async def witness(what: str, timeout_s: float) -> None:
        try:
            await one_session_each(dovecot, users, what, timeout_s)
        except AssertionError:
            for node in nodes:
                if node.alive:
                    print(node.name, node.health()["node"])
            raise

    try:
        for node in nodes:
            await asyncio.to_thread(node.start)
        # 24 accounts connected through node 1, as a worker would.
        async with switchboard.aio.connect(n1.url, timeout_s=30) as setup:
            for u in users:
                await setup.call("connect", connect_args(dovecot, u))
                await setup.watch_mailboxes(u.username, ["INBOX"])
        worker.start(n1)
        async with asyncio.timeout(WAIT_S):
            await worker.subscribed.wait()
        sampling = asyncio.create_task(sampler.run())

        await until("a fair spread", lambda: fair(leases(nodes), ACCOUNTS), WAIT_S)
        await witness("after settling", WAIT_S)
        await until("/health watching = leases", lambda: watched_as_leased(nodes), WAIT_S)

        for u in users:
            await asyncio.to_thread(append, u, "first")
        await worker.wait_for(appended, WAIT_S)

        # Kill node 3 during a burst and restart it at once with the same id, and while it
        # restarts kill node 1, the worker's node.
        under_way = asyncio.Event()
        appending = asyncio.create_task(burst("a", under_way))
        async with asyncio.timeout(WAIT_S):
            await under_way.wait()
        await asyncio.to_thread(n3.kill9)
        restarting = asyncio.create_task(asyncio.to_thread(n3.start))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(n1.kill9)
        taking = asyncio.create_task(
            takeover(nodes, "node 1's and node 3's accounts to move", time.monotonic())
        )
        await appending
        await restarting
        first_takeover_s = await taking
        await worker.wait_for(appended, WAIT_S)
        await witness("after the first takeover", WAIT_S)

        await asyncio.to_thread(n1.start)
        await until("a fair spread again", lambda: fair(leases(nodes), ACCOUNTS), WAIT_S)
        await witness("after node 1 rejoined", WAIT_S)
        await until("/health watching = leases", lambda: watched_as_leased(nodes), WAIT_S)

        # Kill node 2 during a burst.
        under_way = asyncio.Event()
        appending = asyncio.create_task(burst("b", under_way))
        async with asyncio.timeout(WAIT_S):
            await under_way.wait()
        await asyncio.to_thread(n2.kill9)
        taking = asyncio.create_task(
            takeover(nodes, "node 2's accounts to move", time.monotonic())
        )
        await appending
        second_takeover_s = await taking
        await worker.wait_for(appended, WAIT_S)
        await witness("after the second takeover", WAIT_S)
        await until("/health watching = leases", lambda: watched_as_leased(nodes), WAIT_S)

        sampling.cancel()
        duplicated = duplicates_by_message(worker.received)
        lost = appended - worker.messages()
        summary = (
            f"KILLS run={run} appended={len(appended)} received={len(worker.received)}"
            f" lost={len(lost)} duplicates={len(duplicated)}"
            f" redelivered={redeliveries(worker.received)} worker_moves={worker.moves}"
            f" takeover_s={first_takeover_s:.1f},{second_takeover_s:.1f}"
            f" idle_samples={sampler.rounds} double_idle={len(sampler.violations)}"
            f" dovecot_ghosts={len(sampler.ghosts)}"
        )
        print(summary)
        assert not lost, sorted(lost)[:10]
        assert worker.messages() == appended  # nothing from elsewhere
        assert not duplicated, duplicated
        assert worker.moves >= 1
        assert sampler.rounds > 20
        assert not sampler.violations, sampler.violations[:10]
        return summary
    finally:
        if sampling is not None:
            sampling.cancel()
        await worker.stop()
        for node in nodes:
            await asyncio.to_thread(node.stop)


async def test_repeated_kills_keep_one_session_per_account_and_lose_nothing(
    dovecot: DovecotServer, pg_database: PgDatabase, tmp_path: Path
) -> None:
    summaries = []
    for run in range(1, RUNS + 1):
        dsn = await pg_database.create_schema()
        try:
            summaries.append(await one_run(run, dovecot, dsn, tmp_path / f"run{run}"))
        finally:
            await pg_database.drop_schema(dsn)
    if RUNS > 1:
        print("\n".join(summaries))
