"""Worker groups on a real server, Dovecot and SQLite: one member per event, acks, redelivery."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from switchboard.protocol.wirejson import dumps, loads
from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import (
    FAST_ENGINE,
    PUSH_TIMEOUT_S,
    REPLY_TIMEOUT_S,
    message,
    plain,
    server_settings,
)

pytestmark = pytest.mark.dovecot


class Member:
    """A /workers socket whose reader sorts frames into replies and pushes."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.replies: asyncio.Queue[Any] = asyncio.Queue()
        self.pushes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for text in self.ws:
                frame = loads(text)
                if len(frame) == 1 and len(frame[0]) == 2 and frame[0][0] == "newMessage":
                    await self.pushes.put(frame[0][1])
                else:
                    await self.replies.put(frame)

    async def call(self, frame: Any) -> Any:
        await self.ws.send(dumps(frame))
        return await asyncio.wait_for(self.replies.get(), REPLY_TIMEOUT_S)

    async def push(self, timeout_s: float = PUSH_TIMEOUT_S) -> dict[str, Any]:
        return await asyncio.wait_for(self.pushes.get(), timeout_s)

    async def ack(self, *event_ids: int) -> Any:
        [reply] = await self.call([["ack", {"eventIds": list(event_ids)}, "a"]])
        return reply

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


async def open_member(server: SwitchboardServer, group: str = "g", **join: Any) -> Member:
    ws = await connect(f"ws://127.0.0.1:{server.port}/workers", open_timeout=10)
    member = Member(ws)
    assert await member.call([["watchAll", {"group": group, **join}, 1]]) == [
        ["watchingAll", {}, 1]
    ]
    return member


@pytest.fixture
async def started(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> AsyncIterator[SwitchboardServer]:
    """A server with the user's INBOX watched (connected by a worker, so it stays pinned)."""
    srv = SwitchboardServer(
        server_settings(tmp_path / "data", dovecot), engine_settings=FAST_ENGINE
    )
    await srv.start()
    try:
        async with connect(f"ws://127.0.0.1:{srv.port}/workers") as ws:
            await ws.send(
                dumps(
                    [
                        ["connect", plain(dovecot, imap_user.username, imap_user.password), 1],
                        ["watchMailboxes", {"account": imap_user.username, "list": ["INBOX"]}, 2],
                    ]
                )
            )
            reply = loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
            assert [r[0] for r in reply] == ["connected", "watchingMailboxes"], reply
        yield srv
    finally:
        await srv.stop()


async def append(dovecot: DovecotServer, user: ImapUser, count: int) -> list[int]:
    messages = [message(f"group test {i}") for i in range(count)]
    return list(await asyncio.to_thread(dovecot.append_many, user, messages))


async def test_three_members_share_thirty_events_each_exactly_once(
    started: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    members = [await open_member(started) for _ in range(3)]
    uids = await append(dovecot, imap_user, 30)
    got: dict[int, list[int]] = collections.defaultdict(list)  # event id -> member indexes

    async def take(index: int, member: Member) -> None:
        while sum(len(v) for v in got.values()) < len(uids):
            try:
                push = await member.push(timeout_s=2.0)
            except TimeoutError:
                continue
            assert push["group"] == "g" and push["account"] == imap_user.username
            got[push["eventId"]].append(index)
            assert await member.ack(push["eventId"]) == [
                "acked",
                {"eventIds": [push["eventId"]]},
                "a",
            ]

    await asyncio.wait_for(
        asyncio.gather(*(take(i, m) for i, m in enumerate(members))), PUSH_TIMEOUT_S * 3
    )
    assert len(got) == 30
    assert all(len(holders) == 1 for holders in got.values()), got
    assert {holders[0] for holders in got.values()} == {0, 1, 2}  # everyone worked
    position = await started.parts.store.group_position("g")
    assert position.position == max(got) and not position.acked_above
    for member in members:
        assert member.pushes.empty()
        await member.close()


async def test_events_held_by_a_member_that_leaves_go_to_another(
    started: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    first = await open_member(started)
    await append(dovecot, imap_user, 2)
    held = [await first.push(), await first.push()]  # alone: it gets both, acks neither
    second = await open_member(started)
    await first.close()
    again = [await second.push(), await second.push()]
    assert [p["eventId"] for p in again] == [p["eventId"] for p in held]
    reply = await second.ack(held[0]["eventId"], held[1]["eventId"], 999_999)
    assert reply == [
        "acked",
        {"eventIds": [held[0]["eventId"], held[1]["eventId"]], "unknown": [999_999]},
        "a",
    ]
    await second.close()


async def test_unacked_event_is_redelivered_after_the_visibility_timeout(
    started: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    member = await open_member(started, visibilityTimeout=1)
    await append(dovecot, imap_user, 1)
    first = await member.push()
    second = await member.push(timeout_s=5.0)  # same member: it is alone
    assert second["eventId"] == first["eventId"]
    assert await member.ack(first["eventId"]) == ["acked", {"eventIds": [first["eventId"]]}, "a"]
    with pytest.raises(TimeoutError):
        await member.push(timeout_s=1.5)  # acked: not sent a third time
    await member.close()


async def test_offline_group_gets_missed_events_also_across_a_restart(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    data_dir = tmp_path / "data"
    srv = SwitchboardServer(server_settings(data_dir, dovecot), engine_settings=FAST_ENGINE)
    await srv.start()
    try:
        async with connect(f"ws://127.0.0.1:{srv.port}/workers") as ws:
            watcher = Member(ws)
            reply = await watcher.call(
                [
                    ["connect", plain(dovecot, imap_user.username, imap_user.password), 1],
                    ["watchMailboxes", {"account": imap_user.username, "list": ["INBOX"]}, 2],
                ]
            )
            assert [r[0] for r in reply] == ["connected", "watchingMailboxes"]
            member = await open_member(srv)  # records the group's start position
            await member.close()
            await append(dovecot, imap_user, 2)
            # The plain watcher proves both events are in the log before the member returns.
            missed = [(await watcher.push())["eventId"] for _ in range(2)]
            member = await open_member(srv)
            got = [(await member.push())["eventId"] for _ in range(2)]
            assert got == missed
            await member.ack(missed[0])  # the second stays unacknowledged
            await member.close()
    finally:
        await srv.stop()

    await append(dovecot, imap_user, 1)  # arrives while the server is down
    srv = SwitchboardServer(server_settings(data_dir, dovecot), engine_settings=FAST_ENGINE)
    await srv.start()
    try:
        member = await open_member(srv)
        redelivered = await member.push()
        assert redelivered["eventId"] == missed[1]
        while_down = await member.push()
        assert while_down["eventId"] > missed[1]
        await member.ack(missed[1], while_down["eventId"])
        assert (await srv.parts.store.group_position("g")).position == while_down["eventId"]
        await member.close()
    finally:
        await srv.stop()


async def test_plain_session_ack_is_a_no_op_and_kinds_do_not_mix(
    started: SwitchboardServer, imap_user: ImapUser
) -> None:
    async with connect(f"ws://127.0.0.1:{started.port}/workers") as ws:
        plain_peer = Member(ws)
        assert await plain_peer.ack(5) == ["acked", {"eventIds": [5]}, "a"]
        member = await open_member(started, group="mixed")
        [reply] = await plain_peer.call(
            [
                [
                    "watchMailboxes",
                    {"account": imap_user.username, "list": ["INBOX"], "group": "mixed"},
                    3,
                ]
            ]
        )
        assert reply[0] == "error" and reply[1]["type"] == "invalidArguments", reply
        await member.close()
