"""Messages another IMAP client expunged or moved reach Email/changes as destroyed; on Dovecot.

The other client is Python's imaplib on its own connection to the same Dovecot account; the
JMAP client speaks HTTPS to the real listener. Dovecot offers CONDSTORE, so the poll of
``server/jmap/otherclients.py`` runs (docs/jmap.md, "States and /changes").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.jmap.capabilities import CORE, MAIL
from switchboard.jmap.ids import account_id, email_id, mailbox_id, thread_id
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import base_url, basic_of, client_tls, tls_settings
from tests.support.switchboard import message, new_server

pytestmark = pytest.mark.dovecot

WAIT_S = 15.0


@pytest.fixture
async def http(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        new_server(tmp_path / "data", dovecot, **tls_settings(dovecot)) as server,
        httpx.AsyncClient(
            base_url=base_url(server), verify=client_tls(dovecot), timeout=20,
            headers=basic_of(imap_user),
        ) as client,
    ):  # fmt: skip
        assert (await client.get("/.well-known/jmap")).status_code == 200  # adds the account
        yield client


async def call(http: httpx.AsyncClient, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    request = {"using": [CORE, MAIL], "methodCalls": [[name, arguments, "c"]]}
    response = await http.post("/jmap/api", json=request)
    assert response.status_code == 200, response.text
    ((answer, result, _),) = response.json()["methodResponses"]
    assert answer == name, result
    return dict(result)


async def email_state(http: httpx.AsyncClient, jmap_id: str) -> str:
    return str((await call(http, "Email/get", {"accountId": jmap_id, "ids": []}))["state"])


async def changes(http: httpx.AsyncClient, jmap_id: str, since: str, kind: str = "Email") -> Any:
    return await call(http, f"{kind}/changes", {"accountId": jmap_id, "sinceState": since})


async def appended(
    http: httpx.AsyncClient, dovecot: DovecotServer, user: ImapUser, *subjects: str
) -> list[int]:
    """APPEND to INBOX, then wait until the watcher's announcements are journaled."""
    jmap_id = account_id(user.username)
    since = await email_state(http, jmap_id)
    uids = dovecot.append_many(user, [message(s) for s in subjects])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while len((await changes(http, jmap_id, since))["created"]) < len(uids):
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    return uids


async def test_an_expunge_and_a_move_by_another_client_are_destroyed_emails(
    http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    jmap_id = account_id(imap_user.username)
    dovecot.create_mailbox(imap_user, "Archive")
    keep, expunged, moved = await appended(
        http, dovecot, imap_user, "keep", "expunge me", "move me"
    )
    inbox = dovecot.uidvalidity(imap_user)
    archive = dovecot.uidvalidity(imap_user, "Archive")
    ids = [email_id("INBOX", inbox, uid) for uid in (keep, expunged, moved)]
    # The client has the three emails; its first /changes takes the marks and the UID lists.
    found = await call(http, "Email/query", {"accountId": jmap_id})
    assert sorted(found["ids"]) == sorted(ids)
    before = await email_state(http, jmap_id)
    boxes_before = str((await call(http, "Mailbox/get", {"accountId": jmap_id}))["state"])
    await changes(http, jmap_id, before)

    with dovecot._session(imap_user) as imap:  # another mail client
        imap.select("INBOX")
        imap.uid("STORE", str(expunged), "+FLAGS.SILENT", "(\\Deleted)")
        imap.expunge()
        typ, _ = imap.uid("MOVE", str(moved), "Archive")
        assert typ == "OK"

    page = await changes(http, jmap_id, before)
    assert sorted(page["destroyed"]) == sorted(ids[1:]), (page, ids)
    assert page["updated"] == []
    # The moved message is new mail in Archive (a new id: ids name their mailbox).
    (arrived,) = page["created"]
    assert arrived.startswith("e") and arrived not in ids
    got = await call(http, "Email/get", {"accountId": jmap_id, "ids": [arrived, ids[1]],
                                         "properties": ["subject", "mailboxIds"]})  # fmt: skip
    assert got["list"] == [{"id": arrived, "subject": "move me",
                            "mailboxIds": {mailbox_id("Archive", archive): True}}]  # fmt: skip
    assert got["notFound"] == [ids[1]]
    threads = await changes(http, jmap_id, before, "Thread")
    assert sorted(threads["destroyed"]) == sorted(thread_id(i) for i in ids[1:])
    boxes = await changes(http, jmap_id, boxes_before, "Mailbox")
    assert mailbox_id("INBOX", inbox) in boxes["updated"]
    # Said once: the next page from the new state is empty.
    again = await changes(http, jmap_id, page["newState"])
    assert (again["created"], again["updated"], again["destroyed"]) == ([], [], [])


async def test_our_own_destroy_is_not_reported_twice(
    http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    jmap_id = account_id(imap_user.username)
    first, second = await appended(http, dovecot, imap_user, "one", "two")
    ids = [email_id("INBOX", dovecot.uidvalidity(imap_user), uid) for uid in (first, second)]
    before = await email_state(http, jmap_id)
    await changes(http, jmap_id, before)  # the marks
    done = await call(http, "Email/set", {"accountId": jmap_id, "destroy": [ids[0]]})
    assert done["destroyed"] == [ids[0]]
    ours = done["newState"]
    with dovecot._session(imap_user) as imap:  # another client expunges the other one
        imap.select("INBOX")
        imap.uid("STORE", str(second), "+FLAGS.SILENT", "(\\Deleted)")
        imap.expunge()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not (page := await changes(http, jmap_id, ours))["destroyed"]:
        assert loop.time() < deadline, page
        await asyncio.sleep(0.1)
    assert page["destroyed"] == [ids[1]]  # ours is not repeated
    everything = await changes(http, jmap_id, before)
    assert sorted(everything["destroyed"]) == sorted(ids)
