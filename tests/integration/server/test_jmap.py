"""JMAP on the real listener with TLS: Session, API, auth, EventSource, RFC 8887; on Dovecot."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

import switchboard.aio
from switchboard.jmap.capabilities import CORE, MAIL, SUBMISSION, WEBSOCKET
from switchboard.jmap.ids import account_id
from switchboard.model.store import TokenScope
from switchboard.server.accountbook import WORKERS
from switchboard.server.app import SwitchboardServer
from switchboard.server.tokens import create_token
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import (
    RawHttp,
    base_url,
    basic,
    basic_of,
    client_tls,
    tls_client,
    tls_settings,
)
from tests.support.switchboard import message, new_server, plain

pytestmark = pytest.mark.dovecot

CHALLENGE = 'Basic realm="Switchboard", Bearer'
JSON = {"Content-Type": "application/json"}


def echo_request(*calls: list[Any], using: list[str] | None = None) -> dict[str, Any]:
    return {"using": using or [CORE], "methodCalls": list(calls)}


# -- TLS: the 2014 sockets and JMAP on one port ----------------------------------------------


async def test_a_2014_worker_over_wss_and_jmap_over_https_share_the_port(
    tls_server: SwitchboardServer,
    http: httpx.AsyncClient,
    dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    url = f"wss://127.0.0.1:{tls_server.port}/workers"
    async with switchboard.aio.connect(url, ssl=client_tls(dovecot)) as sb:
        await sb.call("connect", plain(dovecot, imap_user.username, imap_user.password))
        await sb.watch_mailboxes(imap_user.username, ["INBOX"])
        await sb.watch_all()
        response = await http.get("/.well-known/jmap", headers=basic_of(imap_user))
        assert response.status_code == 200, response.text
        await asyncio.to_thread(dovecot.append, imap_user, message("over wss"))
        async for push in sb.events():
            if push.name == "newMessage":
                break
    health = await http.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


async def test_plain_http_to_the_tls_port_gets_no_answer(tls_server: SwitchboardServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", tls_server.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 15)
    assert b"HTTP/1.1 200" not in data
    writer.close()


# -- the Session ---------------------------------------------------------------------------------


async def test_the_session_of_a_basic_login_adds_and_watches_a_new_account(
    tls_server: SwitchboardServer, http: httpx.AsyncClient, imap_user: ImapUser
) -> None:
    assert not tls_server.parts.accounts.exists(imap_user.username)
    response = await http.get("/.well-known/jmap", headers=basic_of(imap_user))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    session = response.json()
    root = base_url(tls_server)
    jmap_id = account_id(imap_user.username)
    assert session["username"] == imap_user.username
    assert session["apiUrl"] == f"{root}/jmap/api"
    assert session["downloadUrl"] == (
        f"{root}/jmap/download/{{accountId}}/{{blobId}}/{{name}}?type={{type}}"
    )
    assert session["uploadUrl"] == f"{root}/jmap/upload/{{accountId}}"
    assert session["eventSourceUrl"] == (
        f"{root}/jmap/eventsource?types={{types}}&closeafter={{closeafter}}&ping={{ping}}"
    )
    core = session["capabilities"][CORE]
    assert set(core) == {
        "maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest", "maxConcurrentRequests",
        "maxCallsInRequest", "maxObjectsInGet", "maxObjectsInSet", "collationAlgorithms",
    }  # fmt: skip
    assert core["maxSizeUpload"] == 0
    assert session["capabilities"][MAIL] == {}
    assert session["capabilities"][WEBSOCKET] == {
        "url": f"wss://127.0.0.1:{tls_server.port}/jmap/ws",
        "supportsPush": True,
    }
    assert list(session["accounts"]) == [jmap_id]
    assert session["accounts"][jmap_id]["name"] == imap_user.username
    # Identity/get is served, so the submission capability is announced (docs/jmap.md).
    assert session["primaryAccounts"] == {MAIL: jmap_id, SUBMISSION: jmap_id}
    assert session["capabilities"][SUBMISSION] == {}
    assert session["accounts"][jmap_id]["accountCapabilities"][SUBMISSION] == {
        "maxDelayedSend": 0, "submissionExtensions": {},
    }
    assert isinstance(session["state"], str) and session["state"]
    # Added as a worker's connect would: pinned, stored, watching INBOX.
    accounts = tls_server.parts.accounts
    assert accounts.is_pinned(imap_user.username)
    assert accounts.watches(imap_user.username, WORKERS) == ("INBOX",)
    stored = await tls_server.parts.store.get_account(imap_user.username)
    assert stored is not None and stored.watches == ("INBOX",)


async def test_basic_refusals_and_the_challenge(
    tls_server: SwitchboardServer, http: httpx.AsyncClient, imap_user: ImapUser
) -> None:
    for headers in (
        {},
        {"Authorization": basic(imap_user.username, "wrong password")},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer sbt_nothing"},
    ):
        response = await http.get("/.well-known/jmap", headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == CHALLENGE
        assert "wrong password" not in response.text
    assert not tls_server.parts.accounts.exists(imap_user.username)
    # Right after, the right password works; then the wrong one is refused (no fallback to
    # the cache of the right one).
    assert (await http.get("/.well-known/jmap", headers=basic_of(imap_user))).status_code == 200
    wrong = {"Authorization": basic(imap_user.username, "wrong password")}
    assert (await http.get("/.well-known/jmap", headers=wrong)).status_code == 401


async def test_basic_against_the_stored_credentials_needs_no_imap_server(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    # No jmap_imap_server: only accounts connected already can log in with Basic.
    settings = tls_settings(dovecot, jmap_imap_server=None)
    async with (
        new_server(tmp_path / "data", dovecot, **settings) as srv,
        tls_client(srv, dovecot) as http,
    ):
        assert (await http.get("/.well-known/jmap", headers=basic_of(imap_user))).status_code == 401
        url = f"wss://127.0.0.1:{srv.port}/workers"
        async with switchboard.aio.connect(url, ssl=client_tls(dovecot)) as sb:
            await sb.call("connect", plain(dovecot, imap_user.username, imap_user.password))
        # Stored now; a Latin-1 encoded Basic value (what requests sends) decodes too.
        latin1 = basic(imap_user.username, imap_user.password, encoding="latin-1")
        headers = {"Authorization": latin1}
        response = await http.get("/.well-known/jmap", headers=headers)
        assert response.status_code == 200, response.text


async def test_bearer_tokens_reach_their_accounts(
    tls_server: SwitchboardServer, http: httpx.AsyncClient, dovecot: DovecotServer
) -> None:
    alice, bob = dovecot.new_user(), dovecot.new_user()
    for user in (alice, bob):
        assert (await http.get("/.well-known/jmap", headers=basic_of(user))).status_code == 200
    store = tls_server.parts.store
    worker, _ = await create_token(store, TokenScope.WORKER, name="w")
    client, _ = await create_token(store, TokenScope.CLIENT, name="c", account=alice.username)
    loose, _ = await create_token(store, TokenScope.CLIENT, name="l")

    async def accounts_of(token: str) -> list[str]:
        response = await http.get(
            "/.well-known/jmap", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        return sorted(response.json()["accounts"])

    assert await accounts_of(worker) == sorted(account_id(u.username) for u in (alice, bob))
    assert await accounts_of(client) == [account_id(alice.username)]
    assert await accounts_of(loose) == []
    await store.revoke_token("c")
    response = await http.get("/.well-known/jmap", headers={"Authorization": f"Bearer {client}"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == CHALLENGE


# -- the API ---------------------------------------------------------------------------------


async def test_core_echo_result_references_and_session_state(
    http: httpx.AsyncClient, imap_user: ImapUser
) -> None:
    auth = basic_of(imap_user)
    session = (await http.get("/.well-known/jmap", headers=auth)).json()
    body = echo_request(
        ["Core/echo", {"hello": [1, 2, {"x": "ü"}]}, "a"],
        ["Core/echo", {"#again": {"resultOf": "a", "name": "Core/echo", "path": "/hello/2"}},
         "b"],
        ["Mailbox/nothing", {}, "c"],
    )
    response = await http.post("/jmap/api", json=body, headers=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    result = response.json()
    assert result["sessionState"] == session["state"]
    assert result["methodResponses"] == [
        ["Core/echo", {"hello": [1, 2, {"x": "ü"}]}, "a"],
        ["Core/echo", {"again": {"x": "ü"}}, "b"],
        ["error", {"type": "unknownMethod", "description": "unknown method 'Mailbox/nothing'"},
         "c"],
    ]


@pytest.mark.parametrize(
    ("body", "headers", "problem"),
    [
        (b"{not json", JSON, "notJSON"),
        (json.dumps(echo_request()).encode(), {"Content-Type": "text/plain"}, "notJSON"),
        (b'{"using": "urn:ietf:params:jmap:core"}', JSON, "notRequest"),
        (json.dumps(echo_request(using=[CORE, "urn:x:nothing"])).encode(), JSON,
         "unknownCapability"),
        (json.dumps(echo_request(*[["Core/echo", {}, str(i)] for i in range(17)])).encode(),
         JSON, "limit"),
        (b'{"using": [], "methodCalls": [], "x": "' + b"y" * 1_100_000 + b'"}', JSON, "limit"),
    ],
    ids=["badJson", "contentType", "notRequest", "unknownCapability", "calls", "size"],
)
async def test_request_level_errors_are_problem_details(
    http: httpx.AsyncClient, imap_user: ImapUser, body: bytes, headers: dict[str, str],
    problem: str,
) -> None:
    headers = {**headers, **basic_of(imap_user)}
    response = await http.post("/jmap/api", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document = response.json()
    assert document["type"] == f"urn:ietf:params:jmap:error:{problem}"
    assert document["status"] == 400
    if problem == "limit":
        assert document["limit"] in ("maxCallsInRequest", "maxSizeRequest")


async def test_download_upload_and_methods(http: httpx.AsyncClient, imap_user: ImapUser) -> None:
    auth = basic_of(imap_user)
    jmap_id = account_id(imap_user.username)
    response = await http.get(f"/jmap/download/{jmap_id}/bnothing/x.eml?type=message/rfc822",
                              headers=auth)  # fmt: skip
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    response = await http.get("/jmap/download/aother/b1/x?type=a/b", headers=auth)
    assert response.status_code == 404
    response = await http.post(f"/jmap/upload/{jmap_id}", content=b"data", headers=auth)
    assert response.status_code == 413
    assert response.json()["limit"] == "maxSizeUpload"
    response = await http.get("/jmap/api", headers=auth)
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    response = await http.options("/jmap/api", headers=auth)
    assert (response.status_code, response.headers["allow"]) == (204, "POST")
    response = await http.get("/jmap/nowhere", headers=auth)
    assert response.status_code == 404


# -- push ----------------------------------------------------------------------------------


def _event(raw: bytes) -> tuple[str, str | None, dict[str, Any]]:
    fields = dict(line.split(": ", 1) for line in raw.decode("ascii").strip("\n").split("\n"))
    return fields["event"], fields.get("id"), json.loads(fields["data"])


async def test_event_source_sends_the_state_then_a_change_after_an_append(
    tls_server: SwitchboardServer, http: httpx.AsyncClient, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    auth = basic_of(imap_user)
    assert (await http.get("/.well-known/jmap", headers=auth)).status_code == 200
    jmap_id = account_id(imap_user.username)
    stream = await RawHttp.open(tls_server, client_tls(dovecot))
    try:
        await stream.send("GET", "/jmap/eventsource?types=*&closeafter=no&ping=0",
                          {**auth, "Accept": "text/event-stream"})  # fmt: skip
        status, headers, _raw_head = await stream.head()
        assert status == 200
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert "transfer-encoding" not in headers and "content-length" not in headers
        assert "content-encoding" not in headers
        kind, first_id, first = _event(await stream.event())
        assert kind == "state" and first_id is not None
        assert first["@type"] == "StateChange"
        before = first["changed"][jmap_id]
        assert set(before) == {"Mailbox", "Email", "Thread", "EmailDelivery"}
        await asyncio.to_thread(dovecot.append, imap_user, message("pushed"))
        kind, second_id, second = _event(await stream.event())
        assert kind == "state" and second_id != first_id
        after = second["changed"][jmap_id]
        assert after["Email"] != before["Email"] and after["Mailbox"] != before["Mailbox"]
        assert after["EmailDelivery"] != before["EmailDelivery"]
    finally:
        await stream.close()


async def test_event_source_closeafter_state_and_ping(
    tls_server: SwitchboardServer, http: httpx.AsyncClient, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    auth = basic_of(imap_user)
    assert (await http.get("/.well-known/jmap", headers=auth)).status_code == 200
    tls = client_tls(dovecot)
    # closeafter=state: the current state, then the end of the response.
    stream = await RawHttp.open(tls_server, tls)
    await stream.send("GET", "/jmap/eventsource?types=Email&closeafter=state&ping=0", auth)
    assert (await stream.head())[0] == 200
    kind, event_id, first = _event(await stream.event())
    assert kind == "state" and set(next(iter(first["changed"].values()))) == {"Email"}
    assert await stream.at_eof()
    await stream.close()
    # Reconnecting with that id waits for the next change (a long poll), then ends.
    assert event_id is not None
    stream = await RawHttp.open(tls_server, tls)
    await stream.send("GET", "/jmap/eventsource?types=*&closeafter=state&ping=0",
                      {**auth, "Last-Event-ID": event_id})  # fmt: skip
    assert (await stream.head())[0] == 200
    await asyncio.to_thread(dovecot.append, imap_user, message("long poll"))
    kind, next_id, _ = _event(await stream.event())
    assert kind == "state" and next_id != event_id
    assert await stream.at_eof()
    await stream.close()
    # ping: asked for 1 s, clamped to the server's 10 s floor, reported in the event.
    stream = await RawHttp.open(tls_server, tls)
    try:
        await stream.send("GET", "/jmap/eventsource?types=*&closeafter=no&ping=1", auth)
        assert (await stream.head())[0] == 200
        assert _event(await stream.event())[0] == "state"
        kind, ping_id, data = _event(await stream.event(timeout_s=25))
        assert (kind, ping_id, data) == ("ping", None, {"interval": 10})
    finally:
        await stream.close()


async def test_event_source_query_errors(http: httpx.AsyncClient, imap_user: ImapUser) -> None:
    response = await http.get("/jmap/eventsource?types=*&closeafter=maybe&ping=0",
                              headers=basic_of(imap_user))  # fmt: skip
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_jmap_over_websocket_answers_and_pushes(
    tls_server: SwitchboardServer, http: httpx.AsyncClient, dovecot: DovecotServer,
    imap_user: ImapUser,
) -> None:
    auth = basic_of(imap_user)
    session = (await http.get("/.well-known/jmap", headers=auth)).json()
    url = session["capabilities"][WEBSOCKET]["url"]
    jmap_id = account_id(imap_user.username)
    async with connect(url, ssl=client_tls(dovecot), subprotocols=["jmap"],  # type: ignore[list-item]
                       additional_headers=auth, open_timeout=15) as ws:  # fmt: skip
        assert ws.subprotocol == "jmap"
        request = {"@type": "Request", "id": "r1", **echo_request(["Core/echo", {"a": 1}, "c1"])}
        await ws.send(json.dumps(request))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 15))
        assert reply == {
            "@type": "Response",
            "requestId": "r1",
            "methodResponses": [["Core/echo", {"a": 1}, "c1"]],
            "sessionState": session["state"],
        }
        await ws.send("not json")
        error = json.loads(await asyncio.wait_for(ws.recv(), 15))
        assert error["@type"] == "RequestError"
        assert error["type"] == "urn:ietf:params:jmap:error:notJSON"
        await ws.send(json.dumps({"@type": "WebSocketPushEnable", "dataTypes": None}))
        await asyncio.to_thread(dovecot.append, imap_user, message("ws push"))
        push = json.loads(await asyncio.wait_for(ws.recv(), 15))
        assert push["@type"] == "StateChange"
        assert set(push["changed"][jmap_id]) == {"Mailbox", "Email", "Thread", "EmailDelivery"}
        assert isinstance(push["pushState"], str)


async def test_the_jmap_websocket_needs_its_subprotocol_and_credentials(
    tls_server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    url = f"wss://127.0.0.1:{tls_server.port}/jmap/ws"
    tls = client_tls(dovecot)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, ssl=tls, subprotocols=["jmap"],  # type: ignore[list-item]
                           open_timeout=15):  # fmt: skip
            pass
    assert refused.value.response.status_code == 401
    assert refused.value.response.headers["WWW-Authenticate"] == CHALLENGE
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, ssl=tls, additional_headers=basic_of(imap_user), open_timeout=15):
            pass
    assert refused.value.response.status_code == 400
