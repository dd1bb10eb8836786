"""The engine closes an account's idle command connection and reopens it on the next command."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
from bench.fake_imap import FakeImapServer

from switchboard.engine import Engine, EngineSettings
from switchboard.model.accounts import AccountConfig, PasswordAuth, TlsMode
from tests.support.checkpoints import CollectingSink, MemoryCheckpoints

TIMEOUT_S = 5.0
CLOSE_S = 0.3
USER = "idle@example.com"


@pytest.fixture
async def imap() -> AsyncIterator[FakeImapServer]:
    server = FakeImapServer(tls_port=None)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def until(predicate: Callable[[], bool]) -> None:
    """Wait for a condition on the fake server (polled: it has no event to wait on)."""
    async with asyncio.timeout(TIMEOUT_S):
        while not predicate():  # noqa: ASYNC110 - the server's session set has no event
            await asyncio.sleep(0.01)


async def test_idle_command_connection_is_logged_out_and_reopened(imap: FakeImapServer) -> None:
    settings = EngineSettings(command_idle_close_s=CLOSE_S, stop_timeout_s=2.0)
    engine = Engine(MemoryCheckpoints(), CollectingSink(), settings=settings)
    config = AccountConfig(account_id=USER, host="127.0.0.1", port=imap.port,
                           auth=PasswordAuth(USER, imap.password), tls=TlsMode.PLAIN)
    engine.add_account(config)
    try:
        result = await engine.watch(USER, ["INBOX"])
        assert result.watching == ("INBOX",)
        await until(lambda: imap.idling_count == 1)
        # The command connection that served LIST and STATUS became the watcher's.
        assert (imap.session_count, imap.logins) == (1, 1)

        async with engine.command_connection(USER) as conn:  # opened on demand
            assert imap.session_count == 2
            assert [item.name for item in await conn.list("", "*")] == ["INBOX"]
        await until(lambda: imap.session_count == 1)  # and logged out when idle
        assert imap.idling_count == 1
    finally:
        await engine.stop()
    assert imap.session_count == 0


async def test_a_new_account_costs_one_login(imap: FakeImapServer) -> None:
    # verify() (the server's check of a new account's credentials), add_account() and watch():
    # the verify login serves LIST and STATUS, then becomes the IDLE connection.
    settings = EngineSettings(command_idle_close_s=CLOSE_S, stop_timeout_s=2.0)
    sink = CollectingSink()
    engine = Engine(MemoryCheckpoints(), sink, settings=settings)
    config = AccountConfig(account_id=USER, host="127.0.0.1", port=imap.port,
                           auth=PasswordAuth(USER, imap.password), tls=TlsMode.PLAIN)
    try:
        engine.add_account(await engine.verify(config))
        assert (await engine.watch(USER, ["INBOX"])).watching == ("INBOX",)
        await until(lambda: imap.idling_count == 1)
        assert (imap.session_count, imap.logins) == (1, 1)
        await asyncio.sleep(CLOSE_S * 2)  # nothing left to close: the watcher keeps it
        assert (imap.session_count, imap.idling_count, imap.logins) == (1, 1, 1)
    finally:
        await engine.stop()
    assert imap.session_count == 0


async def test_an_unclaimed_verify_connection_is_logged_out(imap: FakeImapServer) -> None:
    settings = EngineSettings(command_idle_close_s=CLOSE_S, stop_timeout_s=2.0)
    engine = Engine(MemoryCheckpoints(), CollectingSink(), settings=settings)
    config = AccountConfig(account_id=USER, host="127.0.0.1", port=imap.port,
                           auth=PasswordAuth(USER, imap.password), tls=TlsMode.PLAIN)
    try:
        await engine.verify(config)
        assert imap.session_count == 1
        await until(lambda: imap.session_count == 0)  # after command_idle_close_s
        # A verify with other credentials than the account is added with is never reused.
        await engine.verify(config)
        engine.add_account(replace(config, auth=PasswordAuth(USER, imap.password + "x")))
        await until(lambda: imap.session_count == 0)
        assert imap.logins == 2
    finally:
        await engine.stop()


async def test_a_used_command_connection_stays_open(imap: FakeImapServer) -> None:
    settings = EngineSettings(command_idle_close_s=60.0, stop_timeout_s=2.0)
    engine = Engine(MemoryCheckpoints(), CollectingSink(), settings=settings)
    config = AccountConfig(account_id=USER, host="127.0.0.1", port=imap.port,
                           auth=PasswordAuth(USER, imap.password), tls=TlsMode.PLAIN)
    engine.add_account(config)
    try:
        await engine.watch(USER, ["INBOX"])
        await until(lambda: imap.idling_count == 1)
        async with engine.command_connection(USER) as conn:
            await conn.noop()
        assert imap.session_count == 2  # within command_idle_close_s: still warm
    finally:
        await engine.stop()
    assert imap.session_count == 0
