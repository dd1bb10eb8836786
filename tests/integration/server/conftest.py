"""Raw WebSocket peers on the ``server`` fixture (tests/conftest.py) for the server tests.

The server, its settings and the message helpers live in tests/support/switchboard.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from switchboard.server.app import SwitchboardServer
from tests.support.postgres import pg_database, pg_dsn  # noqa: F401 (fixtures)
from tests.support.switchboard import Peer, url


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
