"""The original server's example conversations end to end: real server, Dovecot and WebSockets.

The frames are those the 2014 server exchanged with its clients; docs/protocol.md describes them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from switchboard.server.app import SwitchboardServer
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import message, plain

pytestmark = pytest.mark.dovecot


def seed(dovecot: DovecotServer, user: ImapUser) -> tuple[int, int]:
    """The fixture: INBOX with 3 messages, `[Gmail].Sent Mail` with one, empty `Work`.

    (Dovecot's hierarchy delimiter is ".", where the original's Gmail fixture had "/".)
    """
    dovecot.append_many(
        user,
        [
            message("Hello one", "First body\r\n"),
            message(
                "Second",
                from_="carol@example.com",
                to="Bob <bob@example.com>, dave@example.com",
                cc="eve@example.com",
            ),
            message("Third"),
        ],
    )
    dovecot.create_mailbox(user, "Work")
    dovecot.create_mailbox(user, "[Gmail].Sent Mail")
    dovecot.append(user, message("Sent one"), mailbox="[Gmail].Sent Mail")
    return dovecot.uidvalidity(user), dovecot.uidvalidity(user, "[Gmail].Sent Mail")


async def test_client_before_and_after_connect(
    open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    peer = await open_peer("/clients")
    # 1. before connect
    assert await peer.call([["getMailboxes", {}, "pre"]]) == [
        [
            "error",
            {
                "type": "notConnected",
                "method": "getMailboxes",
                "arguments": {},
                "description": "send connect first",
            },
            "pre",
        ]
    ]
    cs = plain(dovecot, imap_user.username, imap_user.password)
    # 2. connect, 3. connect twice: the password is masked in the echo
    assert await peer.call([["connect", cs, 1]]) == [["connected", {}, 1]]
    reply = await peer.call([["connect", cs, 2]])
    assert reply[0][0] == "error"
    assert reply[0][1]["type"] == "alreadyConnected"
    assert reply[0][1]["arguments"]["auth"]["password"] == "***"
    assert imap_user.password not in str(reply)
    assert reply[0][2] == 2


async def test_connect_and_watch_in_one_frame_then_mail(
    open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    dovecot.append(imap_user, message("old"))  # existing mail is never announced
    peer = await open_peer("/clients")
    cs = plain(dovecot, imap_user.username, imap_user.password)
    # 4 and 13: unknown names come back in `failed`
    reply = await peer.call(
        [["connect", cs, 1], ["watchMailboxes", {"list": ["INBOX", "Nope"]}, 2]]
    )
    assert reply == [
        ["connected", {}, 1],
        ["watchingMailboxes", {"list": ["INBOX"], "failed": ["Nope"]}, 2],
    ]
    uidvalidity = dovecot.uidvalidity(imap_user)
    uid = await asyncio.to_thread(dovecot.append, imap_user, message("new one"))
    push = await peer.push()
    assert push["mailboxId"] == f"INBOX!{uidvalidity}"
    assert push["messageId"] == f"INBOX!{uidvalidity}?{uid}"
    assert "account" not in push  # /clients pushes carry no account (docs/protocol.md, "Pushes")
    # two deliveries together give two frames, in UID order
    uids = await asyncio.to_thread(
        dovecot.append_many, imap_user, [message("five"), message("six")]
    )
    pushed = [(await peer.push())["messageId"] for _ in uids]
    assert pushed == [f"INBOX!{uidvalidity}?{u}" for u in uids]


async def test_mailboxes_lists_and_states(
    open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    inbox_v, sent_v = seed(dovecot, imap_user)
    work_v = dovecot.uidvalidity(imap_user, "Work")
    peer = await open_peer("/clients")
    await peer.call([["connect", plain(dovecot, imap_user.username, imap_user.password), 1]])
    # 5. \Noselect parents are omitted; names in descending order
    [[name, args, tag]] = await peer.call([["getMailboxes", {}, 3]])
    assert (name, tag) == ("mailboxes", 3)
    assert isinstance(args["state"], int)
    assert [(m["name"], m["id"]) for m in args["list"]] == [
        ("[Gmail].Sent Mail", f"[Gmail].Sent Mail!{sent_v}"),
        ("Work", f"Work!{work_v}"),
        ("INBOX", f"INBOX!{inbox_v}"),
    ]
    state = args["state"]
    reply = await peer.call([["getMailboxes", {"state": state}, 4], ["getMailboxes", [], "arr"]])
    assert reply[0] == ["mailboxes", {"state": state}, 4]
    assert reply[1][1]["list"] == args["list"] and reply[1][2] == "arr"
    # 6. message lists, an empty mailbox, an untagged command and an unknown method
    reply = await peer.call(
        [
            ["getMessageList", {"mailboxId": f"INBOX!{inbox_v}"}, 5],
            ["getMessageList", {"mailboxId": f"Work!{work_v}"}],
            ["nope", {}, 7],
        ]
    )
    assert reply[0] == [
        "messageList",
        {"messageIds": [f"INBOX!{inbox_v}?{u}" for u in (1, 2, 3)]},
        5,
    ]
    assert reply[1] == ["messageList", {"messageIds": []}]
    assert reply[2][0] == "error" and reply[2][1]["type"] == "unknownMethod" and reply[2][2] == 7
    # 7. tags of every JSON type; stale and malformed mailboxIds
    reply = await peer.call(
        [
            ["getMessageList", {"mailboxId": f"INBOX!{inbox_v + 1}"}, {"o": 1}],
            ["getMessageList", {"mailboxId": "INBOX"}, None],
            ["getMessageList", {"mailboxId": "INBOX!abc"}, [1, 2]],
        ]
    )
    assert [r[1]["type"] for r in reply] == ["mailboxDoesNotExist"] * 3
    assert [r[2] for r in reply] == [{"o": 1}, None, [1, 2]]
    # 8. the empty batch
    assert await peer.call([]) == []
    # a mailbox that was deleted: mailboxDoesNotExist, not a crash
    dovecot.delete_mailbox(imap_user, "Work")
    [reply] = await peer.call([["getMessageList", {"mailboxId": f"Work!{work_v}"}, 9]])
    assert reply[1]["type"] == "mailboxDoesNotExist"


async def test_get_messages(open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser) -> None:
    inbox_v, sent_v = seed(dovecot, imap_user)
    inbox = f"INBOX!{inbox_v}"
    peer = await open_peer("/clients")
    await peer.call([["connect", plain(dovecot, imap_user.username, imap_user.password), 1]])
    props = ["messageId", "from", "to", "cc", "bcc", "replyTo", "subject", "date", "size"]
    [[name, args, tag]] = await peer.call(
        [
            [
                "getMessages",
                {"ids": [f"{inbox}?1", f"{inbox}?2"], "properties": [*props, "textBody"]},
                6,
            ]
        ]
    )
    assert (name, tag, args["state"]) == ("messages", 6, "TODO")
    first, second = args["list"]
    assert list(first)[: len(props) + 1] == [*props, "textBody"]  # request order
    assert first["messageId"] == f"{inbox}?1"
    assert first["from"] == [{"name": "Alice Example", "email": "alice@example.com"}]
    assert first["to"] == [{"name": "", "email": "bob@example.com"}]
    assert first["cc"] is None and first["bcc"] is None
    assert first["replyTo"] == [{"name": "Alice Example", "email": "alice@example.com"}]
    assert first["subject"] == "Hello one"
    assert first["date"] == "Tue, 03 Jun 2014 10:00:00 -0700"
    assert isinstance(first["size"], int) and first["size"] > 100
    assert first["textBody"] == "First body\r\n"
    assert second["to"] == [
        {"name": "Bob", "email": "bob@example.com"},
        {"name": "", "email": "dave@example.com"},
    ]
    assert second["cc"] == [{"name": "", "email": "eve@example.com"}]
    # 10. raw, and a missing UID listed under notFound
    [[_, args, _]] = await peer.call(
        [["getMessages", {"ids": [f"{inbox}?1", f"{inbox}?99"], "properties": ["raw"]}, 3]]
    )
    assert len(args["list"]) == 1
    assert args["list"][0]["raw"].startswith('From: "Alice Example" <alice@example.com>\r\n')
    assert args["list"][0]["raw"].endswith("\r\n\r\nFirst body\r\n")
    assert args["notFound"] == [f"{inbox}?99"]
    # 11. two mailboxes, request order, mailboxId before messageId
    sent = f"[Gmail].Sent Mail!{sent_v}"
    [[_, args, _]] = await peer.call(
        [
            [
                "getMessages",
                {
                    "ids": [f"{inbox}?3", f"{sent}?1"],
                    "properties": ["mailboxId", "messageId", "subject"],
                },
                4,
            ]
        ]
    )
    assert args["list"] == [
        {"mailboxId": inbox, "messageId": f"{inbox}?3", "subject": "Third", **_companions(args, 0)},
        {
            "mailboxId": sent,
            "messageId": f"{sent}?1",
            "subject": "Sent one",
            **_companions(args, 1),
        },
    ]
    # 20. failures are error responses; the connection stays open
    reply = await peer.call(
        [
            ["getMessageList", {}, 1],
            ["getMessageList", {"mailboxId": "NoSuchBox!1"}, 2],
            ["getMessages", {"properties": ["subject"]}, 3],
            ["getMessages", {"ids": [f"INBOX!{inbox_v + 1}?1"], "properties": ["subject"]}, 4],
            ["getMessages", {"ids": [f"{inbox}?1"], "properties": ["labels"]}, 5],
            ["getMessages", {"ids": [f"{inbox}?1"], "properties": ["isFlagged", "unread"]}, 6],
        ]
    )
    assert [r[1]["type"] if r[0] == "error" else r[0] for r in reply] == [
        "invalidArguments",
        "mailboxDoesNotExist",
        "invalidArguments",
        "mailboxDoesNotExist",
        "unknownProperty",
        "messages",
    ]
    assert reply[5][1]["list"] == [{"isFlagged": False, "unread": True}]


def _companions(args: dict[str, Any], index: int) -> dict[str, Any]:
    """Extra keys the server adds next to requested ones (decoded companions), taken as is."""
    item = args["list"][index]
    return {k: v for k, v in item.items() if k not in ("mailboxId", "messageId", "subject")}


async def test_argument_errors(open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser) -> None:
    peer = await open_peer("/clients")
    await peer.call([["connect", plain(dovecot, imap_user.username, imap_user.password), 0]])
    # 12.
    reply = await peer.call(
        [
            ["watchMailboxes", {}, 1],
            ["watchMailboxes", {"list": []}, 2],
            ["watchMailboxes", {"list": "INBOX"}, 3],
        ]
    )
    assert [(r[1]["type"], r[1]["arguments"], r[2]) for r in reply] == [
        ("noList", {}, 1),
        ("emptyList", {"list": []}, 2),
        ("badList", {"list": "INBOX"}, 3),
    ]
    # 19. malformed frames get error responses and the socket stays open
    [[name, args]] = await peer.call("this is not json")
    assert (name, args["type"]) == ("error", "invalidJson")
    reply = await peer.call([["getMailboxes"], ["watchAll", {}, "ok"]])
    assert reply[0][1]["type"] == "invalidCommand" and len(reply[0]) == 2
    assert reply[1][1]["type"] == "unknownMethod"  # watchAll does not exist on /clients
    await peer.ws.send(b"\x00binary frames are ignored")
    assert await peer.call([["getMailboxes", {}, "still-open"]]) != []


async def test_invalid_json_reply_shape(open_peer: Any) -> None:
    peer = await open_peer("/clients")
    [[name, args]] = await peer.call("this is not json")
    assert name == "error"
    assert (args["type"], args["method"], args["arguments"]) == ("invalidJson", None, None)
    [[name, args]] = await peer.call('{"not": "a list"}')
    assert args["type"] == "invalidJson"


async def test_worker_interface(
    open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    peer = await open_peer("/workers")
    # 15.
    reply = await peer.call([["watchAll", {}, 1], ["watchAll", {"x": 1}, 2], ["watchAll", [], 3]])
    assert reply[0] == ["watchingAll", {}, 1]
    assert [(r[1]["type"], r[1]["arguments"]) for r in reply[1:]] == [
        ("badArgs", {"x": 1}),
        ("badArgs", []),
    ]
    # 16. account checks, repeated connect, pass-through; arguments echoed as sent
    reply = await peer.call(
        [["getMailboxes", {}, 4], ["getMailboxes", {"account": "nobody@example.com"}, 5]]
    )
    assert [r[1]["type"] for r in reply] == ["noAccount", "inactiveAccount"]
    assert reply[1][1]["arguments"] == {"account": "nobody@example.com"}
    cs = plain(dovecot, imap_user.username, imap_user.password)
    account = imap_user.username
    reply = await peer.call(
        [
            ["connect", cs, 6],
            ["connect", cs, 7],
            ["getMailboxes", {"account": account}, 8],
            ["frob", {"account": account, "x": 1}, 9],
        ]
    )
    assert reply[0] == ["connected", {}, 6] and reply[1] == ["connected", {}, 7]
    assert reply[2][0] == "mailboxes" and reply[2][1]["list"][0]["name"] == "INBOX"
    assert reply[3][1]["type"] == "unknownMethod"
    assert reply[3][1]["arguments"] == {"account": account, "x": 1}
    # 17. the Fetcher flow's frames; pushes on /workers carry the account
    reply = await peer.call(
        [["watchMailboxes", {"account": account, "list": ["INBOX"]}, 1], ["watchAll", {}, 2]]
    )
    assert reply == [["watchingMailboxes", {"list": ["INBOX"]}, 1], ["watchingAll", {}, 2]]
    uid = await asyncio.to_thread(dovecot.append, imap_user, message("for the worker"))
    push = await peer.push()
    uidvalidity = dovecot.uidvalidity(imap_user)
    assert push["messageId"] == f"INBOX!{uidvalidity}?{uid}"
    assert push["account"] == account
    assert isinstance(push["eventId"], int)
    [[name, args, tag]] = await peer.call(
        [
            [
                "getMessages",
                {"account": account, "ids": [push["messageId"]], "properties": ["raw"]},
                3,
            ]
        ]
    )
    assert (name, tag) == ("messages", 3)
    assert "Subject: for the worker" in args["list"][0]["raw"]


async def test_wrong_password(open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser) -> None:
    # 18. a new account with a wrong password: an error, and nothing left behind
    peer = await open_peer("/clients")
    wrong = plain(dovecot, imap_user.username, "WRONG")
    reply = await peer.call(
        [["connect", wrong, 1], ["getMessageList", {"mailboxId": "INBOX!1"}, 2]]
    )
    assert reply[0][1]["type"] == "authenticationFailed"
    assert reply[0][1]["arguments"]["auth"]["password"] == "***"
    assert reply[1][1]["type"] == "notConnected"
    # an existing account: a wrong password does not give access to it
    owner = await open_peer("/clients")
    good = plain(dovecot, imap_user.username, imap_user.password)
    assert await owner.call([["connect", good, 1]]) == [["connected", {}, 1]]
    intruder = await open_peer("/clients")
    reply = await intruder.call([["connect", wrong, 2], ["getMailboxes", {}, 3]])
    assert [r[1]["type"] for r in reply] == ["authenticationFailed", "notConnected"]
    # another host/port for the same username is a conflict
    other = dict(good, port=dovecot.port)
    reply = await intruder.call([["connect", other, 4]])
    assert reply[0][1]["type"] == "accountConflict"


async def test_xoauth2_access_token(
    open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    # 14.
    access, _refresh = dovecot.oauth2.issue(imap_user.username)
    peer = await open_peer("/clients")
    cs = {
        "host": dovecot.host,
        "port": dovecot.tls_port,
        "auth": {
            "type": "xoauth2",
            "username": imap_user.username,
            "token": {"type": "access", "token": access},
        },
    }
    assert await peer.call([["connect", cs, 1]]) == [["connected", {}, 1]]
    bad = {**cs, "auth": {**cs["auth"], "token": {"type": "access", "token": "nope"}}}
    other = await open_peer("/clients")
    [reply] = await other.call([["connect", bad, 2]])
    assert reply[1]["type"] == "authenticationFailed"
    assert reply[1]["arguments"]["auth"]["token"]["token"] == "***"


async def test_unreachable_imap_server(open_peer: Any, server: SwitchboardServer) -> None:
    peer = await open_peer("/clients")
    cs = {
        "host": "127.0.0.1",
        "port": 1,  # nothing listens there
        "auth": {"type": "plain", "username": "u", "password": "p"},
    }
    [reply] = await peer.call([["connect", cs, 1]])
    assert reply[1]["type"] == "connectionFailed"


async def test_get_messages_of_many_in_any_order(
    open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    # Enough messages for the reader to pipeline its UID FETCH in several chunks; the reply
    # keeps the request's order, repeats a repeated id, and names a missing one once.
    bodies = [message(f"m{n}", body=f"body {n}\r\n" * (n % 5 + 1)) for n in range(150)]
    uids = await asyncio.to_thread(dovecot.append_many, imap_user, bodies)
    inbox = f"INBOX!{await asyncio.to_thread(dovecot.uidvalidity, imap_user)}"
    peer = await open_peer("/clients")
    await peer.call([["connect", plain(dovecot, imap_user.username, imap_user.password), 1]])
    wanted = [*reversed(uids[::2]), uids[3], 999_999, uids[3], 999_999]
    [[name, args, _]] = await peer.call(
        [["getMessages", {"ids": [f"{inbox}?{uid}" for uid in wanted], "properties": ["raw"]}, 2]]
    )
    assert name == "messages"
    expected = [bodies[uids.index(uid)].decode() for uid in wanted if uid != 999_999]
    assert [m["raw"] for m in args["list"]] == expected
    assert args["notFound"] == [f"{inbox}?999999"]
    # In ascending order (the order a client listing a mailbox asks in) as well.
    [[_, args, _]] = await peer.call(
        [["getMessages", {"ids": [f"{inbox}?{uid}" for uid in uids], "properties": ["raw"]}, 3]]
    )
    assert [m["raw"] for m in args["list"]] == [body.decode() for body in bodies]
    assert "notFound" not in args


async def test_a_get_messages_reply_of_many_fragments_arrives_whole(
    open_peer: Any, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    # Over the server's fragment size (256 KiB): the reply goes out in WebSocket fragments cut
    # anywhere, inside a multi-byte character too; the peer still reads one message, the same.
    line = "Grüße, 世界 ✓ 0123456789\r\n"
    bodies = [message(f"big {n}", body=line * (1000 + n)) for n in range(20)]
    uids = await asyncio.to_thread(dovecot.append_many, imap_user, bodies)
    inbox = f"INBOX!{await asyncio.to_thread(dovecot.uidvalidity, imap_user)}"
    peer = await open_peer("/clients")
    await peer.call([["connect", plain(dovecot, imap_user.username, imap_user.password), 1]])
    [[name, args, _]] = await peer.call(
        [["getMessages", {"ids": [f"{inbox}?{uid}" for uid in uids], "properties": ["raw"]}, 2]]
    )
    assert name == "messages"
    assert sum(len(m["raw"].encode()) for m in args["list"]) > 2 * 256 * 1024
    assert [m["raw"] for m in args["list"]] == [body.decode() for body in bodies]
    # The connection goes on: a small reply after the large one.
    [[name, args, _]] = await peer.call(
        [["getMessages", {"ids": [f"{inbox}?{uids[0]}"], "properties": ["raw"]}, 3]]
    )
    assert [m["raw"] for m in args["list"]] == [bodies[0].decode()]
