"""The asyncio client's acks and resume against the real server: a handler that raises is redone."""

from __future__ import annotations

import asyncio

import pytest

import switchboard.aio
from switchboard.aio import AsyncClient, Push
from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import message, plain

pytestmark = pytest.mark.dovecot

WAIT_S = 20.0


async def next_push(sb: AsyncClient) -> Push:
    async with asyncio.timeout(WAIT_S):
        return await anext(aiter(sb.events()))


async def test_a_raising_handler_holds_last_event_id_and_is_redelivered_on_resume(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    url = f"ws://127.0.0.1:{server.port}/workers"
    account = imap_user.username
    async with switchboard.aio.connect(url, timeout_s=WAIT_S) as sb:
        await sb.call("connect", plain(dovecot, account, imap_user.password))
        await sb.watch_mailboxes(account, ["INBOX"])
        await asyncio.to_thread(dovecot.append_many, imap_user,
                                [message("one"), message("two"), message("three")])
        seen: list[int] = []
        with pytest.raises(RuntimeError):
            async with asyncio.timeout(WAIT_S):
                async for push in sb.events():
                    assert push.event_id is not None
                    seen.append(push.event_id)
                    if len(seen) == 2:
                        raise RuntimeError("handler failed on the second message")
        first, failed = seen
        assert sb.last_event_id == first  # acked when the loop asked for the second
        third = await next_push(sb)
        assert third.event_id is not None and third.event_id > failed
        await sb.ack(third.event_id)
        assert sb.last_event_id == first  # still held below the failed one

    # A worker restarting from the persisted position gets the failed event again, and the
    # explicit since= it was given goes into its watch command.
    async with switchboard.aio.connect(url, since=sb.last_event_id, timeout_s=WAIT_S) as again:
        await again.watch_mailboxes(account, ["INBOX"])
        redone = [await next_push(again) for _ in range(2)]
        assert [p.event_id for p in redone] == [failed, third.event_id]
        await again.ack(*(p.event_id for p in redone if p.event_id is not None))
        assert again.last_event_id == third.event_id
