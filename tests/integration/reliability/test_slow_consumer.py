"""A consumer slower than its mail: the client's queue stays bounded and nothing is lost."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

import switchboard.aio
from switchboard.client.resume import Backoff
from switchboard.server.app import SwitchboardServer
from tests.integration.reliability.conftest import (
    DELIVERY_TIMEOUT_S,
    connect_args,
    messages,
    report,
)
from tests.support.dovecot import DovecotServer, ImapUser

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(120)]

MESSAGES = 120
MAX_QUEUE = 8
HANDLER_S = 0.004  # a handler's work, simulated; not a wait for anything


async def test_slow_consumer_overflows_the_queue_then_resumes_without_loss(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    uidvalidity = dovecot.uidvalidity(imap_user)
    received: list[tuple[int, str]] = []
    wanted: set[str] = set()
    done = asyncio.Event()
    async with switchboard.aio.connect(
        f"ws://127.0.0.1:{server.port}/workers", reconnect=True, max_queue=MAX_QUEUE,
        backoff=Backoff(first_s=0.02, max_s=0.2), timeout_s=20,
    ) as sb:
        await sb.call("connect", connect_args(dovecot, imap_user))
        await sb.watch_mailboxes(imap_user.username, ["INBOX"])

        async def consume() -> None:
            async for push in sb.events():
                await asyncio.sleep(HANDLER_S)
                assert push.event_id is not None
                received.append((push.event_id, push.args["messageId"]))
                if wanted and wanted <= {m for _, m in received}:
                    done.set()

        consumer = asyncio.create_task(consume())
        uids = await asyncio.to_thread(
            dovecot.append_many, imap_user, messages(MESSAGES, "slow"))
        wanted.update(f"INBOX!{uidvalidity}?{uid}" for uid in uids)
        if wanted <= {m for _, m in received}:
            done.set()
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT_S):
                await done.wait()
        except TimeoutError:
            missing = wanted - {m for _, m in received}
            raise AssertionError(f"{len(received)} received; missing {sorted(missing)}; "
                                 f"last_event_id {sb.last_event_id}") from None
        consumer.cancel()
        dropped, reconnects = sb.dropped_pushes, sb.reconnects

    event_ids = [e for e, _ in received]
    assert {m for _, m in received} == wanted  # none lost
    assert len(event_ids) == len(set(event_ids))  # none handed out twice
    assert max(Counter(m for _, m in received).values()) == 1
    assert dropped > 0 and reconnects >= 1  # the queue did overflow, and was resynced
    report(
        "slow consumer, client queue of 8",
        appended=len(uids), received=len(received), dropped_pushes=dropped,
        resyncs=reconnects, duplicates_before_dedup=len(event_ids) - len(set(event_ids)),
    )
