"""What ``accounts list`` and ``watch`` show across a server restart, on a real Dovecot.

The history (EVENTS, LAST EVENT) comes from the store's event log, so a restart does not reset
it; ``watch --since`` prints the logged events; a running ``watch`` reconnects after a restart
and prints the mail announced while it was away.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from switchboard import aio
from switchboard.server.app import SwitchboardServer
from tests.integration.test_admin_cli import SWITCHBOARD, TOKEN, WAIT_S, cli_env, run
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import message, new_server

pytestmark = pytest.mark.dovecot


async def connect_account(port: int, dovecot: DovecotServer, user: ImapUser) -> None:
    async with aio.connect(f"ws://127.0.0.1:{port}/workers", token=TOKEN) as worker:
        auth = {"type": "plain", "username": user.username, "password": user.password}
        await worker.call("connect", {"host": dovecot.host, "port": dovecot.tls_port, "auth": auth})
        await worker.call("watchMailboxes", {"account": user.username, "list": ["INBOX"]})


async def deliver(server: SwitchboardServer, dovecot: DovecotServer, user: ImapUser,
                  subject: str) -> int:  # fmt: skip
    """Append a message and wait until the server published its event; its UID."""
    published = asyncio.Event()
    server.parts.hub.add_listener(lambda events: published.set())
    uid = await asyncio.to_thread(dovecot.append, user, message(subject))
    await asyncio.wait_for(published.wait(), WAIT_S)
    return uid


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


async def test_accounts_list_keeps_the_history_across_a_restart(
    data_dir: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    async with new_server(data_dir, dovecot, tokens=(TOKEN,)) as first:
        await connect_account(first.port, dovecot, imap_user)
        await deliver(first, dovecot, imap_user, "one")
        await deliver(first, dovecot, imap_user, "two")
    async with new_server(data_dir, dovecot, tokens=(TOKEN,)) as second:
        env = cli_env(SWITCHBOARD_TOKEN=TOKEN, SWITCHBOARD_URL=f"http://127.0.0.1:{second.port}")
        # The log is read in the background at start-up.
        await asyncio.wait_for(second.parts.history.loaded.wait(), WAIT_S)
        history = second.parts.history.totals(imap_user.username)
        assert history is not None and history.count == 2
        listed = await run("accounts", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    _header, row = listed.stdout.splitlines()
    assert row.split()[0] == imap_user.username
    assert " never " not in row  # LAST EVENT
    assert row.split()[-1] == "2"  # EVENTS (no ERROR column text)


async def test_watch_since_prints_the_logged_events_then_live_ones(
    data_dir: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    async with new_server(data_dir, dovecot, tokens=(TOKEN,)) as server:
        await connect_account(server.port, dovecot, imap_user)
        old = await deliver(server, dovecot, imap_user, "logged before")
        result = await run(
            "watch", "--since", "0", "--count", "1", "--summary",
            "--url", f"http://127.0.0.1:{server.port}", env=cli_env(SWITCHBOARD_TOKEN=TOKEN),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.split("  ")[2].endswith(f"?{old}")
    assert line.endswith("  from Alice Example <alice@example.com>: logged before"), line


async def test_a_running_watch_prints_the_mail_announced_while_the_server_restarted(
    data_dir: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    first = new_server(data_dir, dovecot, tokens=(TOKEN,))
    await first.start()
    port = first.port
    try:
        await connect_account(port, dovecot, imap_user)
        proc = await asyncio.create_subprocess_exec(
            *SWITCHBOARD, "watch", "--count", "2", "--url", f"http://127.0.0.1:{port}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=cli_env(SWITCHBOARD_TOKEN=TOKEN),
        )  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        ready = await asyncio.wait_for(proc.stderr.readline(), WAIT_S)
        assert ready.decode().startswith("watching ")
    finally:
        await first.stop()
    try:
        # Mail arrives while the server is down; the next start announces it at once.
        while_down = await asyncio.to_thread(dovecot.append, imap_user, message("while down"))
        async with new_server(data_dir, dovecot, tokens=(TOKEN,), port=port) as second:
            after = await deliver(second, dovecot, imap_user, "after the restart")
            out = await asyncio.wait_for(proc.stdout.read(), WAIT_S)  # --count 2: it exits
        assert await asyncio.wait_for(proc.wait(), WAIT_S) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = out.decode().splitlines()
    assert [line.split("  ")[2].rsplit("?", 1)[1] for line in lines] == [
        str(while_down), str(after)
    ], lines
