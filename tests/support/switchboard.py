"""Build a real Switchboard server for a test's event loop, and speak to it, on the session Dovecot.

The ``server`` fixture in tests/conftest.py is :func:`new_server` with no changes; tests that need
other settings (tokens, limits, a second server on the same data directory) call it themselves.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection

from switchboard.engine.settings import EngineSettings
from switchboard.protocol.wirejson import dumps, loads
from switchboard.server.app import SwitchboardServer
from switchboard.server.config import ServerSettings
from tests.support.dovecot import DovecotServer

# Dovecot announces new mail ~500 ms after it arrives; allow for a slow, loaded machine.
PUSH_TIMEOUT_S = 10.0
REPLY_TIMEOUT_S = 15.0

FAST_ENGINE = EngineSettings(connect_timeout_s=5.0, command_timeout_s=10.0)


def server_settings(data_dir: Path, dovecot: DovecotServer, **changes: Any) -> ServerSettings:
    """Settings for a test server: any free port, trusting the fixture's self-signed cert."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "data_dir": data_dir,
        "imap_ca_file": dovecot.ca_file,
    }
    values.update(changes)
    return ServerSettings(**values)


def new_server(data_dir: Path, dovecot: DovecotServer, **changes: Any) -> SwitchboardServer:
    """A not yet started server with :func:`server_settings` and :data:`FAST_ENGINE`.

    Use it as ``async with new_server(...) as srv:`` (starts, then stops on exit).
    """
    return SwitchboardServer(
        server_settings(data_dir, dovecot, **changes), engine_settings=FAST_ENGINE
    )


class Peer:
    """A raw WebSocket peer that speaks frames as JSON values."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame if isinstance(frame, str) else dumps(frame))

    async def recv(self, timeout_s: float = REPLY_TIMEOUT_S) -> Any:
        message = await asyncio.wait_for(self.ws.recv(), timeout_s)
        return loads(message)

    async def call(self, frame: Any, timeout_s: float = REPLY_TIMEOUT_S) -> Any:
        await self.send(frame)
        return await self.recv(timeout_s)

    async def push(self, timeout_s: float = PUSH_TIMEOUT_S) -> Any:
        """The next unsolicited frame (asserted to be one untagged newMessage)."""
        frame = await self.recv(timeout_s)
        assert len(frame) == 1 and len(frame[0]) == 2 and frame[0][0] == "newMessage", frame
        return frame[0][1]


def url(server: SwitchboardServer, path: str) -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def plain(dovecot: DovecotServer, username: str, password: str) -> dict[str, Any]:
    """A `connect` argument object for the fixture's implicit-TLS port."""
    return {
        "host": dovecot.host,
        "port": dovecot.tls_port,
        "auth": {"type": "plain", "username": username, "password": password},
    }


def message(subject: str | None, body: str = "body\r\n", **headers: str) -> bytes:
    lines = [
        "From: " + headers.pop("from_", '"Alice Example" <alice@example.com>'),
        "To: " + headers.pop("to", "bob@example.com"),
        "Date: " + headers.pop("date", "Tue, 03 Jun 2014 10:00:00 -0700"),
    ]
    if subject is not None:
        lines.append(f"Subject: {subject}")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()
