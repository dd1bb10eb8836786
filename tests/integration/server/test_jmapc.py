"""The unmodified jmapc library against the TLS listener: its Session and its EventSource stream.

jmapc is GPL-3.0-only, so it runs under its own throwaway virtualenv as a subprocess
(tests/jmap_clients/jmapc_driver.py; docs/jmap-clients.md). The virtualenv is made on first
use from tests/jmap_clients/requirements-jmapc.txt. The mail methods' steps (mailboxes, query,
changes, flag) come once those methods are served; here: ``session`` and ``events``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from switchboard.jmap.ids import account_id
from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import tls_settings
from tests.support.switchboard import message, new_server

pytestmark = pytest.mark.dovecot

CLIENTS = Path(__file__).parents[2] / "jmap_clients"
VENV = CLIENTS / ".venv-jmapc"
PYTHON = VENV / "bin" / "python"
LINE_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def jmapc_python() -> Path:
    """The jmapc virtualenv's interpreter, made on first use."""
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "-r",
             str(CLIENTS / "requirements-jmapc.txt")],
            check=True, timeout=600,
        )  # fmt: skip
    return PYTHON


@pytest.fixture
async def tls_server(tmp_path: Path, dovecot: DovecotServer) -> AsyncIterator[SwitchboardServer]:
    async with new_server(tmp_path / "data", dovecot, **tls_settings(dovecot)) as srv:
        yield srv


class Driver:
    """The jmapc driver as a subprocess; one JSON object per line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(
        cls, python: Path, server: SwitchboardServer, dovecot: DovecotServer, user: ImapUser,
        *args: str,
    ) -> Driver:
        proc = await asyncio.create_subprocess_exec(
            str(python), str(CLIENTS / "jmapc_driver.py"),
            "--host", f"127.0.0.1:{server.port}", "--user", user.username,
            "--password", user.password, "--ca-file", str(dovecot.ca_file), *args,
            stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return cls(proc)

    async def line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), LINE_TIMEOUT_S)
        assert raw, "the driver ended early"
        return json.loads(raw)  # type: ignore[no-any-return]

    async def finish(self) -> int:
        return await asyncio.wait_for(self.proc.wait(), LINE_TIMEOUT_S)

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


async def test_jmapc_reads_the_session_and_gets_a_state_event_after_an_append(
    jmapc_python: Path, tls_server: SwitchboardServer, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    driver = await Driver.start(
        jmapc_python, tls_server, dovecot, imap_user,
        "--steps", "session,events", "--events", "2", "--timeout", "90",
    )  # fmt: skip
    try:
        session = await driver.line()
        assert session["step"] == "session" and session["ok"], session
        jmap_id = account_id(imap_user.username)
        assert session["accountId"] == jmap_id
        assert (await driver.line())["status"] == "connecting"
        first = await driver.line()
        assert first["step"] == "event" and first["ok"], first
        before = first["data"]["changed"][jmap_id]
        await asyncio.to_thread(dovecot.append, imap_user, message("for jmapc"))
        second = await driver.line()
        assert second["step"] == "event" and second["ok"], second
        after = second["data"]["changed"][jmap_id]
        assert after["Email"] != before["Email"]
        done = await driver.line()
        assert done == {"step": "events", "ok": True, "received": 2}, done
        assert await driver.finish() == 0
    finally:
        driver.kill()
