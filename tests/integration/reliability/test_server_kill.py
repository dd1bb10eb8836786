"""Kill -9 the server while 200 messages are appended: a resuming worker gets each exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

import switchboard.aio
from switchboard.client.resume import Backoff
from tests.integration.reliability.conftest import (
    DELIVERY_TIMEOUT_S,
    connect_args,
    messages,
    report,
)
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.server_process import ServerProcess

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(150)]

MESSAGES = 200
KILL_AFTER = 10  # events received before the kill: the crash lands mid-burst
FAST = Backoff(first_s=0.05, max_s=0.5)


async def test_kill9_server_mid_burst_then_resume_with_since(
    server_process: ServerProcess, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    uidvalidity = dovecot.uidvalidity(imap_user)
    received: list[tuple[int, str]] = []  # (eventId, messageId), before any dedup
    arrivals: list[tuple[float, int]] = []  # (when, reconnects so far)
    enough_before_kill = asyncio.Event()
    all_in = asyncio.Event()
    wanted: set[str] = set()

    async with switchboard.aio.connect(
        server_process.url, reconnect=True, backoff=FAST, timeout_s=20
    ) as sb:
        await sb.call("connect", connect_args(dovecot, imap_user))
        await sb.watch_mailboxes(imap_user.username, ["INBOX"])

        async def consume() -> None:
            async for push in sb.events():
                assert push.event_id is not None
                received.append((push.event_id, push.args["messageId"]))
                arrivals.append((time.monotonic(), sb.reconnects))
                if len(received) >= KILL_AFTER:
                    enough_before_kill.set()
                if wanted and wanted <= {m for _, m in received}:
                    all_in.set()

        consumer = asyncio.create_task(consume())
        burst = messages(MESSAGES, "burst")
        first = asyncio.create_task(asyncio.to_thread(
            dovecot.append_many, imap_user, burst[: MESSAGES // 2]))
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            await enough_before_kill.wait()
        await asyncio.to_thread(server_process.kill9)
        killed_at = time.monotonic()
        seen_at_kill = len(received)
        # The second half is appended while the server is dead and while it restarts.
        second = asyncio.create_task(asyncio.to_thread(
            dovecot.append_many, imap_user, burst[MESSAGES // 2:]))
        await asyncio.to_thread(server_process.start)
        uids = await first + await second
        wanted.update(f"INBOX!{uidvalidity}?{uid}" for uid in uids)
        if wanted <= {m for _, m in received}:
            all_in.set()
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            await all_in.wait()
        # Recovery: from the kill to the first event received on the new connection.
        recovered_at = min(t for t, reconnects in arrivals if reconnects >= 1)
        reconnects = sb.reconnects
        consumer.cancel()

    event_ids = [e for e, _ in received]
    duplicates = len(event_ids) - len(set(event_ids))
    unique = dict(received)  # eventId -> messageId, i.e. after dedup by eventId
    per_message = Counter(unique.values())
    assert set(unique.values()) == wanted  # none lost
    assert max(per_message.values()) == 1  # none twice: one event per message
    assert reconnects >= 1
    report(
        "kill -9 server mid-burst, resume with since",
        appended=len(uids), received=len(received), unique=len(unique),
        duplicates_before_dedup=duplicates, received_before_kill=seen_at_kill,
        recovery_s=round(recovered_at - killed_at, 3),
    )
