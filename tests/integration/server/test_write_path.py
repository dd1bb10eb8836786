"""The write path over a real socket: UTF-8 text frames as encoded, batches whole and in order."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.asyncio.client import connect

from switchboard.model.events import NewMessage, StoredEvent
from switchboard.protocol.frames import encode_push
from switchboard.protocol.wirejson import dumps, loads
from switchboard.server.app import SwitchboardServer
from switchboard.server.hub import push_args
from switchboard.server.session import WRITE_BATCH_BYTES

pytestmark = pytest.mark.dovecot

EVENTS = 3000  # ~130 bytes each: several write batches of WRITE_BATCH_BYTES


async def test_a_burst_of_pushes_arrives_whole_in_order_as_text_frames(
    server: SwitchboardServer,
) -> None:
    async with connect(f"ws://127.0.0.1:{server.port}/workers") as ws:
        await ws.send(dumps([["watchAll", {}, 1]]))
        assert loads(await asyncio.wait_for(ws.recv(), 10)) == [["watchingAll", {}, 1]]
        now = time.time()
        # Mailbox names outside ASCII and with "/" travel as raw UTF-8, unescaped.
        events = [
            StoredEvent(i, NewMessage("acct", f"Boîte/☃ {i % 7}", 1, i), now)
            for i in range(1, EVENTS + 1)
        ]
        server.parts.hub.publish(events)
        # A request sent during the burst gets its reply as a frame of its own.
        await ws.send(dumps([["nope", {}, "mid"]]))
        expected = [
            encode_push("newMessage", push_args(s.event_id, s.event, with_account=True))
            for s in events
        ]
        assert sum(map(len, expected)) > 4 * WRITE_BATCH_BYTES
        pushes: list[bytes] = []
        replies = []
        while len(pushes) < EVENTS or not replies:
            message = await asyncio.wait_for(ws.recv(), 10)
            assert isinstance(message, str)  # a text frame, never binary
            data = message.encode("utf-8")
            if data.startswith(b'[["newMessage"'):
                pushes.append(data)
            else:
                replies.append(loads(data))
        assert pushes == expected
        assert "Boîte/☃ 1".encode() in pushes[0]
        [[[name, _body, tag]]] = replies
        assert (name, tag) == ("error", "mid")
