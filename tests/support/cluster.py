"""Cluster tests with real processes: ``serve`` nodes, a roaming worker, Dovecot as the witness.

- :class:`Node`: one ``switchboard serve --store postgresql://… --node-id NAME`` process (a
  :class:`~tests.support.server_process.ServerProcess`) with its ``/health`` read over HTTP.
- :class:`RoamingWorker`: a worker on ``/workers`` that, when its node dies, moves to another
  live node and resumes with ``since`` (its last acknowledged event id), as a real worker
  would behind a load balancer. It keeps every ``newMessage`` push, duplicates included.
- :func:`one_session_each`: the IMAP server as the witness that every account is watched by
  exactly one connection across the nodes (Dovecot's session titles and ``doveadm who``).

Waiting on other processes cannot use in-process events, so the waits poll at a short
interval, always bounded by a deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from websockets.exceptions import WebSocketException

import switchboard.aio
from switchboard.errors import SwitchboardError
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.server_process import ServerProcess

POLL_S = 0.2
HTTP_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 15.0  # after SIGTERM, before SIGKILL


class Node(ServerProcess):
    """One ``switchboard serve --store postgresql://…`` process of the cluster."""

    def __init__(
        self,
        name: str,
        dsn: str,
        key: str,
        dovecot: DovecotServer,
        tmp: Path,
        *,
        ttl_s: float,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            tmp / name / "data",
            dovecot,
            tmp / name,
            args=["--store", dsn, "--node-id", name, "--lease-ttl-s", str(ttl_s)],
            env={"SWITCHBOARD_SECRET_KEY": key, **(env or {})},
            stop_timeout_s=STOP_TIMEOUT_S,
        )
        self.name = name

    def start(self) -> None:
        super().start()
        assert f"node {self.name}" in self.first_line, (self.first_line, self.log_tail())

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def get(self, path: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            return json.loads(response.read())

    def health(self) -> dict[str, Any]:
        return self.get("/health")  # type: ignore[no-any-return]

    def api_accounts(self) -> list[dict[str, Any]]:
        return self.get("/api/accounts")  # type: ignore[no-any-return]


def leases(nodes: Sequence[Node]) -> dict[str, set[str]]:
    """Each node's leases, from its /health."""
    return {n.name: set(n.health()["node"]["leases"]) for n in nodes}


def watching(nodes: Sequence[Node]) -> dict[str, set[str]]:
    """The accounts each node's engine has a live watcher for (not its leases), from /health."""
    return {n.name: set(n.health()["node"]["watching"]) for n in nodes}


def fair(held: dict[str, set[str]], accounts: int) -> bool:
    """Every account held once, each node within one of its share (the loop's hysteresis)."""
    share = -(-accounts // len(held))
    union: set[str] = set().union(*held.values())
    return (
        len(union) == accounts
        and sum(len(h) for h in held.values()) == accounts
        and all(share - 1 <= len(h) <= share + 1 for h in held.values())
    )


async def until(what: str, done: Callable[[], bool], timeout_s: float) -> None:
    """Poll ``done`` (in a thread: it may do blocking HTTP) until true, or fail after timeout."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(done):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(POLL_S)


def connect_args(dovecot: DovecotServer, user: ImapUser) -> dict[str, Any]:
    return {
        "host": dovecot.host,
        "port": dovecot.tls_port,
        "auth": {"type": "plain", "username": user.username, "password": user.password},
    }


def message(label: str) -> bytes:
    return f"From: a@example.com\r\nSubject: {label}\r\n\r\nbody {label}\r\n".encode()


def session_problems(dovecot: DovecotServer, users: Sequence[ImapUser]) -> list[str]:
    """What is wrong with "each user has exactly one IMAP session, and it is in IDLE".

    Asked at the IMAP server: the session processes' titles say which command each session is
    in, ``doveadm who`` counts the connections. A session Dovecot still lists although its
    client is gone (a "ghost", see ``DovecotServer.sessions_by_user``) is no client's, and is
    not counted. Empty when all is well.
    """
    titles = dovecot.sessions_by_user()
    ghosts = dovecot.sessions_by_user(ghosts=True)
    who = dovecot.who()
    problems = []
    for user in users:
        commands = titles.get(user.username, [])
        idle = commands.count("IDLE")
        # doveadm counts the ghosts too (sessions whose client is gone; see sessions_by_user).
        connected = who.get(user.username, 0) - len(ghosts.get(user.username, []))
        if idle != 1 or len(commands) != 1 or connected != 1:
            problems.append(
                f"{user.username}: {idle} in IDLE, sessions {commands},"
                f" doveadm who {who.get(user.username, 0)}, ghosts {ghosts.get(user.username)}"
            )
    return problems


async def one_session_each(
    dovecot: DovecotServer, users: Sequence[ImapUser], what: str, timeout_s: float
) -> None:
    """Wait until every user has exactly one IMAP session, in IDLE (see session_problems).

    Command connections close once unused for ``SWITCHBOARD_IMAP_COMMAND_IDLE_CLOSE_S``,
    so the nodes under test set it low.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        problems = await asyncio.to_thread(session_problems, dovecot, users)
        if not problems:
            return
        assert time.monotonic() < deadline, f"{what}: {len(problems)} wrong: {problems[:5]}"
        await asyncio.sleep(POLL_S)


class RoamingWorker:
    """A worker (``watchAll``) that moves to another live node, resuming with ``since``.

    ``received`` keeps ``(eventId, account, messageId)`` of every newMessage push, duplicates
    included. ``node`` is the node it is connected to now.
    """

    def __init__(self, nodes: Sequence[Node], *, timeout_s: float = 10.0) -> None:
        self.nodes = list(nodes)
        self.timeout_s = timeout_s
        self.received: list[tuple[int, str, str]] = []
        self.node: Node | None = None
        self.moves = 0
        self.since: int | None = None
        self.arrived = asyncio.Event()
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self, first: Node) -> None:
        self.node = first
        self._task = asyncio.create_task(self._run(), name="roaming-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def messages(self) -> set[tuple[str, str]]:
        return {(a, m) for _, a, m in self.received}

    async def wait_for(self, wanted: set[tuple[str, str]], timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not wanted <= self.messages():
                self.arrived.clear()
                await self.arrived.wait()

    async def _run(self) -> None:
        while True:
            node = self.node
            assert node is not None
            try:
                await self._follow(node)
            except (SwitchboardError, WebSocketException, OSError, TimeoutError) as exc:
                print(f"worker: lost {node.name} ({type(exc).__name__}: {exc})")
            else:
                print(f"worker: {node.name} closed the connection")
            self.subscribed.clear()
            await asyncio.sleep(POLL_S)
            alive = [n for n in self.nodes if n.alive]
            if alive and node not in alive:
                self.node = alive[0]
                self.moves += 1

    async def _follow(self, node: Node) -> None:
        async with switchboard.aio.connect(
            node.url, since=self.since, timeout_s=self.timeout_s
        ) as sb:
            await sb.watch_all()  # with since=last acknowledged, once there is one
            self.subscribed.set()
            async for push in sb.events():
                if push.name == "newMessage":
                    assert push.event_id is not None
                    self.received.append(
                        (push.event_id, push.args["account"], push.args["messageId"])
                    )
                    self.arrived.set()
                    await sb.ack(push.event_id)
                    self.since = sb.last_event_id


def duplicates_by_message(
    received: Sequence[tuple[int, str, str]],
) -> dict[tuple[str, str], set[int]]:
    """Messages announced under more than one event id (a redelivered id is not a duplicate)."""
    ids: dict[tuple[str, str], set[int]] = {}
    for event_id, account, message_id in received:
        ids.setdefault((account, message_id), set()).add(event_id)
    return {m: e for m, e in ids.items() if len(e) > 1}


def redeliveries(received: Sequence[tuple[int, str, str]]) -> int:
    """Pushes of an event id already received (a resume replaying what was in flight)."""
    counts = Counter(e for e, _, _ in received)
    return sum(c - 1 for c in counts.values())
