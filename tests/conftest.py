"""Shared pytest fixtures: the session Dovecot and its OAuth2 stub, fresh users, TCP fault proxies,
a Switchboard server on that Dovecot.

The machinery lives in tests/support; this file only wires it into pytest.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.oauth2_stub import OAuth2Stub
from tests.support.switchboard import new_server
from tests.support.tcpproxy import TcpProxy

# As root, Dovecot's mail and auth processes run as `dovecot` and need o+x on every parent of
# their directory. pytest resets /tmp/pytest-of-root to 0700 at the start of every session, so a
# second pytest run (another engineer, the same machine) would lock out a running Dovecot. As
# root we therefore keep instances in a root-owned 0711 directory of our own and leave a
# symlink in the pytest tmp dir so logs are still easy to find.
ROOT_INSTANCE_BASE = Path(tempfile.gettempdir()) / "switchboard-test-dovecot"


def _instance_dir(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    link = factory.mktemp(name)
    if os.geteuid() != 0:
        yield link
        return
    ROOT_INSTANCE_BASE.mkdir(mode=0o711, exist_ok=True)
    ROOT_INSTANCE_BASE.chmod(0o711)
    real = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=ROOT_INSTANCE_BASE))
    real.chmod(0o711)
    link.rmdir()
    link.symlink_to(real, target_is_directory=True)
    try:
        yield real
    finally:
        shutil.rmtree(real, ignore_errors=True)


@pytest.fixture(scope="session")
def oauth2_stub() -> Iterator[OAuth2Stub]:
    """The session's OAuth2 token/introspection server (shared with the session Dovecot)."""
    with OAuth2Stub() as stub:
        yield stub


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory,
            oauth2_stub: OAuth2Stub) -> Iterator[DovecotServer]:
    """The session's Dovecot; errors (does not skip) when dovecot is not installed."""
    for path in _instance_dir(tmp_path_factory, "dovecot"):
        server = DovecotServer(path, oauth2_stub)
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.fixture
def imap_user(dovecot: DovecotServer) -> ImapUser:
    """A fresh user on the session Dovecot, with an empty INBOX."""
    return dovecot.new_user()


@pytest.fixture
def private_dovecot(tmp_path_factory: pytest.TempPathFactory,
                    oauth2_stub: OAuth2Stub) -> Iterator[DovecotServer]:
    """A Dovecot of this test's own, for restart and kill tests (small user pool)."""
    for path in _instance_dir(tmp_path_factory, "private-dovecot"):
        server = DovecotServer(path, oauth2_stub, pool_size=20, max_connections=50)
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.fixture
async def server(tmp_path: Path, dovecot: DovecotServer) -> AsyncIterator[SwitchboardServer]:
    """A started Switchboard server in the test's event loop: any free port, data in tmp_path."""
    async with new_server(tmp_path / "data", dovecot) as srv:
        yield srv


@pytest.fixture
async def tcp_proxy_factory() -> AsyncIterator[Callable[[str, int], Awaitable[TcpProxy]]]:
    """``proxy = await tcp_proxy_factory(host, port)``; every proxy is closed at teardown."""
    proxies: list[TcpProxy] = []

    async def factory(host: str, port: int) -> TcpProxy:
        proxy = await TcpProxy.start(host, port)
        proxies.append(proxy)
        return proxy

    try:
        yield factory
    finally:
        for proxy in proxies:
            await proxy.close()
