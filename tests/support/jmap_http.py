"""Speak to a test server's JMAP and HTTP side: TLS settings, credentials, a raw HTTP stream.

:class:`RawHttp` reads a response off the socket byte for byte, as jmapc's EventSource reader
does (it bypasses HTTP decoding), so a test sees exactly the framing a client gets.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from typing import Any

import httpx

from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser

READ_TIMEOUT_S = 15.0
# Dovecot announces new mail ~500 ms after it arrives; allow for a slow, loaded machine.
PUSH_TIMEOUT_S = 15.0


def tls_settings(dovecot: DovecotServer, **changes: Any) -> dict[str, Any]:
    """Server settings for TLS with the fixture's certificate, and new accounts on its Dovecot."""
    values: dict[str, Any] = {
        "tls_cert": dovecot.dir / "cert.pem",
        "tls_key": dovecot.dir / "key.pem",
        "jmap_imap_server": f"{dovecot.host}:{dovecot.tls_port}",
    }
    values.update(changes)
    return values


def client_tls(dovecot: DovecotServer) -> ssl.SSLContext:
    """A client context trusting the fixture's CA (its certificate names 127.0.0.1)."""
    return ssl.create_default_context(cafile=str(dovecot.ca_file))


def basic(username: str, password: str, *, encoding: str = "utf-8") -> str:
    """An ``Authorization: Basic`` value."""
    token = base64.b64encode(f"{username}:{password}".encode(encoding)).decode("ascii")
    return f"Basic {token}"


def basic_of(user: ImapUser) -> dict[str, str]:
    """The ``Authorization`` header of ``user``'s mail login."""
    return {"Authorization": basic(user.username, user.password)}


def tls_client(
    server: SwitchboardServer, dovecot: DovecotServer, **options: Any
) -> httpx.AsyncClient:
    """An HTTPS client of ``server`` (one with :func:`tls_settings`) that trusts the test CA;
    ``options`` go to :class:`httpx.AsyncClient` (a 30 s timeout unless given)."""
    options.setdefault("timeout", 30)
    return httpx.AsyncClient(base_url=base_url(server), verify=client_tls(dovecot), **options)


def base_url(server: SwitchboardServer) -> str:
    """``https://127.0.0.1:PORT`` (or ``http://``)."""
    return f"{'https' if server.secure else 'http'}://127.0.0.1:{server.port}"


class RawHttp:
    """One raw HTTP connection: write a request, read the head and the body as they come."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, server: SwitchboardServer, tls: ssl.SSLContext | None = None) -> RawHttp:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", server.port, ssl=tls), READ_TIMEOUT_S
        )
        return cls(reader, writer)

    async def send(
        self, method: str, target: str, headers: dict[str, str], body: bytes = b""
    ) -> None:
        lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()

    async def head(self) -> tuple[int, dict[str, str], bytes]:
        """The status, the header fields (names lowercased) and the raw head."""
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
        status_line, *fields = raw.decode("latin-1").split("\r\n")
        headers = {}
        for field in fields:
            if field:
                name, _, value = field.partition(":")
                headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers, raw

    async def body(self, length: int) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(length), READ_TIMEOUT_S)

    async def event(self, timeout_s: float = PUSH_TIMEOUT_S) -> bytes:
        """The next EventSource event, up to and including its blank line."""
        return await asyncio.wait_for(self.reader.readuntil(b"\n\n"), timeout_s)

    async def at_eof(self, timeout_s: float = READ_TIMEOUT_S) -> bool:
        """Whether the server closes the connection (nothing more arrives) within the time."""
        rest = await asyncio.wait_for(self.reader.read(), timeout_s)
        return rest == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(self.writer.wait_closed(), READ_TIMEOUT_S)
