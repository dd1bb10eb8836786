"""Accounts connected by workers survive a restart; mail that arrived meanwhile is not lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import FAST_ENGINE, Peer, message, plain, server_settings

pytestmark = pytest.mark.dovecot


async def test_restart_resumes_accounts_and_replays_missed_mail(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    data_dir = tmp_path / "data"
    account = imap_user.username
    uidvalidity = dovecot.uidvalidity(imap_user)

    first = SwitchboardServer(server_settings(data_dir, dovecot), engine_settings=FAST_ENGINE)
    await first.start()
    try:
        async with connect(f"ws://127.0.0.1:{first.port}/workers") as ws:
            peer = Peer(ws)
            reply = await peer.call(
                [
                    ["connect", plain(dovecot, account, imap_user.password), 1],
                    ["watchMailboxes", {"account": account, "list": ["INBOX"]}, 2],
                ]
            )
            assert [r[0] for r in reply] == ["connected", "watchingMailboxes"]
            uid = await asyncio.to_thread(dovecot.append, imap_user, message("before"))
            push = await peer.push()
            assert push["messageId"] == f"INBOX!{uidvalidity}?{uid}"
            last_seen = push["eventId"]
    finally:
        await first.stop()

    # Credentials at rest are encrypted: the password is nowhere in the data directory.
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert imap_user.password.encode() not in path.read_bytes(), path

    missed = await asyncio.to_thread(
        dovecot.append_many, imap_user, [message("while down 1"), message("while down 2")]
    )

    second = SwitchboardServer(server_settings(data_dir, dovecot), engine_settings=FAST_ENGINE)
    await second.start()
    try:
        async with connect(f"ws://127.0.0.1:{second.port}/workers") as ws:
            peer = Peer(ws)
            # No connect: the account was restored from the store.
            assert await peer.call([["watchAll", {"since": last_seen}, 1]]) == [
                ["watchingAll", {}, 1]
            ]
            got = [(await peer.push())["messageId"] for _ in missed]
            assert got == [f"INBOX!{uidvalidity}?{u}" for u in missed]
            live = await asyncio.to_thread(dovecot.append, imap_user, message("after"))
            push = await peer.push()
            assert push["messageId"] == f"INBOX!{uidvalidity}?{live}"
            [[name, args, _]] = await peer.call([["getMailboxes", {"account": account}, 2]])
            assert name == "mailboxes" and args["list"][0]["name"] == "INBOX"
    finally:
        await second.stop()


async def test_since_older_than_retention_is_an_error(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    server = SwitchboardServer(
        server_settings(tmp_path / "d", dovecot), engine_settings=FAST_ENGINE
    )
    await server.start()
    try:
        store = server.parts.store
        async with connect(f"ws://127.0.0.1:{server.port}/workers") as ws:
            peer = Peer(ws)
            await peer.call(
                [["connect", plain(dovecot, imap_user.username, imap_user.password), 1]]
            )
            await peer.call(
                [["watchMailboxes", {"account": imap_user.username, "list": ["INBOX"]}]]
            )
            await asyncio.to_thread(
                dovecot.append_many, imap_user, [message("a"), message("b"), message("c")]
            )
            for _ in range(3):
                await peer.push()
            assert await store.prune_events(older_than=None, keep_last=1) == 2
            [reply] = await peer.call([["watchAll", {"since": 0}, 3]])
            assert reply[0] == "error" and reply[1]["type"] == "cannotCalculateChanges"
            assert reply[2] == 3
    finally:
        await server.stop()
