"""The listener worker against the real server and an embedded pymap IMAP server."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

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
        yield imap, client


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
