"""A 10 s PostgreSQL outage under three ``switchboard serve`` nodes, during a burst of mail.

The database is a PostgreSQL of this test's own (``private_postgres``), crashed with
``pg_ctl stop -m immediate`` and started again 10 s later. What must hold (issue 16):

- during the outage every node keeps answering: ``/health`` (200, never 500), new WebSocket
  handshakes, and commands that need no database (``getMailboxes``, ``getMessageList`` for
  the accounts of the cluster, on a connection of the node's own); a command that needs it
  (``watchMailboxes`` stores the watches) gets an error reply;
- every node fences itself (stops watching) within the lease TTL, and says on ``/health``
  that its event tail is reconnecting;
- afterwards every node's tail resumes (``connected``, one recovery, at the log's end), the
  leases are taken again, each account has exactly one IMAP session (Dovecot as the witness),
  and the worker, which stayed connected, receives every message appended before, during and
  after the outage exactly once.
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

import switchboard.aio
from switchboard.client.errors import CommandError
from tests.support.cluster import (
    Node,
    RoamingWorker,
    connect_args,
    duplicates_by_message,
    fair,
    leases,
    message,
    one_session_each,
    until,
)
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.pg_instance import PrivatePostgres

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(180)]

ACCOUNTS = 12
TTL_S = 3.0
OUTAGE_S = 10.0
WAIT_S = 40.0
NODE_ENV = {"SWITCHBOARD_IMAP_COMMAND_IDLE_CLOSE_S": "1"}


class HealthProbe:
    """Reads every node's /health over and over; counts answers by status, keeps the last."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes
        self.ok = 0
        self.failed: list[str] = []
        self.last: dict[str, dict[str, Any]] = {}
        self.seen_reconnecting: set[str] = set()
        self.seen_fenced: set[str] = set()
        self.fenced_at: dict[str, float] = {}  # when the probe first saw each node fenced

    async def run(self) -> None:
        while True:
            for node in self.nodes:
                try:
                    health = await asyncio.to_thread(node.health)
                except urllib.error.HTTPError as exc:
                    self.failed.append(f"{node.name}: HTTP {exc.code}")
                    continue
                except OSError as exc:
                    self.failed.append(f"{node.name}: {exc}")
                    continue
                self.ok += 1
                self.last[node.name] = health
                if health["node"]["tail"]["state"] == "reconnecting":
                    self.seen_reconnecting.add(node.name)
                if health["node"]["fenced"]:
                    self.seen_fenced.add(node.name)
                    self.fenced_at.setdefault(node.name, time.monotonic())
            await asyncio.sleep(0.2)


async def commands_without_database(node: Node, user: ImapUser) -> int:
    """A new WebSocket on ``node`` and two commands for ``user``; returns the messages listed."""
    async with switchboard.aio.connect(node.url, timeout_s=15) as sb:
        mailboxes = await sb.call("getMailboxes", {"account": user.username})
        inbox = next(m for m in mailboxes["list"] if m["name"] == "INBOX")
        listed = await sb.call(
            "getMessageList", {"account": user.username, "mailboxId": inbox["id"]}
        )
        return len(listed["messageIds"])


async def command_needing_database(node: Node, user: ImapUser) -> str:
    """``watchMailboxes`` stores the watches: during the outage it must fail with an error."""
    async with switchboard.aio.connect(node.url, timeout_s=15) as sb:
        try:
            await sb.watch_mailboxes(user.username, ["INBOX"])
        except CommandError as exc:
            return f"{exc.type}: {exc.description}"
    return "answered"


async def test_ten_second_database_outage_during_a_burst(
    dovecot: DovecotServer, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    dsn = private_postgres.dsn
    nodes = [
        Node(f"n{i}", dsn, key, dovecot, tmp_path, ttl_s=TTL_S, env=NODE_ENV) for i in (1, 2, 3)
    ]
    users = [dovecot.new_user() for _ in range(ACCOUNTS)]
    uidvalidity = {u.username: dovecot.uidvalidity(u) for u in users}
    appended: set[tuple[str, str]] = set()
    worker = RoamingWorker(nodes)
    probe = HealthProbe(nodes)
    probing: asyncio.Task[None] | None = None

    def append(user: ImapUser, label: str) -> None:
        uid = dovecot.append(user, message(label))
        appended.add((user.username, f"INBOX!{uidvalidity[user.username]}?{uid}"))

    try:
        for node in nodes:
            await asyncio.to_thread(node.start)
        async with switchboard.aio.connect(nodes[0].url, timeout_s=30) as setup:
            for u in users:
                await setup.call("connect", connect_args(dovecot, u))
                await setup.watch_mailboxes(u.username, ["INBOX"])
        worker.start(nodes[0])
        async with asyncio.timeout(WAIT_S):
            await worker.subscribed.wait()
        await until("a fair spread", lambda: fair(leases(nodes), ACCOUNTS), WAIT_S)
        await one_session_each(dovecot, users, "before the outage", WAIT_S)
        for u in users:
            await asyncio.to_thread(append, u, "before")
        await worker.wait_for(appended, WAIT_S)
        probing = asyncio.create_task(probe.run())

        # A burst that runs through the outage: 4 rounds over every account, 2.5 s apart.
        async def burst() -> None:
            for n in range(4):
                for u in users:
                    await asyncio.to_thread(append, u, f"burst {n}")
                await asyncio.sleep(2.5)

        appending = asyncio.create_task(burst())
        await asyncio.sleep(1.0)
        await asyncio.to_thread(private_postgres.crash)
        down_at = time.monotonic()

        # While the database is down: handshakes and commands on every node, twice.
        answered = 0
        for _ in range(2):
            for i, node in enumerate(nodes):
                assert await commands_without_database(node, users[i]) >= 1
                answered += 1
            await asyncio.sleep(TTL_S)  # the second pass runs after every node fenced itself
        refused = await command_needing_database(nodes[0], users[0])
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        fenced_during = set(probe.seen_fenced)
        reconnecting_during = set(probe.seen_reconnecting)
        await asyncio.to_thread(private_postgres.start)
        up_at = time.monotonic()
        outage_s = up_at - down_at
        await appending

        def resumed() -> bool:
            tails = [n.health()["node"]["tail"] for n in nodes]
            return all(t["state"] == "connected" and t["recoveries"] >= 1 for t in tails)

        await until("every node's event tail to resume", resumed, WAIT_S)
        tails_s = time.monotonic() - up_at
        await until("the leases to be taken again", lambda: fair(leases(nodes), ACCOUNTS), WAIT_S)
        leases_s = time.monotonic() - up_at
        await worker.wait_for(appended, WAIT_S)
        delivered_s = time.monotonic() - up_at
        await one_session_each(dovecot, users, "after the outage", WAIT_S)
        probing.cancel()

        positions = {n.name: n.health()["node"]["tail"]["position"] for n in nodes}
        fenced_s = max(probe.fenced_at.values(), default=down_at) - down_at
        duplicated = duplicates_by_message(worker.received)
        print(
            f"OUTAGE outage_s={outage_s:.1f} health_ok={probe.ok} health_failed={len(probe.failed)}"
            f" commands_answered={answered} needing_the_database={refused!r}"
            f" fenced={sorted(fenced_during)}"
            f" all_fenced_s={fenced_s:.1f}"
            f" reconnecting={sorted(reconnecting_during)} tails_resumed_s={tails_s:.1f}"
            f" leases_back_s={leases_s:.1f} all_delivered_s={delivered_s:.1f}"
            f" appended={len(appended)} received={len(worker.received)}"
            f" duplicates={len(duplicated)} worker_moves={worker.moves} positions={positions}"
        )
        assert not probe.failed, probe.failed[:10]
        assert answered == 2 * len(nodes)
        assert refused.startswith("serverError: store:"), refused
        assert fenced_during == {n.name for n in nodes}
        assert reconnecting_during == {n.name for n in nodes}
        assert worker.messages() == appended
        assert not duplicated, duplicated
        assert worker.moves == 0  # the worker's WebSocket outlived the outage
        assert len(set(positions.values())) == 1  # every tail at the same, last, event
    finally:
        if probing is not None:
            probing.cancel()
        await worker.stop()
        for node in nodes:
            await asyncio.to_thread(node.stop)
