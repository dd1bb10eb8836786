"""The unmodified jmap-jam library (npm, MIT) under Node against the TLS listener and Dovecot.

jmap-jam authenticates with a bearer token only, so the test makes a client token for the
account (added first by a Basic login, as any JMAP client would). The driver
(tests/jmap_clients/jam_driver.mjs; docs/jmap-clients.md) runs the Session, Mailbox/get,
Email/query then Email/get, and the same pair in one request with a result reference.
``node_modules`` is made by scripts/lib.sh's ``ensure_jmap_clients`` (``npm ci``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from typing import Any

import httpx
import pytest

from switchboard.jmap.ids import account_id
from switchboard.model.store import TokenScope
from switchboard.server.app import SwitchboardServer
from switchboard.server.tokens import create_token
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_clients import CLIENTS, ensure_jmap_clients
from tests.support.jmap_http import base_url, basic_of, client_tls
from tests.support.switchboard import message

pytestmark = pytest.mark.dovecot

RUN_TIMEOUT_S = 90.0


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` binary, with jmap-jam installed beside the driver (scripts/lib.sh's
    ``ensure_jmap_clients``: ``npm ci`` when the lockfile changed)."""
    binary = shutil.which("node")
    assert binary is not None and shutil.which("npm"), "node and npm are needed (scripts/lib.sh)"
    ensure_jmap_clients()
    return binary


async def run_driver(
    node: str, server: SwitchboardServer, dovecot: DovecotServer, token: str
) -> tuple[int, list[dict[str, Any]]]:
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(dovecot.ca_file)}
    proc = await asyncio.create_subprocess_exec(
        node, str(CLIENTS / "jam_driver.mjs"),
        "--session-url", f"{base_url(server)}/.well-known/jmap", "--token", token,
        "--timeout-ms", str(int(RUN_TIMEOUT_S * 1000)),
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S + 10)
    finally:
        if proc.returncode is None:
            proc.kill()
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert proc.returncode is not None
    return proc.returncode, lines


async def test_jmap_jam_reads_the_session_mailboxes_and_mail(
    node: str, tls_server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    await asyncio.to_thread(
        dovecot.append_many, imap_user,
        [message("older for jam", body="one\r\n"), message("newer for jam", body="two\r\n")],
    )  # fmt: skip
    async with httpx.AsyncClient(verify=client_tls(dovecot), timeout=20) as http:
        added = await http.get(f"{base_url(tls_server)}/.well-known/jmap",
                               headers=basic_of(imap_user))  # fmt: skip
        assert added.status_code == 200, added.text
    token, _ = await create_token(
        tls_server.parts.store, TokenScope.CLIENT, name="jam", account=imap_user.username
    )
    status, lines = await run_driver(node, tls_server, dovecot, token)
    assert status == 0, lines
    session, mailboxes, query, refs = lines
    assert [s["step"] for s in lines] == ["session", "mailboxes", "query", "refs"]
    jmap_id = account_id(imap_user.username)
    assert session["accountId"] == jmap_id
    inbox = mailboxes["inbox"]
    [listed] = [m for m in mailboxes["response"]["list"] if m["id"] == inbox]
    assert listed["role"] == "inbox" and listed["totalEmails"] == 2
    assert query["query"]["total"] == 2
    emails = query["emails"]["list"]
    assert [e["subject"] for e in emails] == ["newer for jam", "older for jam"]
    assert [e["id"] for e in emails] == query["query"]["ids"]
    assert emails[0]["preview"] == "two" and emails[0]["mailboxIds"] == {inbox: True}
    results = refs["results"]
    assert results["query"]["ids"] == query["query"]["ids"]
    assert [e["subject"] for e in results["emails"]["list"]] == ["newer for jam", "older for jam"]
