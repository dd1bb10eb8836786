"""Cut the IMAP connections during a burst (TCP proxy): none lost, none twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import switchboard.aio
from switchboard.engine.settings import EngineSettings
from switchboard.server.app import SwitchboardServer
from tests.integration.reliability.conftest import (
    connect_args,
    messages,
    report,
)
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import server_settings
from tests.support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(120)]

DELIVERY_TIMEOUT_S = 20.0

MESSAGES = 200
CUT_AFTER = 10  # events of the chunk received before its cut
CUTS = 2
# Reconnect to IMAP quickly after the cut; the default 1 s first backoff would only slow the test.
ENGINE = EngineSettings(connect_timeout_s=5.0, command_timeout_s=10.0, backoff_initial_s=0.1,
                        backoff_cap_s=1.0)


async def test_imap_connection_cut_during_burst(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: ImapUser,
    tcp_proxy_factory: Callable[[str, int], Awaitable[TcpProxy]],
) -> None:
    proxy = await tcp_proxy_factory(dovecot.host, dovecot.tls_port)
    server = SwitchboardServer(server_settings(tmp_path / "data", dovecot), engine_settings=ENGINE)
    await server.start()
    uidvalidity = dovecot.uidvalidity(imap_user)
    received: list[tuple[int, str]] = []
    progress = asyncio.Condition()
    try:
        async with switchboard.aio.connect(f"ws://127.0.0.1:{server.port}/workers",
                                           timeout_s=20) as sb:
            await sb.call("connect", connect_args(dovecot, imap_user, port=proxy.port))
            await sb.watch_mailboxes(imap_user.username, ["INBOX"])

            async def consume() -> None:
                async for push in sb.events():
                    assert push.event_id is not None
                    async with progress:
                        received.append((push.event_id, push.args["messageId"]))
                        progress.notify_all()

            async def wait_for(count: int) -> None:
                try:
                    async with asyncio.timeout(DELIVERY_TIMEOUT_S), progress:
                        await progress.wait_for(lambda: len(received) >= count)
                except TimeoutError:
                    raise AssertionError(f"{len(received)} of {count} events came") from None

            consumer = asyncio.create_task(consume())
            burst = messages(MESSAGES, "cut")
            chunk = MESSAGES // (CUTS + 1)
            uids: list[int] = []
            recoveries: list[float] = []
            cut_links = 0
            # Append in chunks; cut every IMAP connection while a chunk is being appended, so
            # part of it arrives while the engine is disconnected and must be caught up.
            for n in range(CUTS + 1):
                part = burst[n * chunk:] if n == CUTS else burst[n * chunk:(n + 1) * chunk]
                appending = asyncio.create_task(
                    asyncio.to_thread(dovecot.append_many, imap_user, part))
                if n < CUTS:
                    await wait_for(n * chunk + CUT_AFTER)
                    cut_links += await proxy.cut_all()
                    cut_at, seen = time.monotonic(), len(received)
                    uids += await appending
                    if seen < len(uids):  # else the chunk was all in before the cut landed
                        await wait_for(seen + 1)
                        recoveries.append(time.monotonic() - cut_at)
                else:
                    uids += await appending
            await wait_for(len(uids))
            consumer.cancel()
    finally:
        await server.stop()

    wanted = {f"INBOX!{uidvalidity}?{uid}" for uid in uids}
    event_ids = [e for e, _ in received]
    unique = dict(received)
    assert cut_links >= 1  # the cut hit live IMAP connections
    assert set(unique.values()) == wanted  # none lost
    assert len(received) == len(wanted)  # none twice, not even before dedup
    assert max(Counter(m for _, m in received).values()) == 1
    report(
        "IMAP connections cut mid-burst (TCP proxy)",
        appended=len(uids), received=len(received), unique=len(unique),
        duplicates_before_dedup=len(event_ids) - len(set(event_ids)), cuts=CUTS,
        connections_cut=cut_links,
        recovery_s=[round(r, 3) for r in recoveries],
    )
