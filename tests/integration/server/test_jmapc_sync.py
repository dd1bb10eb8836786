"""The unmodified jmapc, end to end: it lists mailboxes, reads mail, sees new mail through
Email/changes and flags a message, against the TLS listener and Dovecot (issue 15's "done when").

The driver's steps run in one process, each on what the previous ones learnt: ``mailboxes``
finds the inbox, ``query`` reads it (Email/query, Email/get, Thread/get by result references)
and keeps its Email state, ``wait`` blocks while the test APPENDs, ``changes`` asks
Email/changes since that state (with Email/get of ``/created``), and ``flag`` sets ``$flagged``
on the newest email the query saw.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from switchboard.jmap.ids import account_id, email_id
from switchboard.server.app import SwitchboardServer
from tests.integration.server.test_jmapc import Driver, jmapc_python, until_created
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import basic_of, tls_client
from tests.support.switchboard import message

pytestmark = pytest.mark.dovecot

__all__ = ["jmapc_python"]  # the fixture, shared with test_jmapc.py


async def test_jmapc_reads_sees_new_mail_through_changes_and_flags(
    jmapc_python: Path, tls_server: SwitchboardServer, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    first = await asyncio.to_thread(dovecot.append, imap_user, message("already there"))
    driver = await Driver.start(
        jmapc_python, tls_server, dovecot, imap_user,
        "--steps", "session,mailboxes,query,wait,changes,flag", "--timeout", "90",
    )  # fmt: skip
    try:
        for step in ("session", "mailboxes"):
            line = await driver.line()
            assert line["step"] == step and line["ok"], line
        query = await driver.line()
        assert query["step"] == "query" and query["ok"], query
        inbox = dovecot.uidvalidity(imap_user)
        assert query["responses"][0]["response"]["ids"] == [email_id("INBOX", inbox, first)]
        since = query["emailState"]
        # New mail while the driver waits; it goes on once Switchboard announced it.
        new = await asyncio.to_thread(dovecot.append, imap_user, message("arrived later"))
        jmap_id = account_id(imap_user.username)
        async with tls_client(tls_server, dovecot, headers=basic_of(imap_user)) as http:
            await until_created(http, jmap_id, since, 1)
        await driver.resume()
        changes = await driver.line()
        assert changes["step"] == "changes" and changes["ok"], changes
        page, got = (r["response"] for r in changes["responses"])
        new_id = email_id("INBOX", inbox, new)
        assert page["created"] == [new_id] and page["oldState"] == since
        assert [(e["id"], e["subject"]) for e in got["list"]] == [(new_id, "arrived later")]
        flag = await driver.line()
        assert flag["step"] == "flag" and flag["ok"], flag
        flagged, read_back = (r["response"] for r in flag["responses"])
        assert flagged["updated"] == {email_id("INBOX", inbox, first): None}
        assert read_back["list"][0]["keywords"] == {"$flagged": True}
        assert await driver.finish() == 0
    finally:
        driver.kill()
    with dovecot._session(imap_user) as imap:  # another IMAP client sees the flag
        imap.select("INBOX", readonly=True)
        _typ, data = imap.uid("FETCH", str(first), "(FLAGS)")
    assert b"\\Flagged" in (data[0] if isinstance(data[0], bytes) else b"")
