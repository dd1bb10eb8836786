"""A group of 3 workers, one killed holding unacked events: all processed, none acked twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

import switchboard.aio
from switchboard.aio import AsyncClient
from switchboard.server.app import SwitchboardServer
from tests.integration.reliability.conftest import (
    DELIVERY_TIMEOUT_S,
    connect_args,
    messages,
    report,
)
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(120)]

MESSAGES = 90
GROUP = "reliability"


class Member:
    """One group member: what it processed, and which of its acks the server confirmed."""

    def __init__(self, name: str, client: AsyncClient, progress: asyncio.Condition, *,
                 acks: bool) -> None:
        self.name = name
        self.client = client
        self.acks = acks
        self.processed: list[tuple[int, float]] = []  # (eventId, when)
        self.confirmed: set[int] = set()
        self.progress = progress
        self.first = asyncio.Event()

    async def run(self) -> None:
        async for push in self.client.events(auto_ack=False):
            assert push.event_id is not None and push.args.get("group") == GROUP
            self.processed.append((push.event_id, time.monotonic()))
            self.first.set()
            if self.acks:
                await self.client.ack(push.event_id)  # raises unless the server answered
                self.confirmed.add(push.event_id)
            async with self.progress:
                self.progress.notify_all()


async def test_group_member_killed_holding_unacked_events(
    server: SwitchboardServer,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    tcp_proxy_factory: Callable[[str, int], Awaitable[TcpProxy]],
) -> None:
    url = f"ws://127.0.0.1:{server.port}/workers"
    # The doomed member reaches the server through a proxy, so that cutting it is a crash as
    # the server sees one: a TCP reset, no closing handshake, events in flight.
    proxy = await tcp_proxy_factory("127.0.0.1", server.port)
    async with switchboard.aio.connect(url) as setup:
        await setup.call("connect", connect_args(dovecot, imap_user))
        await setup.watch_mailboxes(imap_user.username, ["INBOX"])

    clients = [switchboard.aio.connect(url, timeout_s=20) for _ in range(2)]
    clients.append(switchboard.aio.connect(f"ws://127.0.0.1:{proxy.port}/workers", timeout_s=20))
    progress = asyncio.Condition()
    members = [Member(name, c, progress, acks=name != "doomed")
               for name, c in zip(("a", "b", "doomed"), clients, strict=True)]
    tasks = []
    try:
        for member in members:
            await member.client.open()
            await member.client.watch_all(group=GROUP)
            tasks.append(asyncio.create_task(member.run()))
        a, b, doomed = members
        appending = asyncio.create_task(asyncio.to_thread(
            dovecot.append_many, imap_user, messages(MESSAGES, "group")))
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            await doomed.first.wait()  # it holds at least one event it will never ack
        await proxy.cut_all()
        killed_at = time.monotonic()
        held = {e for e, _ in doomed.processed}
        uids = await appending
        wanted_count = len(uids)
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT_S), progress:
                await progress.wait_for(lambda: len(a.confirmed | b.confirmed) >= wanted_count)
        except TimeoutError:
            raise AssertionError(
                f"acked {len(a.confirmed | b.confirmed)} of {wanted_count}; processed "
                f"{[len(m.processed) for m in members]}; held {sorted(held)}; missing "
                f"{sorted(set(range(1, wanted_count + 1)) - a.confirmed - b.confirmed)[:20]}"
            ) from None
    finally:
        for task in tasks:
            task.cancel()
        for member in members:
            await member.client.close()

    # Every appended message became one event, and every event was acked by a live member.
    acked = a.confirmed | b.confirmed
    assert len(acked) == len(uids)
    messages_seen = set()
    for client_events in (a.processed, b.processed, doomed.processed):
        messages_seen.update(e for e, _ in client_events)
    assert messages_seen == acked
    assert not a.confirmed & b.confirmed  # no event acked by two members
    processed = [e for m in members for e, _ in m.processed]
    twice = {e for e in processed if processed.count(e) > 1}
    assert twice <= held  # only the dead member's unacked events were processed again
    redelivered_at = [t for m in (a, b) for e, t in m.processed if e in held]
    report(
        "group of 3, one member killed holding unacked events",
        appended=len(uids), processed=len(processed), unique=len(set(processed)),
        duplicates_before_dedup=len(processed) - len(set(processed)),
        held_by_killed_member=len(held), acked_twice=len(a.confirmed & b.confirmed),
        per_member={m.name: len(m.processed) for m in members},
        recovery_s=round(min(redelivered_at) - killed_at, 3) if redelivered_at else None,
    )
