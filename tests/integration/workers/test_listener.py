"""The listener worker against the real server and an embedded pymap IMAP server."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pymap  # noqa: F401 - the test extra installs it; a missing one must fail, not skip
import pytest

from switchboard.client.aio import AsyncClient
from switchboard.demo.imapserver import EmbeddedImapServer
from switchboard.server.app import SwitchboardServer
from switchboard.server.config import ServerSettings
from switchboard.workers.listener import Address, listen
from switchboard.workers.mail import NewMail

TIMEOUT_S = 10.0


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedImapServer, AsyncClient]]:
    async with (
        EmbeddedImapServer() as imap,
        SwitchboardServer(ServerSettings(port=0, data_dir=tmp_path, log_level="WARNING")) as srv,
        AsyncClient(f"ws://127.0.0.1:{srv.port}/workers", timeout_s=TIMEOUT_S) as client,
    ):
        auth = {"type": "plain", "username": imap.username, "password": imap.password}
        await client.call(
            "connect", {"host": imap.host, "port": imap.port, "auth": auth, "ssl": False}
        )
        await client.call("watchMailboxes", {"account": imap.username, "list": ["INBOX"]})
        await _until_idle(srv.port)
        yield imap, client


async def _until_idle(port: int) -> None:
    """Wait until the account's watcher idles, then a little more.

    pymap does not report mail delivered between a session's last command and its IDLE (it
    waits for the next change), and the watcher's first IDLE follows its catch-up FETCH: mail
    delivered in that moment would arrive only with the next change. A real mail server reports
    it at IDLE; this test is about what the listener prints, not about pymap's window.
    """
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        async with asyncio.timeout(TIMEOUT_S):
            while True:
                if (await http.get("/api/accounts")).json()[0]["state"] == "idle":
                    break
                await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # the IDLE command itself, sent just after the state moved


async def test_listener_reports_subject_from_and_to(
    worker: tuple[EmbeddedImapServer, AsyncClient],
) -> None:
    imap, client = worker
    received: asyncio.Queue[NewMail] = asyncio.Queue()
    task = asyncio.create_task(listen(client, received.put_nowait))
    try:
        await imap.deliver("First", "one", sender="Ann <ann@example.com>")
        await imap.deliver("Zweite Grüße", "two", recipient="Bob <bob@example.com>")
        async with asyncio.timeout(TIMEOUT_S):
            first, second = await received.get(), await received.get()
    finally:
        await client.close()
        async with asyncio.timeout(TIMEOUT_S):
            reported = await task  # ends with the connection
    assert reported == 2
    assert first.account == imap.username
    assert first.subject == "First"
    assert first.sender == (Address("Ann", "ann@example.com"),)
    assert first.recipients == (Address("Demo User", "demouser@example.com"),)
    assert second.subject == "Zweite Grüße"
    assert second.recipients == (Address("Bob", "bob@example.com"),)
    assert first.message_id != second.message_id
    assert first.event_id is not None and second.event_id is not None
    assert second.event_id > first.event_id


class _Stdout(io.StringIO):
    """Captures what is printed and sets ``printed`` at the end of each line."""

    def __init__(self) -> None:
        super().__init__()
        self.printed = asyncio.Event()

    def write(self, s: str) -> int:
        if "\n" in s:
            self.printed.set()
        return super().write(s)


async def test_listener_prints_by_default(worker: tuple[EmbeddedImapServer, AsyncClient]) -> None:
    imap, client = worker
    stdout = _Stdout()
    with contextlib.redirect_stdout(stdout):
        task = asyncio.create_task(listen(client))
        await imap.deliver("Printed", "body")
        async with asyncio.timeout(TIMEOUT_S):
            await stdout.printed.wait()
        await client.close()
        async with asyncio.timeout(TIMEOUT_S):
            assert await task == 1
    assert stdout.getvalue() == (
        "demouser: 'Printed' from Switchboard Demo <demo-sender@example.com> "
        "to Demo User <demouser@example.com>\n"
    )
