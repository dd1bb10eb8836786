"""A connection that goes silent (socket open, nothing answers) is noticed within 60 s, by default.

The guarantee of docs/reliability.md, measured at the engine's default settings: a real Dovecot
behind the fault proxy, whose open connections are black-holed (forwarding stops, sockets stay
open, as behind a NAT box that lost its entry). A message delivered during the silence must be
announced after the reconnect, exactly once. This test waits out the probe's real timers
(about 56 s); every other liveness test runs at short settings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from switchboard.engine import AccountState, Engine, EngineSettings
from switchboard.model.accounts import AccountConfig, PasswordAuth, TlsMode
from tests.integration.reliability.conftest import messages, report
from tests.support.checkpoints import CollectingSink, MemoryCheckpoints
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(150)]

GUARANTEE_S = 60.0
DEFAULTS = EngineSettings()
POLL_S = 0.1


async def until(predicate: Callable[[], bool], timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - engine state has no event to wait on
            await asyncio.sleep(POLL_S)


async def test_black_holed_connection_is_noticed_within_60_s_at_the_defaults(
    dovecot: DovecotServer,
    imap_user: ImapUser,
    tcp_proxy_factory: Callable[[str, int], Awaitable[TcpProxy]],
) -> None:
    assert DEFAULTS.dead_connection_bound_s <= GUARANTEE_S
    proxy = await tcp_proxy_factory(dovecot.host, dovecot.port)
    store, sink = MemoryCheckpoints(), CollectingSink()
    engine = Engine(store, sink, settings=DEFAULTS)
    account = imap_user.username
    engine.add_account(AccountConfig(
        account, dovecot.host, proxy.port, PasswordAuth(account, imap_user.password),
        tls=TlsMode.PLAIN))

    def counter(name: str) -> int:
        return engine.status(account).counters.get(name, 0)

    def inbox_state() -> AccountState:
        return engine.status(account).mailboxes[0].state

    try:
        await engine.watch(account, ["INBOX"])
        await until(lambda: inbox_state() is AccountState.IDLE, 10.0)
        connects = counter("connects")
        assert proxy.blackhole_current() >= 1
        silenced_at = time.monotonic()
        uid = await asyncio.to_thread(dovecot.append, imap_user, messages(1, "silent")[0])

        await until(lambda: counter("dead_connections") >= 1, GUARANTEE_S + 10)
        noticed_s = time.monotonic() - silenced_at
        await sink.wait_for(lambda: sink.uids() == [uid], GUARANTEE_S + 10 - noticed_s)
        announced_s = time.monotonic() - silenced_at
        assert noticed_s <= GUARANTEE_S, f"noticed after {noticed_s:.1f} s"
        assert announced_s <= GUARANTEE_S, f"reconnected and announced after {announced_s:.1f} s"
        assert counter("connects") > connects  # a new connection, not the silenced one
        assert counter("probes") >= 1  # the probe noticed it, not the 600 s refresh

        # The stream goes on, and the silent period's message was not announced twice.
        later = await asyncio.to_thread(dovecot.append, imap_user, messages(1, "later")[0])
        await sink.wait_for(lambda: later in sink.uids(), 15.0)
        assert sink.uids() == [uid, later]
    finally:
        await engine.stop()
    report("silent_connection_defaults", appended=2, received=len(sink.uids()),
           noticed_s=round(noticed_s, 1), announced_s=round(announced_s, 1))
