"""The unmodified jmapc library reads mail: Mailbox/get, then Email/query, Email/get and
Thread/get in one request through result references, against the TLS listener and Dovecot.

The driver and its virtualenv are test_jmapc.py's (jmapc is GPL-3.0-only: it runs under its
own throwaway virtualenv as a subprocess; docs/jmap-clients.md).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from switchboard.server.app import SwitchboardServer
from tests.integration.server.test_jmapc import Driver, jmapc_python
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import message

pytestmark = pytest.mark.dovecot

__all__ = ["jmapc_python"]  # the fixture, shared with test_jmapc.py


async def test_jmapc_lists_mailboxes_and_reads_mail_through_result_references(
    jmapc_python: Path, tls_server: SwitchboardServer, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    older = message("older for jmapc", body="first body\r\n")
    newer = message("newer for jmapc", body="second body\r\n")
    await asyncio.to_thread(dovecot.append_many, imap_user, [older, newer])
    driver = await Driver.start(
        jmapc_python, tls_server, dovecot, imap_user,
        "--steps", "session,mailboxes,query", "--timeout", "90",
    )  # fmt: skip
    try:
        session = await driver.line()
        assert session["step"] == "session" and session["ok"], session
        mailboxes = await driver.line()
        assert mailboxes["step"] == "mailboxes" and mailboxes["ok"], mailboxes
        inbox = mailboxes["inbox"]
        [listed] = [m for m in mailboxes["response"]["list"] if m["id"] == inbox]
        assert listed["role"] == "inbox" and listed["totalEmails"] == 2
        query = await driver.line()
        assert query["step"] == "query" and query["ok"], query
        found, got, threads = (r["response"] for r in query["responses"])
        assert [r["type"] for r in query["responses"]] == [
            "EmailQueryResponse", "EmailGetResponse", "ThreadGetResponse"]  # fmt: skip
        assert found["total"] == 2 and len(found["ids"]) == 2
        emails = got["list"]
        assert [e["subject"] for e in emails] == ["newer for jmapc", "older for jmapc"]
        assert [e["id"] for e in emails] == found["ids"]
        assert emails[0]["preview"] == "second body"
        assert emails[0]["mailboxIds"] == {inbox: True}
        assert [t["emailIds"] for t in threads["list"]] == [[e["id"]] for e in emails]
        assert await driver.finish() == 0
    finally:
        driver.kill()
