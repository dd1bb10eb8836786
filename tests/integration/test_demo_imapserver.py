"""The embedded pymap server over a real socket: LOGIN, SELECT, IDLE, and deliver() -> EXISTS."""

from __future__ import annotations

import asyncio

import pymap  # noqa: F401 - the test extra installs it; a missing one must fail, not skip
import pytest

from switchboard.demo.imapserver import DemoImapError, EmbeddedImapServer

TIMEOUT_S = 5.0
MAX_LINE_BYTES = 64 * 1024


async def _read_until(reader: asyncio.StreamReader, prefix: bytes) -> list[bytes]:
    """Read lines until one starts with ``prefix``; return all of them."""
    lines: list[bytes] = []
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            line = await reader.readline()
            assert line, f"connection closed while waiting for {prefix!r}: {lines!r}"
            lines.append(line)
            if line.startswith(prefix):
                return lines


async def test_idle_session_sees_delivered_message() -> None:
    async with EmbeddedImapServer() as imap:
        reader, writer = await asyncio.open_connection("127.0.0.1", imap.port, limit=MAX_LINE_BYTES)
        try:
            greeting = await _read_until(reader, b"* OK")
            assert b"Switchboard demo" in greeting[-1]
            writer.write(f"a LOGIN {imap.username} {imap.password}\r\n".encode())
            assert (await _read_until(reader, b"a "))[-1].startswith(b"a OK")
            writer.write(b"b SELECT INBOX\r\n")
            selected = await _read_until(reader, b"b ")
            assert selected[-1].startswith(b"b OK")
            assert b"* 0 EXISTS\r\n" in selected
            writer.write(b"c IDLE\r\n")
            await _read_until(reader, b"+")
            assert imap.connections == 1

            uid = await imap.deliver("Hello from the demo", "Body")
            assert uid > 0
            pushed = await _read_until(reader, b"* 1 EXISTS")
            assert pushed[-1] == b"* 1 EXISTS\r\n"

            writer.write(b"DONE\r\nd UID FETCH 1:* (ENVELOPE)\r\n")
            fetched = b"".join(await _read_until(reader, b"d "))
            assert b"Hello from the demo" in fetched
            assert f"UID {uid}".encode() in fetched
        finally:
            writer.close()


async def test_wrong_password_is_refused() -> None:
    async with EmbeddedImapServer(password="right") as imap:
        reader, writer = await asyncio.open_connection("127.0.0.1", imap.port)
        try:
            await _read_until(reader, b"* OK")
            writer.write(f"a LOGIN {imap.username} wrong\r\n".encode())
            assert (await _read_until(reader, b"a "))[-1].startswith(b"a NO")
        finally:
            writer.close()


async def test_stop_ends_open_connections() -> None:
    imap = EmbeddedImapServer()
    await imap.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", imap.port)
    try:
        await _read_until(reader, b"* OK")
        await imap.stop()
        assert imap.connections == 0
        async with asyncio.timeout(TIMEOUT_S):
            rest = await reader.read()  # returns at EOF: the server side closed the socket
        assert rest.startswith(b"* BYE")
        await imap.stop()  # twice is harmless
    finally:
        writer.close()


async def test_use_before_start_is_refused() -> None:
    imap = EmbeddedImapServer()
    with pytest.raises(DemoImapError):
        _ = imap.port
    with pytest.raises(DemoImapError):
        await imap.deliver("s", "b")
