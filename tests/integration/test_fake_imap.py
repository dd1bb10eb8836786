"""Smoke test of bench/fake_imap.py: stdlib imaplib and raw sockets against the fake server."""

from __future__ import annotations

import asyncio
import base64
import imaplib
import re
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bench import fake_imap

TIMEOUT_S = 5.0
BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
async def server() -> AsyncIterator[fake_imap.FakeImapServer]:
    srv = fake_imap.FakeImapServer(control_port=0, password="pw", initial_messages=2)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


class Raw:
    """A line-oriented raw IMAP client for what imaplib cannot do (IDLE)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, tls: ssl.SSLContext | None = None) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
        raw = cls(reader, writer)
        assert (await raw.line()).startswith(b"* OK")
        return raw

    async def line(self) -> bytes:
        return await asyncio.wait_for(self.reader.readline(), TIMEOUT_S)

    async def command(self, text: str) -> list[bytes]:
        tag = text.split()[0].encode()
        self.writer.write(text.encode() + b"\r\n")
        lines = []
        while not (line := await self.line()).startswith(tag + b" "):
            lines.append(line)
        assert line.startswith(tag + b" OK"), line
        return lines


async def test_imaplib_login_select_uid_fetch(server: fake_imap.FakeImapServer) -> None:
    def client() -> None:
        imap = imaplib.IMAP4("127.0.0.1", server.port, timeout=TIMEOUT_S)
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("alice@example.com", "wrong")
        imap.login("alice@example.com", "pw")
        typ, data = imap.select("INBOX")
        assert (typ, data) == ("OK", [b"2"])
        assert imap.response("UIDVALIDITY")[1][0].isdigit()
        typ, data = imap.uid("SEARCH", "UID", "2:*")
        assert data == [b"2"]
        typ, fetched = imap.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[])")
        assert typ == "OK" and isinstance(fetched[0], tuple)
        first_meta, first_body = fetched[0]
        assert b"UID 1 " in first_meta and b"ENVELOPE (" in first_meta
        assert b"Subject: Message 1\r\n" in first_body
        assert b"RFC822.SIZE %d" % len(first_body) in first_meta
        # The header fields the engine's push summary and getMessages read.
        typ, fetched = imap.uid("FETCH", "2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
        assert typ == "OK" and isinstance(fetched[0], tuple)
        assert b"BODY[HEADER.FIELDS (SUBJECT FROM)]" in fetched[0][0]
        assert fetched[0][1] == b"From: Sender <sender@example.com>\r\nSubject: Message 2\r\n\r\n"
        assert imap.status("INBOX", "(MESSAGES UIDNEXT)")[1] == [b"INBOX (MESSAGES 2 UIDNEXT 3)"]
        assert imap.list()[1] == [b'(\\HasNoChildren) "/" INBOX']
        imap.logout()

    await asyncio.to_thread(client)


async def test_idle_sees_exists_after_inject(server: fake_imap.FakeImapServer) -> None:
    raw = await Raw.connect(server.port)
    await raw.command("a LOGIN bob pw")
    assert b"* 2 EXISTS\r\n" in await raw.command("b SELECT INBOX")
    raw.writer.write(b"c IDLE\r\n")
    assert (await raw.line()).startswith(b"+ ")
    assert server.inject("bob", 3) == 5
    assert await raw.line() == b"* 5 EXISTS\r\n"
    raw.writer.write(b"DONE\r\n")
    assert (await raw.line()).startswith(b"c OK")
    assert server.session_count == 1
    raw.writer.close()


async def test_tls_authenticate_plain_and_control_port(
        server: fake_imap.FakeImapServer) -> None:
    ctx = ssl.create_default_context(cadata=server.cert_pem.decode())
    assert server.tls_port is not None
    raw = await Raw.connect(server.tls_port, ctx)
    token = base64.b64encode(b"\0carol\0pw").decode()
    await raw.command(f"a AUTHENTICATE PLAIN {token}")
    await raw.command("b EXAMINE INBOX")
    raw.writer.write(b"c IDLE\r\n")
    assert (await raw.line()).startswith(b"+ ")

    creader, cwriter = await asyncio.open_connection("127.0.0.1", server.control_port)
    cwriter.write(b"inject carol 2\r\n")
    assert await asyncio.wait_for(creader.readline(), TIMEOUT_S) == b"OK 4\r\n"
    assert await raw.line() == b"* 4 EXISTS\r\n"

    cwriter.write(b"silent on\r\n")
    assert await asyncio.wait_for(creader.readline(), TIMEOUT_S) == b"OK\r\n"
    raw.writer.write(b"DONE\r\n")
    with pytest.raises(TimeoutError):  # a silent server: nothing comes back
        await asyncio.wait_for(raw.reader.readline(), 0.2)
    cwriter.write(b"silent off\r\ndrop\r\n")
    assert await asyncio.wait_for(creader.readline(), TIMEOUT_S) == b"OK\r\n"
    assert await asyncio.wait_for(creader.readline(), TIMEOUT_S) == b"OK 1\r\n"
    assert await asyncio.wait_for(raw.reader.read(), TIMEOUT_S) == b""  # dropped
    cwriter.close()
    raw.writer.close()


async def test_login_with_literal(server: fake_imap.FakeImapServer) -> None:
    raw = await Raw.connect(server.port)
    raw.writer.write(b"a LOGIN {4}\r\n")
    assert (await raw.line()).startswith(b"+ ")
    raw.writer.write(b"dave {2+}\r\npw\r\n")
    assert (await raw.line()).startswith(b"a OK")
    raw.writer.close()


def test_command_line_server(tmp_path: Path) -> None:
    # the script runs under uvloop when installed, whose transports differ from asyncio's
    cert = tmp_path / "cert.pem"
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "fake_imap.py"), "--password", "pw", "--control-port", "0",
         "--initial-messages", "1", "--cert-out", str(cert)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ports = dict(re.findall(r"(\w+)=(\d+)", proc.stdout.readline()))
        ctx = ssl.create_default_context(cafile=str(cert))
        imap = imaplib.IMAP4_SSL("localhost", int(ports["tls_port"]), ssl_context=ctx,
                                 timeout=TIMEOUT_S)
        imap.login("erin", "pw")
        assert imap.select("INBOX") == ("OK", [b"1"])
        imap.logout()
    finally:
        proc.terminate()
        assert proc.wait(timeout=TIMEOUT_S) == 0
        if proc.stdout is not None:
            proc.stdout.close()
