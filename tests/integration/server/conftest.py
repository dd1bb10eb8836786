"""Fixtures of the server tests: raw WebSocket peers on the ``server`` fixture (tests/conftest.py),
and for the JMAP tests a server with TLS on Dovecot's certificate (``tls_server``), an HTTPS
client of it (``http``, no credentials) and a JMAP caller logged in as ``imap_user`` (``api``).

The server, its settings and the message helpers live in tests/support/switchboard.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import tls_client, tls_settings
from tests.support.jmap_mail import JmapApi
from tests.support.postgres import pg_database, pg_dsn  # noqa: F401 (fixtures)
from tests.support.switchboard import Peer, new_server, url


@pytest.fixture
async def open_peer(server: SwitchboardServer) -> AsyncIterator[Any]:
    """`peer = await open_peer("/clients")`; every peer is closed at teardown."""
    sockets: list[ClientConnection] = []

    async def opener(path: str, **kwargs: Any) -> Peer:
        ws = await connect(url(server, path), open_timeout=10, **kwargs)
        sockets.append(ws)
        return Peer(ws)

    yield opener
    for ws in sockets:
        await ws.close()


@pytest.fixture
async def tls_server(tmp_path: Path, dovecot: DovecotServer) -> AsyncIterator[SwitchboardServer]:
    async with new_server(tmp_path / "data", dovecot, **tls_settings(dovecot)) as srv:
        yield srv


@pytest.fixture
async def http(
    tls_server: SwitchboardServer, dovecot: DovecotServer
) -> AsyncIterator[httpx.AsyncClient]:
    async with tls_client(tls_server, dovecot) as client:
        yield client


@pytest.fixture
async def api(http: httpx.AsyncClient, imap_user: ImapUser) -> JmapApi:
    return JmapApi(http, imap_user)
