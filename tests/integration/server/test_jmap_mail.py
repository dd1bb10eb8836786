"""The JMAP mail read methods end to end: the TLS listener, Basic auth, a real Dovecot.

Mailbox/get and /query, Email/query and /get (with result references, also over RFC 8887),
Thread/get, Identity/get, and the error each bad call gets. Downloads: test_jmap_blobs.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect

from switchboard.jmap.capabilities import CORE, MAIL, SUBMISSION, CoreCapability
from switchboard.jmap.ids import account_id, mailbox_id
from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.jmap_http import basic_of, client_tls
from tests.support.jmap_mail import MULTIPART, PDF, USING, append
from tests.support.jmap_mail import JmapApi as Api
from tests.support.switchboard import message

pytestmark = pytest.mark.dovecot

# -- Mailbox ------------------------------------------------------------------------------------


async def test_mailbox_get_gives_roles_counts_and_rights(
    api: Api, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Sent")
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Projects")
    await asyncio.to_thread(append, dovecot, imap_user, message("one"))
    await asyncio.to_thread(append, dovecot, imap_user, message("two"), "INBOX", "\\Seen")
    result = await api.ok("Mailbox/get", ids=None)
    assert result["accountId"] == api.account
    assert isinstance(result["state"], str) and result["notFound"] == []
    by_name = {m["name"]: m for m in result["list"]}
    assert set(by_name) == {"INBOX", "Sent", "Projects"}
    inbox = by_name["INBOX"]
    assert inbox["role"] == "inbox"
    assert (inbox["totalEmails"], inbox["unreadEmails"]) == (2, 1)
    assert (inbox["totalThreads"], inbox["unreadThreads"]) == (2, 1)
    assert inbox["parentId"] is None and inbox["isSubscribed"] is True
    assert inbox["myRights"]["mayReadItems"] is True and inbox["myRights"]["mayDelete"] is False
    assert by_name["Sent"]["role"] == "sent"
    assert by_name["Projects"]["role"] is None
    assert by_name["Projects"]["totalEmails"] == 0

    some = await api.ok("Mailbox/get", ids=[inbox["id"], "mnope"], properties=["name"])
    assert some["list"] == [{"id": inbox["id"], "name": "INBOX"}]
    assert some["notFound"] == ["mnope"]
    only_ids = await api.ok("Mailbox/get", ids=[inbox["id"]], properties=[])
    assert only_ids["list"] == [{"id": inbox["id"]}]  # "id" is always returned


async def test_mailbox_query_filters_and_sorts(
    api: Api, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    for name in ("Sent", "Zebra", "Alpha"):
        await asyncio.to_thread(dovecot.create_mailbox, imap_user, name)
    ids = {name: await api.mailbox_id(name) for name in ("INBOX", "Sent", "Zebra", "Alpha")}
    result = await api.ok(
        "Mailbox/query", sort=[{"property": "name", "isAscending": True}], calculateTotal=True
    )
    assert result["ids"] == [ids["Alpha"], ids["INBOX"], ids["Sent"], ids["Zebra"]]
    assert result["total"] == 4 and result["position"] == 0
    assert result["canCalculateChanges"] is False and isinstance(result["queryState"], str)
    roles = await api.ok("Mailbox/query", filter={"hasAnyRole": True},
                         sort=[{"property": "name"}])  # fmt: skip
    assert roles["ids"] == [ids["INBOX"], ids["Sent"]]
    named = await api.ok("Mailbox/query", filter={"name": "EBR"})
    assert named["ids"] == [ids["Zebra"]]
    assert await api.error("Mailbox/query", filter={"color": "red"}) == "unsupportedFilter"
    assert await api.error("Mailbox/query", sort=[{"property": "color"}]) == "unsupportedSort"


async def test_a_child_mailbox_names_its_parent(
    api: Api, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    # The fixture's maildir layout has "." as its hierarchy delimiter.
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Projects")
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Projects.Büro")
    listed = (await api.ok("Mailbox/get", ids=None))["list"]
    by_name = {m["name"]: m for m in listed}
    assert by_name["Büro"]["parentId"] == by_name["Projects"]["id"]
    assert by_name["Projects"]["parentId"] is None
    children = await api.ok("Mailbox/query", filter={"parentId": by_name["Projects"]["id"]})
    assert children["ids"] == [by_name["Büro"]["id"]]
    tree = await api.ok("Mailbox/query", sortAsTree=True,
                        sort=[{"property": "name", "isAscending": False}])  # fmt: skip
    names = {m["id"]: m["name"] for m in listed}
    assert [names[i] for i in tree["ids"]] == ["Projects", "Büro", "INBOX"]


# -- Email/query and Email/get ------------------------------------------------------------------


async def test_email_query_and_get_with_result_references(
    api: Api, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    first = message("first", body="Hello there\r\n")
    await asyncio.to_thread(append, dovecot, imap_user, first, "INBOX", "\\Flagged $Work")
    await asyncio.to_thread(append, dovecot, imap_user, MULTIPART)
    inbox = await api.mailbox_id("inbox")
    responses = await api.request(
        ["Email/query", {"accountId": api.account, "filter": {"inMailbox": inbox},
                         "sort": [{"property": "receivedAt", "isAscending": True}],
                         "calculateTotal": True}, "q"],
        ["Email/get", {"accountId": api.account,
                       "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                       "fetchTextBodyValues": True}, "g"],
        ["Thread/get", {"accountId": api.account,
                        "#ids": {"resultOf": "g", "name": "Email/get",
                                 "path": "/list/*/threadId"}}, "t"],
    )  # fmt: skip
    (query_name, query, _), (get_name, got, _), (thread_name, threads, _) = responses
    assert (query_name, get_name, thread_name) == ("Email/query", "Email/get", "Thread/get")
    assert query["total"] == 2 and len(query["ids"]) == 2
    assert got["notFound"] == [] and [e["id"] for e in got["list"]] == query["ids"]
    plain, report = got["list"]

    assert plain["subject"] == "first"
    assert plain["from"] == [{"name": "Alice Example", "email": "alice@example.com"}]
    assert plain["to"] == [{"name": None, "email": "bob@example.com"}]
    assert plain["keywords"] == {"$flagged": True, "$work": True}
    assert plain["mailboxIds"] == {inbox: True}
    assert plain["size"] == len(first)
    assert plain["sentAt"] == "2014-06-03T10:00:00-07:00"
    assert plain["receivedAt"].endswith("Z")
    assert plain["preview"] == "Hello there"
    assert plain["hasAttachment"] is False
    [text_part] = plain["textBody"]
    assert plain["bodyValues"][text_part["partId"]] == {
        "value": "Hello there\n", "isEncodingProblem": False, "isTruncated": False,
    }  # fmt: skip

    assert report["subject"] == "Café report"
    assert report["from"] == [{"name": "André", "email": "andre@example.com"}]
    assert [a["email"] for a in report["to"]] == ["bob@example.com", "carol@example.com"]
    assert report["cc"] == [{"name": None, "email": "dave@example.com"}]
    assert report["messageId"] == ["report-1@example.com"]
    assert report["inReplyTo"] == ["earlier@example.com"]
    assert report["references"] == ["first@example.com", "earlier@example.com"]
    assert report["keywords"] == {}
    assert report["hasAttachment"] is True
    assert report["preview"] == "Café numbers are up. Details follow in the attachment."
    assert [p["type"] for p in report["textBody"]] == ["text/plain"]
    assert [p["type"] for p in report["htmlBody"]] == ["text/html"]
    [attachment] = report["attachments"]
    assert attachment["name"] == "report.pdf" and attachment["type"] == "application/pdf"
    assert attachment["disposition"] == "attachment"
    text_id = report["textBody"][0]["partId"]
    assert report["bodyValues"] == {
        text_id: {"value": "Café numbers are up.   Details follow in the attachment.",
                  "isEncodingProblem": False, "isTruncated": False},
    }  # fmt: skip

    assert threads["notFound"] == []
    assert [t["emailIds"] for t in threads["list"]] == [[plain["id"]], [report["id"]]]


async def test_email_get_properties_body_values_and_headers(
    api: Api, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    await asyncio.to_thread(append, dovecot, imap_user, MULTIPART)
    [email_id] = (await api.ok("Email/query"))["ids"]
    # Non-ASCII header text is matched by the reader against the decoded fields.
    found = await api.ok("Email/query", filter={"subject": "CAFÉ", "from": "andré"})
    assert found["ids"] == [email_id]
    assert (await api.ok("Email/query", filter={"subject": "thé"}))["ids"] == []
    got = await api.ok(
        "Email/get", ids=[email_id, "enope"],
        properties=["subject", "bodyStructure", "bodyValues", "header:X-Tag:all",
                    "header:Subject:asText", "header:Subject", "header:From:asAddresses",
                    "header:Date:asDate", "headers"],
        bodyProperties=["partId", "type", "size", "name"],
        fetchAllBodyValues=True, maxBodyValueBytes=10,
    )  # fmt: skip
    assert got["notFound"] == ["enope"]
    [email] = got["list"]
    assert set(email) == {
        "id", "subject", "bodyStructure", "bodyValues", "header:X-Tag:all",
        "header:Subject:asText", "header:Subject", "header:From:asAddresses",
        "header:Date:asDate", "headers",
    }  # fmt: skip
    assert email["header:X-Tag:all"] == [" one", " two"]
    assert email["header:Subject:asText"] == "Café report"
    assert email["header:Subject"] == " =?utf-8?q?Caf=C3=A9?= report"
    assert email["header:From:asAddresses"] == [{"name": "André", "email": "andre@example.com"}]
    assert email["header:Date:asDate"] == "2014-06-04T10:00:00+02:00"
    assert {"name": "Message-ID", "value": " <report-1@example.com>"} in email["headers"]
    structure = email["bodyStructure"]
    assert structure["type"] == "multipart/mixed" and structure["partId"] is None
    alternative, pdf = structure["subParts"]
    assert [p["type"] for p in alternative["subParts"]] == ["text/plain", "text/html"]
    # A base64 part's size is estimated from its encoded size: padding is not seen.
    assert len(PDF) <= pdf.pop("size") <= len(PDF) + 2
    assert pdf == {"partId": "2", "type": "application/pdf", "name": "report.pdf"}
    values = email["bodyValues"]
    assert set(values) == {"1.1", "1.2"}
    assert values["1.1"] == {"value": "Café numb", "isEncodingProblem": False,
                             "isTruncated": True}  # fmt: skip
    assert values["1.2"]["isTruncated"] is True
    assert len(values["1.2"]["value"].encode()) <= 10

    answered, error = await api.call("Email/get", ids=[email_id], properties=["nope"])
    assert (answered, error["type"]) == ("error", "invalidArguments")
    too_many = [email_id] * 501
    assert await api.error("Email/get", ids=too_many) == "requestTooLarge"


async def test_email_query_filters_sorts_and_windows(
    api: Api, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    raws = [
        message("Alpha budget", from_="Zed <zed@example.com>",
                date="Mon, 02 Jun 2014 10:00:00 +0000"),
        message("beta plans", from_="Amy <amy@example.com>", body="the secret word\r\n",
                date="Wed, 04 Jun 2014 10:00:00 +0000"),
        message("Gamma budget", from_="Bob <bob@example.com>",
                date="Tue, 03 Jun 2014 10:00:00 +0000"),
    ]  # fmt: skip
    await asyncio.to_thread(dovecot.append_many, imap_user, raws)
    await asyncio.to_thread(dovecot.create_mailbox, imap_user, "Other")
    await asyncio.to_thread(append, dovecot, imap_user, message("elsewhere budget"), "Other")
    inbox = await api.mailbox_id("inbox")
    in_inbox = {"inMailbox": inbox}

    async def subjects(**arguments: Any) -> list[str]:
        ids = (await api.ok("Email/query", **arguments))["ids"]
        got = await api.ok("Email/get", ids=ids, properties=["subject"])
        return [e["subject"] for e in got["list"]]

    by_arrival = [{"property": "receivedAt", "isAscending": True}]
    assert await subjects(filter=in_inbox, sort=by_arrival) == [
        "Alpha budget", "beta plans", "Gamma budget"]  # fmt: skip
    assert await subjects(filter={**in_inbox, "subject": "budget"}, sort=by_arrival) == [
        "Alpha budget", "Gamma budget"]  # fmt: skip
    assert await subjects(filter={"subject": "budget"}, sort=[{"property": "subject"}]) == [
        "Alpha budget", "elsewhere budget", "Gamma budget"]  # fmt: skip
    assert await subjects(filter={"from": "amy"}) == ["beta plans"]
    assert await subjects(filter={"text": "secret"}) == ["beta plans"]
    assert await subjects(filter={"body": "secret"}) == ["beta plans"]
    assert await subjects(
        filter={"operator": "OR", "conditions": [{"from": "zed"}, {"from": "bob"}]},
        sort=[{"property": "from"}],
    ) == ["Gamma budget", "Alpha budget"]
    assert await subjects(filter={**in_inbox, "subject": "budget"},
                          sort=[{"property": "sentAt", "isAscending": False}]) == [
        "Gamma budget", "Alpha budget"]  # fmt: skip
    other = await api.mailbox_id("Other")
    assert await subjects(filter={"inMailboxOtherThan": [inbox]}) == ["elsewhere budget"]
    assert await subjects(filter={"inMailbox": other, "subject": "nothing"}) == []
    # A mailbox that does not exist, or not with that UIDVALIDITY, holds nothing.
    assert await subjects(filter={"inMailbox": mailbox_id("Nope", 1)}) == []
    assert await subjects(filter={"inMailbox": mailbox_id("INBOX", 1)}) == []
    assert await subjects(filter={"inMailbox": "mnot-an-id"}) == []
    # receivedAt: every message arrived just now
    assert await subjects(filter={**in_inbox, "before": "2000-01-01T00:00:00Z"}) == []
    after = await subjects(filter={**in_inbox, "after": "2000-01-01T00:00:00.5Z"})
    assert len(after) == 3

    everything = await api.ok("Email/query", filter=in_inbox, sort=by_arrival,
                              calculateTotal=True)  # fmt: skip
    ids = everything["ids"]
    assert everything["total"] == 3
    window = await api.ok("Email/query", filter=in_inbox, sort=by_arrival, position=1, limit=1)
    assert (window["ids"], window["position"]) == ([ids[1]], 1)
    last = await api.ok("Email/query", filter=in_inbox, sort=by_arrival, position=-1)
    assert (last["ids"], last["position"]) == ([ids[2]], 2)
    anchored = await api.ok("Email/query", filter=in_inbox, sort=by_arrival, anchor=ids[2],
                            anchorOffset=-1)  # fmt: skip
    assert (anchored["ids"], anchored["position"]) == (ids[1:], 1)
    assert "total" not in anchored
    assert await api.error("Email/query", filter=in_inbox, anchor="enope") == "anchorNotFound"
    assert await api.error("Email/query", filter={"hasAttachment": True}) == "unsupportedFilter"
    assert await api.error("Email/query", filter={"body": "caf\u00e9"}) == "unsupportedFilter"
    assert await api.error("Email/query", sort=[{"property": "keyword"}]) == "unsupportedSort"
    assert await api.error("Email/query", limit=-1) == "invalidArguments"


# -- Identity, errors --------------------------------------------------------------------------


async def test_identity_get_gives_the_account_address(api: Api, imap_user: ImapUser) -> None:
    [[name, result, _]] = await api.request(
        ["Identity/get", {"accountId": api.account}, "i"], using=[CORE, MAIL, SUBMISSION]
    )
    assert name == "Identity/get"
    [identity] = result["list"]
    expected = imap_user.username if "@" in imap_user.username else ""
    assert identity["email"] == expected and identity["mayDelete"] is False
    [[name, result, _]] = await api.request(
        ["Identity/get", {"accountId": api.account}, "i"], using=[CORE, MAIL]
    )
    assert (name, result["type"]) == ("error", "unknownMethod")


async def test_calls_for_another_account_or_unknown_methods_get_the_standard_errors(
    api: Api,
) -> None:
    assert await api.error("Mailbox/get", accountId=account_id("someone@else")) == (
        "accountNotFound"
    )
    assert await api.error("Email/query", accountId="") == "invalidArguments"
    assert await api.error("Mailbox/frobnicate") == "unknownMethod"
    [[name, result, _]] = await api.request(
        ["Mailbox/get", {"accountId": api.account}, "m"], using=[CORE]
    )
    assert (name, result["type"]) == ("error", "unknownMethod")


async def test_ids_null_over_max_objects_in_get_is_request_too_large(
    api: Api, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    limit = CoreCapability().max_objects_in_get  # what the server announces
    raws = [message(f"n{i}", body="x\r\n") for i in range(limit + 1)]
    await asyncio.to_thread(dovecot.append_many, imap_user, raws)
    assert await api.error("Email/get", ids=None, properties=["id"]) == "requestTooLarge"
    assert await api.error("Thread/get", ids=None) == "requestTooLarge"
    total = await api.ok("Email/query", calculateTotal=True, limit=0)
    assert (total["total"], total["ids"]) == (limit + 1, [])


async def test_the_mail_methods_over_the_jmap_websocket(
    tls_server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    await asyncio.to_thread(append, dovecot, imap_user, message("over rfc 8887"))
    url = f"wss://127.0.0.1:{tls_server.port}/jmap/ws"
    jmap_id = account_id(imap_user.username)
    async with connect(url, ssl=client_tls(dovecot), subprotocols=["jmap"],  # type: ignore[list-item]
                       additional_headers=basic_of(imap_user), open_timeout=15) as ws:  # fmt: skip
        await ws.send(json.dumps({"@type": "Request", "id": "r", "using": USING, "methodCalls": [
            ["Email/query", {"accountId": jmap_id}, "q"],
            ["Email/get", {"accountId": jmap_id, "properties": ["subject"],
                           "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"}},
             "g"],
        ]}))  # fmt: skip
        reply = json.loads(await asyncio.wait_for(ws.recv(), 15))
    assert reply["@type"] == "Response" and reply["requestId"] == "r"
    [_, (name, got, _)] = reply["methodResponses"]
    assert name == "Email/get" and [e["subject"] for e in got["list"]] == ["over rfc 8887"]
