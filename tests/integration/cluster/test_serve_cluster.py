"""Three real ``switchboard serve --store postgresql://…`` processes, real Dovecot, one worker.

30 accounts are connected through node 1's ``/workers``; the nodes spread them 10/10/10
(read from each node's ``/health``); a worker on node 1 (``watchAll``) receives mail appended
to all 30; node 3 is killed with SIGKILL during a burst of appends, its accounts move to the
two survivors within the lease TTL, and the worker's stream, deduplicated by event id, equals
the appended set. A sampler checks all along that no account is watched by two nodes at once.

Waiting on other processes cannot use in-process events, so the waits poll ``/health`` at a
short interval, always bounded by a deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

import switchboard.aio
from switchboard.client.resume import Backoff
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.server_process import ServerProcess

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(150)]

ACCOUNTS = 30
TTL_S = 3.0
STOP_TIMEOUT_S = 15.0  # after SIGTERM, before SIGKILL
WAIT_S = 40.0
POLL_S = 0.2  # how often /health is read while waiting for another process
HTTP_TIMEOUT_S = 5.0


class Node(ServerProcess):
    """One ``switchboard serve --store postgresql://…`` process of the cluster."""

    def __init__(self, name: str, dsn: str, key: str, dovecot: DovecotServer, tmp: Path) -> None:
        super().__init__(
            tmp / name / "data",
            dovecot,
            tmp / name,
            args=["--store", dsn, "--node-id", name, "--lease-ttl-s", str(TTL_S)],
            env={"SWITCHBOARD_SECRET_KEY": key},
            stop_timeout_s=STOP_TIMEOUT_S,
        )
        self.name = name

    def start(self) -> None:
        super().start()
        assert f"node {self.name}" in self.first_line, (self.first_line, self.log_tail())

    def health(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/health"
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def api_accounts(self) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.port}/api/accounts"
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]


def leases(nodes: list[Node]) -> dict[str, set[str]]:
    return {n.name: set(n.health()["node"]["leases"]) for n in nodes}


async def until(what: str, done: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(done):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(POLL_S)


class Sampler:
    """Reads every live node's /health in turn; records an account two nodes watched at once.

    Node B's sample at t1 is bracketed by node A's samples at t0 < t1 < t2: an account in all
    three was watched by A and B at the same time (leases move at most once in such a window).
    """

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = list(nodes)
        self.violations: list[tuple[str, str, str]] = []
        self.rounds = 0

    def watched(self, node: Node) -> set[str] | None:
        try:
            return {a["account"] for a in node.health()["accounts"]}
        except OSError:
            return None  # killed

    async def run(self) -> None:
        previous: dict[str, set[str]] = {}
        while True:
            current: dict[str, set[str]] = {}
            for node in self.nodes:
                seen = await asyncio.to_thread(self.watched, node)
                if seen is None:
                    continue
                current[node.name] = seen
                for other, before in previous.items():
                    if other == node.name or other not in current:
                        continue
                    for account in before & current[other] & seen:
                        self.violations.append((account, other, node.name))
            # Samples of this round bracket the next round's samples of the others.
            previous = current
            self.rounds += 1
            await asyncio.sleep(POLL_S)


def fair(held: dict[str, set[str]]) -> bool:
    """Every account held once, each node within one of its share (the loop's hysteresis)."""
    share = -(-ACCOUNTS // len(held))
    union: set[str] = set().union(*held.values())
    return (
        len(union) == ACCOUNTS
        and sum(len(h) for h in held.values()) == ACCOUNTS
        and all(share - 1 <= len(h) <= share + 1 for h in held.values())
    )


def connect_args(dovecot: DovecotServer, user: ImapUser) -> dict[str, Any]:
    return {
        "host": dovecot.host,
        "port": dovecot.tls_port,
        "auth": {"type": "plain", "username": user.username, "password": user.password},
    }


def message(label: str) -> bytes:
    return f"From: a@example.com\r\nSubject: {label}\r\n\r\nbody {label}\r\n".encode()


async def test_three_serve_processes_share_accounts_and_survive_kill9(
    dovecot: DovecotServer, pg_dsn: str, tmp_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    nodes = [Node(f"n{i}", pg_dsn, key, dovecot, tmp_path) for i in (1, 2, 3)]
    users = [dovecot.new_user() for _ in range(ACCOUNTS)]
    uidvalidity = {u.username: dovecot.uidvalidity(u) for u in users}
    appended: set[tuple[str, str]] = set()  # (account, messageId)
    received: list[tuple[int, str, str]] = []  # (eventId, account, messageId), duplicates kept
    arrived = asyncio.Event()

    def append(user: ImapUser, label: str) -> None:
        uid = dovecot.append(user, message(label))
        appended.add((user.username, f"INBOX!{uidvalidity[user.username]}?{uid}"))

    async def all_received() -> None:
        async with asyncio.timeout(WAIT_S):
            while not appended <= {(a, m) for _, a, m in received}:
                arrived.clear()
                await arrived.wait()

    try:
        for node in nodes:
            await asyncio.to_thread(node.start)
        sampler = Sampler(nodes)
        sampling = asyncio.create_task(sampler.run())
        async with switchboard.aio.connect(
            nodes[0].url, reconnect=True, backoff=Backoff(first_s=0.05, max_s=0.5), timeout_s=30
        ) as sb:
            for u in users:
                await sb.call("connect", connect_args(dovecot, u))
                await sb.watch_mailboxes(u.username, ["INBOX"])
            await sb.watch_all()

            async def consume() -> None:
                async for push in sb.events():
                    if push.name == "newMessage":
                        assert push.event_id is not None
                        received.append(
                            (push.event_id, push.args["account"], push.args["messageId"])
                        )
                        arrived.set()

            consumer = asyncio.create_task(consume())

            # The three nodes spread the 30 accounts, each held by exactly one node.
            await until("a fair spread", lambda: fair(leases(nodes)))
            print("spread:", {k: len(v) for k, v in leases(nodes).items()})

            # Mail for all 30 accounts reaches the worker on node 1.
            for u in users:
                await asyncio.to_thread(append, u, "first")
            await all_received()

            # A command for an account node 1 does not watch runs on node 1 all the same.
            remote = sorted(leases(nodes[1:2])["n2"])[0]
            mailbox_id = f"INBOX!{uidvalidity[remote]}"
            listed = await sb.call("getMessageList", {"account": remote, "mailboxId": mailbox_id})
            ids = [m for a, m in appended if a == remote]
            assert ids[0] in json.dumps(listed), listed
            got = await sb.call(
                "getMessages", {"account": remote, "ids": ids, "properties": ["subject"]}
            )
            assert "first" in json.dumps(got), got
            # Watches set on node 1 for an account node 2 holds: node 2 applies them and
            # answers (account notices); a mailbox that does not exist comes back failed.
            reply = await sb.watch_mailboxes(remote, ["INBOX", "NoSuchBox"])
            assert reply["list"] == ["INBOX"] and reply["failed"] == ["NoSuchBox"], reply
            # A typo alone never costs the watch, there either.
            reply = await sb.watch_mailboxes(remote, ["NoSuchBox"])
            assert reply["list"] == ["INBOX"] and reply["failed"] == ["NoSuchBox"], reply
            docs = {d["account"]: d for d in await asyncio.to_thread(nodes[0].api_accounts)}
            assert len(docs) == ACCOUNTS
            assert docs[remote]["node"] == "n2" and docs[remote]["state"] == "remote"
            assert [m["name"] for m in docs[remote]["mailboxes"]] == ["INBOX"]

            # Kill -9 node 3 during a burst of appends.
            dead = nodes[2]
            dead_accounts = leases([dead])["n3"]

            under_way = asyncio.Event()

            async def burst() -> None:
                for n in range(3):
                    for i, u in enumerate(users):
                        await asyncio.to_thread(append, u, f"burst {n}")
                        if n == 0 and i == 10:
                            under_way.set()

            appending = asyncio.create_task(burst())
            async with asyncio.timeout(WAIT_S):
                await under_way.wait()
            await asyncio.to_thread(dead.kill9)
            killed_at = time.monotonic()
            alive = nodes[:2]
            sampler.nodes = alive

            def taken_over() -> bool:
                return dead_accounts <= set().union(*leases(alive).values())

            await until("the dead node's accounts to move", taken_over)
            takeover_s = time.monotonic() - killed_at
            await appending
            await all_received()
            consumer.cancel()
        sampling.cancel()

        event_ids = [e for e, _, _ in received]
        duplicates = Counter(event_ids)
        duplicated = {e: c for e, c in duplicates.items() if c > 1}
        unique = {e: (a, m) for e, a, m in received}
        per_message = Counter(unique.values())
        print(
            f"CLUSTER appended={len(appended)} received={len(received)} unique={len(unique)}"
            f" duplicates_before_dedup={len(received) - len(unique)} {duplicated}"
            f" takeover_s={takeover_s:.2f} (ttl {TTL_S} s) samples={sampler.rounds}"
        )
        assert set(unique.values()) == appended  # none lost, none from elsewhere
        assert max(per_message.values()) == 1  # one event per message
        assert takeover_s <= TTL_S + 3 * (TTL_S / 3) + 2.0
        assert sampler.rounds > 5
        assert not sampler.violations, sampler.violations[:10]
        await until("a fair spread over the survivors", lambda: fair(leases(nodes[:2])))
    finally:
        for node in nodes:
            node.stop()
