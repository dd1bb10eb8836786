"""JMAP Email/set, the /changes methods and push after a change, on the TLS listener and Dovecot.

Every change is checked where a user would see it: in Dovecot, read back by another IMAP client
(stdlib imaplib), and through JMAP's own /changes and StateChange pushes. Email ids are built
the documented way (docs/jmap.md, "Ids"): this Dovecot has no OBJECTID, so an id names the
mailbox, its UIDVALIDITY and the UID.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from switchboard.jmap.capabilities import CORE, MAIL, WEBSOCKET
from switchboard.jmap.ids import account_id, email_id, mailbox_id, thread_id
from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import RawHttp, basic_of, client_tls, tls_client, tls_settings
from tests.support.switchboard import message, new_server

pytestmark = pytest.mark.dovecot

USING = [CORE, MAIL]
WAIT_S = 15.0


@pytest.fixture
async def http(
    tls_server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> AsyncIterator[httpx.AsyncClient]:
    async with tls_client(tls_server, dovecot, headers=basic_of(imap_user)) as client:
        # The Session of a Basic login adds the account and watches INBOX.
        assert (await client.get("/.well-known/jmap")).status_code == 200
        yield client


async def call(http: httpx.AsyncClient, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One method call; returns its response arguments (an error's too)."""
    request = {"using": USING, "methodCalls": [[name, arguments, "c"]]}
    response = await http.post("/jmap/api", json=request)
    assert response.status_code == 200, response.text
    ((answer, result, _),) = response.json()["methodResponses"]
    assert answer in (name, "error"), answer
    return dict(result)


async def current_state(http: httpx.AsyncClient, jmap_id: str) -> str:
    """The Email state now (an Email/set that changes nothing reports it)."""
    return str((await call(http, "Email/set", {"accountId": jmap_id}))["newState"])


async def until_changed(
    http: httpx.AsyncClient, jmap_id: str, since: str, data_type: str = "Email"
) -> dict[str, Any]:
    """The /changes page since ``since`` once it lists something (the watcher is async)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while True:
        page = await call(http, f"{data_type}/changes", {"accountId": jmap_id, "sinceState": since})
        if page.get("created") or page.get("updated") or page.get("destroyed"):
            return page
        assert loop.time() < deadline, page
        await asyncio.sleep(0.05)


async def appended(
    http: httpx.AsyncClient, dovecot: DovecotServer, user: ImapUser, *subjects: str,
    mailbox: str = "INBOX",
) -> list[int]:
    """APPEND, then wait until JMAP has the new mail (the watcher announces it)."""
    jmap_id = account_id(user.username)
    before = await current_state(http, jmap_id)
    uids = dovecot.append_many(user, [message(s) for s in subjects], mailbox)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while len((await until_changed(http, jmap_id, before))["created"]) < len(uids):
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    return uids


async def test_keywords_are_imap_flags_in_dovecot_and_changes_list_the_update(
    http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    jmap_id = account_id(imap_user.username)
    uid, other = await appended(http, dovecot, imap_user, "flag me", "leave me")
    email = email_id("INBOX", dovecot.uidvalidity(imap_user), uid)
    before = await current_state(http, jmap_id)
    result = await call(http, "Email/set", {
        "accountId": jmap_id, "ifInState": before,
        "update": {email: {"keywords/$flagged": True, "keywords/$seen": True,
                           "keywords/$Label1": True}},
    })  # fmt: skip
    assert result["updated"] == {email: None} and result["notUpdated"] is None
    assert result["oldState"] == before and result["newState"] != before
    assert dovecot.flags(imap_user) == {uid: {"\\Flagged", "\\Seen", "$label1"}, other: set()}
    # The whole map replaces the JMAP-visible flags.
    replaced = await call(http, "Email/set", {
        "accountId": jmap_id, "update": {email: {"keywords": {"$answered": True}}},
    })  # fmt: skip
    assert replaced["updated"] == {email: None}
    assert dovecot.flags(imap_user)[uid] == {"\\Answered"}
    page = await call(http, "Email/changes", {"accountId": jmap_id, "sinceState": before})
    assert page["updated"] == [email] and page["created"] == [] and page["destroyed"] == []
    # (The CONDSTORE poll then sees our own STOREs too: they only repeat this update.)
    assert page["hasMoreChanges"] is False
    boxes = await call(http, "Mailbox/changes", {"accountId": jmap_id, "sinceState": before})
    assert boxes["updated"] == [mailbox_id("INBOX", dovecot.uidvalidity(imap_user))]
    assert boxes["updatedProperties"] is None


async def test_a_move_and_a_destroy_in_dovecot(
    http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    jmap_id = account_id(imap_user.username)
    dovecot.create_mailbox(imap_user, "Archive")
    moving, doomed, kept = await appended(http, dovecot, imap_user, "m", "d", "k")
    inbox = dovecot.uidvalidity(imap_user)
    archive = mailbox_id("Archive", dovecot.uidvalidity(imap_user, "Archive"))
    moving_id, doomed_id = email_id("INBOX", inbox, moving), email_id("INBOX", inbox, doomed)
    before = await current_state(http, jmap_id)
    result = await call(http, "Email/set", {
        "accountId": jmap_id,
        "update": {moving_id: {f"mailboxIds/{archive}": True,
                               f"mailboxIds/{mailbox_id('INBOX', inbox)}": None}},
        "destroy": [doomed_id],
    })  # fmt: skip
    assert result["updated"] == {moving_id: None}, result
    assert result["destroyed"] == [doomed_id]
    assert set(dovecot.flags(imap_user)) == {kept}
    (new_uid,) = dovecot.flags(imap_user, "Archive")
    new_id = email_id("Archive", dovecot.uidvalidity(imap_user, "Archive"), new_uid)
    page = await call(http, "Email/changes", {"accountId": jmap_id, "sinceState": before})
    # Without OBJECTID a moved message's id names its new place: the old id is gone.
    assert page["created"] == [new_id]
    assert sorted(page["destroyed"]) == sorted([moving_id, doomed_id])
    threads = await call(http, "Thread/changes", {"accountId": jmap_id, "sinceState": before})
    assert thread_id(doomed_id) in threads["destroyed"]
    again = await call(http, "Email/set", {"accountId": jmap_id, "destroy": [doomed_id]})
    assert again["notDestroyed"] == {doomed_id: {"type": "notFound"}}


async def test_set_errors_per_id_and_for_the_call(
    http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    jmap_id = account_id(imap_user.username)
    (uid,) = await appended(http, dovecot, imap_user, "errors")
    inbox = dovecot.uidvalidity(imap_user)
    email = email_id("INBOX", inbox, uid)
    gone = email_id("INBOX", inbox, uid + 100)
    result = await call(http, "Email/set", {
        "accountId": jmap_id,
        "create": {"k1": {"mailboxIds": {mailbox_id("INBOX", inbox): True}}},
        "update": {gone: {"keywords/$seen": True},
                   email: {"subject": "new"}},
        "destroy": ["eNOTANID"],
    })  # fmt: skip
    assert result["notCreated"]["k1"]["type"] == "forbidden"
    assert result["notUpdated"][gone] == {"type": "notFound"}
    assert result["notUpdated"][email]["type"] == "invalidProperties"
    assert result["notUpdated"][email]["properties"] == ["subject"]
    assert result["notDestroyed"] == {"eNOTANID": {"type": "notFound"}}
    assert result["oldState"] == result["newState"]  # nothing happened
    two = await call(http, "Email/set", {"accountId": jmap_id, "update": {
        email: {"mailboxIds": {mailbox_id("INBOX", inbox): True, "mOther": True}}}})
    assert two["notUpdated"][email]["type"] == "tooManyMailboxes"
    nowhere = await call(http, "Email/set", {"accountId": jmap_id, "update": {
        email: {f"mailboxIds/{mailbox_id('INBOX', inbox)}": None}}})
    assert nowhere["notUpdated"][email]["type"] == "invalidProperties"
    stale = await call(http, "Email/set", {"accountId": jmap_id, "ifInState": "x:1",
                                           "destroy": [email]})  # fmt: skip
    assert stale["type"] == "stateMismatch"
    assert set(dovecot.flags(imap_user)) == {uid}  # nothing was destroyed
    other = await call(http, "Email/set", {"accountId": "aNOBODY", "destroy": [email]})
    assert other["type"] == "accountNotFound"


async def test_changes_after_an_append_paged_and_what_cannot_be_calculated(
    http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    jmap_id = account_id(imap_user.username)
    before = await current_state(http, jmap_id)
    uids = dovecot.append_many(imap_user, [message(f"new {n}") for n in range(3)])
    inbox = dovecot.uidvalidity(imap_user)
    expected = [email_id("INBOX", inbox, uid) for uid in uids]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while len((await until_changed(http, jmap_id, before))["created"]) < 3:
        assert loop.time() < deadline
        await asyncio.sleep(0.05)
    # maxChanges pages through them; every page's newState continues exactly.
    seen: list[str] = []
    state = before
    for _ in range(3):
        page = await call(http, "Email/changes",
                          {"accountId": jmap_id, "sinceState": state, "maxChanges": 2})  # fmt: skip
        assert len(page["created"]) <= 2
        seen += page["created"]
        state = page["newState"]
        if not page["hasMoreChanges"]:
            break
    assert sorted(seen) == sorted(expected)
    delivered = await call(http, "Mailbox/changes", {"accountId": jmap_id, "sinceState": before})
    assert delivered["updated"] == [mailbox_id("INBOX", inbox)]
    for since in ("garbage", "zz-other:0", state + "9"):
        error = await call(http, "Email/changes", {"accountId": jmap_id, "sinceState": since})
        assert error["type"] == "cannotCalculateChanges", since
    query = await call(
        http, "Email/queryChanges", {"accountId": jmap_id, "sinceQueryState": state}
    )
    assert query["type"] == "cannotCalculateChanges"
    boxes = await call(http, "Mailbox/queryChanges", {"accountId": jmap_id, "sinceQueryState": "q"})
    assert boxes["type"] == "cannotCalculateChanges"
    bad = await call(http, "Email/changes", {"accountId": jmap_id, "sinceState": state,
                                             "maxChanges": 0})  # fmt: skip
    assert bad["type"] == "invalidArguments"


def _event(raw: bytes) -> dict[str, Any]:
    fields = dict(line.split(": ", 1) for line in raw.decode("ascii").strip("\n").split("\n"))
    assert fields["event"] == "state"
    return dict(json.loads(fields["data"]))


async def test_a_flag_change_is_pushed_on_eventsource_and_websocket(
    tls_server: SwitchboardServer, http: httpx.AsyncClient, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    jmap_id = account_id(imap_user.username)
    (uid,) = await appended(http, dovecot, imap_user, "push me")
    email = email_id("INBOX", dovecot.uidvalidity(imap_user), uid)
    stream = await RawHttp.open(tls_server, client_tls(dovecot))
    session = (await http.get("/.well-known/jmap")).json()
    ws_url = session["capabilities"][WEBSOCKET]["url"]
    try:
        await stream.send("GET", "/jmap/eventsource?types=Email,EmailDelivery&closeafter=no&ping=0",
                          {**basic_of(imap_user), "Accept": "text/event-stream"})  # fmt: skip
        assert (await stream.head())[0] == 200
        first = _event(await stream.event())["changed"][jmap_id]
        assert set(first) == {"Email", "EmailDelivery"}
        async with connect(
            ws_url, ssl=client_tls(dovecot), subprotocols=["jmap"],  # type: ignore[list-item]
            additional_headers=basic_of(imap_user), open_timeout=15,
        ) as ws:  # fmt: skip
            await ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": None}))
            await asyncio.sleep(0.1)  # the enable is read before the change below
            result = await call(http, "Email/set", {
                "accountId": jmap_id, "update": {email: {"keywords/$flagged": True}}})
            assert result["updated"] == {email: None}
            pushed = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
            assert pushed["@type"] == "StateChange"
            assert pushed["changed"][jmap_id] == {
                "Email": result["newState"], "Mailbox": result["newState"]}
        # A flag is no delivery: only Email changed among the types asked.
        second = _event(await stream.event())["changed"][jmap_id]
        assert second == {"Email": result["newState"]}
    finally:
        await stream.close()


async def test_changes_by_another_imap_client_are_found_with_condstore(
    http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    jmap_id = account_id(imap_user.username)
    dovecot.create_mailbox(imap_user, "Unwatched")
    (uid,) = await appended(http, dovecot, imap_user, "flag me elsewhere")
    inbox = dovecot.uidvalidity(imap_user)
    before = await current_state(http, jmap_id)
    # The first /changes of the account waits for its first CONDSTORE marks (docs/jmap.md).
    assert (await call(http, "Email/changes", {"accountId": jmap_id, "sinceState": before}))[
        "updated"] == []
    with dovecot._session(imap_user) as imap:  # another mail client sets a flag
        imap.select("INBOX")
        imap.uid("STORE", str(uid), "+FLAGS", "(\\Flagged)")
    elsewhere = dovecot.append(imap_user, message("not watched"), "Unwatched")
    page = await call(http, "Email/changes", {"accountId": jmap_id, "sinceState": before})
    assert page["updated"] == [email_id("INBOX", inbox, uid)]
    unwatched = dovecot.uidvalidity(imap_user, "Unwatched")
    assert page["created"] == [email_id("Unwatched", unwatched, elsewhere)]
    boxes = await call(http, "Mailbox/changes", {"accountId": jmap_id, "sinceState": before})
    assert sorted(boxes["updated"]) == sorted(
        [mailbox_id("INBOX", inbox), mailbox_id("Unwatched", unwatched)])
    dovecot.create_mailbox(imap_user, "Brand new")
    fresh = await call(http, "Mailbox/changes", {"accountId": jmap_id, "sinceState": before})
    new_box = mailbox_id("Brand new", dovecot.uidvalidity(imap_user, "Brand new"))
    assert fresh["created"] == [new_box]
    # A mailbox another client deleted voids the ids naming it: resynchronise.
    dovecot.delete_mailbox(imap_user, "Unwatched")
    gone = await call(http, "Email/changes", {"accountId": jmap_id, "sinceState": before})
    assert gone["type"] == "cannotCalculateChanges"


async def test_another_clients_flag_is_pushed_by_the_background_poll(
    tls_server: SwitchboardServer, http: httpx.AsyncClient, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    tls_server.parts.jmap_others.interval_s = 0.2  # 60 s in service
    jmap_id = account_id(imap_user.username)
    (uid,) = await appended(http, dovecot, imap_user, "flagged elsewhere")
    stream = await RawHttp.open(tls_server, client_tls(dovecot))
    try:
        await stream.send("GET", "/jmap/eventsource?types=*&closeafter=no&ping=0",
                          {**basic_of(imap_user), "Accept": "text/event-stream"})  # fmt: skip
        assert (await stream.head())[0] == 200
        first = _event(await stream.event())["changed"][jmap_id]
        with dovecot._session(imap_user) as imap:  # another mail client sets a flag
            imap.select("INBOX")
            imap.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
        pushed = _event(await stream.event())["changed"][jmap_id]
        assert set(pushed) == {"Email", "Mailbox"} and pushed["Email"] != first["Email"]
        page = await call(http, "Email/changes",
                          {"accountId": jmap_id, "sinceState": first["Email"]})  # fmt: skip
        assert page["updated"] == [email_id("INBOX", dovecot.uidvalidity(imap_user), uid)]
    finally:
        await stream.close()


async def test_many_emails_in_one_set_and_update_with_destroy(
    http: httpx.AsyncClient, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    jmap_id = account_id(imap_user.username)
    dovecot.create_mailbox(imap_user, "Done")
    uids = await appended(http, dovecot, imap_user, "a", "b", "c", "d", "e")
    inbox = dovecot.uidvalidity(imap_user)
    ids = [email_id("INBOX", inbox, uid) for uid in uids]
    done = mailbox_id("Done", dovecot.uidvalidity(imap_user, "Done"))
    result = await call(http, "Email/set", {
        "accountId": jmap_id,
        "update": {
            ids[0]: {"keywords/$seen": True}, ids[1]: {"keywords/$seen": True},
            ids[2]: {"mailboxIds": {done: True}, "keywords/$seen": True},
            ids[3]: {"mailboxIds": {done: True}},
            ids[4]: {"keywords/$seen": True},
        },
        "destroy": [ids[4], ids[4]],
    })  # fmt: skip
    assert result["updated"] == {i: None for i in ids[:4]}
    assert result["notUpdated"] == {ids[4]: {"type": "willDestroy"}}
    assert result["destroyed"] == [ids[4]]
    assert result["notDestroyed"] == {ids[4]: {"type": "notFound"}}  # named twice
    assert dovecot.flags(imap_user) == {uids[0]: {"\\Seen"}, uids[1]: {"\\Seen"}}
    moved = dovecot.flags(imap_user, "Done")
    assert sorted(moved.values(), key=len) == [set(), {"\\Seen"}]  # keywords travel along


async def test_a_state_from_before_a_restart_cannot_be_continued(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    jmap_id = account_id(imap_user.username)
    states: list[str] = []
    for _ in range(2):  # the same data directory, two runs
        async with (
            new_server(tmp_path / "data", dovecot, **tls_settings(dovecot)) as srv,
            tls_client(srv, dovecot, headers=basic_of(imap_user)) as http,
        ):  # fmt: skip
            assert (await http.get("/.well-known/jmap")).status_code == 200
            if states:
                page = await call(http, "Email/changes",
                                  {"accountId": jmap_id, "sinceState": states[0]})  # fmt: skip
                assert page["type"] == "cannotCalculateChanges"
            states.append(await current_state(http, jmap_id))
    # The journal is in memory: the new run's states are its own (docs/jmap.md).
    assert states[0].split(":")[0] != states[1].split(":")[0]
