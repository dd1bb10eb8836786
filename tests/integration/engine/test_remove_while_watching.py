"""An account removed while its ``watch()`` is under way leaves no watcher and no IMAP session.

This is how a cluster node kept watching accounts it had given back (issue 16): the lease loop
removed the account while a worker's ``watchMailboxes`` was still listing its mailboxes, and the
``watch()`` then started a watcher nobody would ever stop. Dovecot is the witness.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from switchboard.engine import Engine, EngineSettings, UnknownAccount
from switchboard.model.accounts import AccountConfig, PasswordAuth, TlsMode
from tests.support.checkpoints import CollectingSink, MemoryCheckpoints
from tests.support.dovecot import DovecotServer, ImapUser

pytestmark = pytest.mark.dovecot

SETTINGS = EngineSettings(connect_timeout_s=5.0, command_timeout_s=5.0, stop_timeout_s=3.0)
WAIT_S = 10.0


def config_for(server: DovecotServer, user: ImapUser) -> AccountConfig:
    return AccountConfig(
        account_id=user.username,
        host=server.host,
        port=server.port,
        auth=PasswordAuth(user.username, user.password),
        tls=TlsMode.PLAIN,
        ca_file=str(server.ca_file),
    )


async def sessions_drop_to(dovecot: DovecotServer, user: ImapUser, count: int) -> int:
    """Wait until Dovecot shows ``count`` sessions of ``user``; return the last count seen."""
    deadline = time.monotonic() + WAIT_S
    while True:
        seen = await asyncio.to_thread(dovecot.imap_connection_count, user)
        if seen == count or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.05)


async def test_remove_during_watch_starts_no_watcher(
    dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    engine = Engine(MemoryCheckpoints(), CollectingSink(), settings=SETTINGS)
    await engine.start()
    try:
        engine.add_account(config_for(dovecot, imap_user))
        watching = asyncio.create_task(engine.watch(imap_user.username, ["INBOX"]))
        await asyncio.sleep(0)  # watch() now holds the command connection: it is listing
        await engine.remove_account(imap_user.username)
        with pytest.raises(UnknownAccount, match="removed"):
            await watching
        assert engine.watching() == {}
        assert await engine.stop_strays() == 0
        # What the IMAP server sees: no session left, none opened afterwards.
        assert await sessions_drop_to(dovecot, imap_user, 0) == 0
        await asyncio.sleep(1.0)
        assert await asyncio.to_thread(dovecot.imap_connection_count, imap_user) == 0
    finally:
        await engine.stop()


async def test_watching_lists_running_watchers(dovecot: DovecotServer, imap_user: ImapUser) -> None:
    engine = Engine(MemoryCheckpoints(), CollectingSink(), settings=SETTINGS)
    await engine.start()
    try:
        engine.add_account(config_for(dovecot, imap_user))
        await engine.watch(imap_user.username, ["INBOX"])
        assert engine.watching() == {imap_user.username: ("INBOX",)}
        await engine.remove_account(imap_user.username)
        assert engine.watching() == {}
    finally:
        await engine.stop()
