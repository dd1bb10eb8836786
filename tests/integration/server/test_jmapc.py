"""The unmodified jmapc library against the TLS listener: its Session and its EventSource stream.

jmapc is GPL-3.0-only, so it runs under its own throwaway virtualenv as a subprocess
(tests/jmap_clients/jmapc_driver.py; docs/jmap-clients.md). The virtualenv is made by
scripts/lib.sh's ``ensure_jmap_clients`` from tests/jmap_clients/requirements-jmapc.txt. Here:
``session`` and ``events``, and ``flag`` then ``changes`` (Email/set, and Email/changes after an
APPEND) against an email whose id the test builds the documented way.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.jmap.capabilities import CORE, MAIL
from switchboard.jmap.ids import account_id, email_id
from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_clients import CLIENTS, ensure_jmap_clients
from tests.support.jmap_http import base_url, basic_of, client_tls
from tests.support.switchboard import message

pytestmark = pytest.mark.dovecot

VENV = CLIENTS / ".venv-jmapc"
PYTHON = VENV / "bin" / "python"
LINE_TIMEOUT_S = 60.0


@pytest.fixture(scope="session")
def jmapc_python() -> Path:
    """The jmapc virtualenv's interpreter (scripts/lib.sh makes it, when it must)."""
    ensure_jmap_clients()
    return PYTHON


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

    async def resume(self) -> None:
        """Let the driver's ``wait`` step go on (it blocks on stdin until the test's change is
        made) and read its ``wait`` line."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"appended\n")
        await self.proc.stdin.drain()
        assert (await self.line())["step"] == "wait"

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


async def test_jmapc_flags_a_message_and_sees_email_changes_after_an_append(
    jmapc_python: Path, tls_server: SwitchboardServer, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    base = base_url(tls_server)
    async with httpx.AsyncClient(base_url=base, verify=client_tls(dovecot), timeout=20,
                                 headers=basic_of(imap_user)) as http:  # fmt: skip
        assert (await http.get("/.well-known/jmap")).status_code == 200  # adds the account
        jmap_id = account_id(imap_user.username)
        start = await email_state(http, jmap_id)
        uid = await asyncio.to_thread(dovecot.append, imap_user, message("flag me, jmapc"))
        await until_created(http, jmap_id, start, 1)
        email = email_id("INBOX", dovecot.uidvalidity(imap_user), uid)
        since = await email_state(http, jmap_id)
        driver = await Driver.start(
            jmapc_python, tls_server, dovecot, imap_user,
            "--steps", "session,flag,wait,changes", "--email-id", email,
            "--since-state", since, "--timeout", "90",
        )  # fmt: skip
        try:
            assert (await driver.line())["step"] == "session"
            flag = await driver.line()
            assert flag["step"] == "flag" and flag["ok"], flag
            set_response = flag["responses"][0]
            assert set_response["type"] == "EmailSetResponse", set_response
            assert email in set_response["response"]["updated"]
            assert "\\Flagged" in (await asyncio.to_thread(dovecot.flags, imap_user))[uid]
            # The driver's `wait` step blocks on stdin until the APPEND is done.
            new_uid = await asyncio.to_thread(dovecot.append, imap_user, message("after"))
            await until_created(http, jmap_id, since, 1)
            await driver.resume()
            changes = await driver.line()
            assert changes["step"] == "changes" and changes["ok"], changes
            page = changes["responses"][0]
            assert page["type"] == "EmailChangesResponse", page
            new = email_id("INBOX", dovecot.uidvalidity(imap_user), new_uid)
            assert page["response"]["created"] == [new]
            assert page["response"]["updated"] == [email]
            assert await driver.finish() == 0
        finally:
            driver.kill()


async def email_state(http: httpx.AsyncClient, jmap_id: str) -> str:
    request = {"using": [CORE, MAIL], "methodCalls": [["Email/set", {"accountId": jmap_id}, "c"]]}
    response = (await http.post("/jmap/api", json=request)).json()
    return str(response["methodResponses"][0][1]["newState"])


async def until_created(http: httpx.AsyncClient, jmap_id: str, since: str, count: int) -> None:
    """Wait until Email/changes since ``since`` lists ``count`` created (the watcher is async)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINE_TIMEOUT_S
    request = {"using": [CORE, MAIL], "methodCalls": [
        ["Email/changes", {"accountId": jmap_id, "sinceState": since}, "c"]]}
    while True:
        response = (await http.post("/jmap/api", json=request)).json()
        if len(response["methodResponses"][0][1].get("created", [])) >= count:
            return
        assert loop.time() < deadline, response
        await asyncio.sleep(0.05)
