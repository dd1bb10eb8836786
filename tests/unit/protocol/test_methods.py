# The tables quote frames of the original server verbatim, one per line, so they can be compared
# by eye.
# ruff: noqa: E501

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.protocol import errors as wire
from switchboard.protocol.frames import decode_frame, encode_frame
from switchboard.protocol.ids import MailboxId, MessageId
from switchboard.protocol.messages import Command, Response
from switchboard.protocol.methods import (
    MAX_ACK_IDS,
    SUPPORTED_PROPERTIES,
    ConnectRequest,
    GetMailboxesRequest,
    GetMessageListRequest,
    GetMessagesRequest,
    Interface,
    Method,
    PlainAuth,
    TokenType,
    WatchAllRequest,
    WatchMailboxesRequest,
    XOAuth2Auth,
    is_known_method,
    lookup_method,
    methods_of,
    parse_arguments,
    split_account,
    validate_ack,
    validate_connect,
    validate_get_mailboxes,
    validate_get_message_list,
    validate_get_messages,
    validate_watch_all,
    validate_watch_mailboxes,
)

H, P = "imap.example.com", 993


def answer(interface: Interface, command: Command, *, connected: bool = True) -> Response | Any:
    """A stateless sketch of the server's dispatch: the request, or the error response."""
    try:
        args = command.args
        if interface is Interface.WORKERS and command.method not in ("watchAll", "connect"):
            account, args = split_account(args)
            if account != "wanda@example.com":
                raise wire.InactiveAccount()
        method = lookup_method(interface, command.method)
        if method is None:
            raise wire.UnknownMethod()
        if interface is Interface.CLIENTS and method is not Method.CONNECT and not connected:
            raise wire.NotConnected()
        return parse_arguments(method, args)
    except wire.WireError as err:
        return err.to_response(command)


def reply_frame(interface: Interface, request: str, **kw: Any) -> str:
    """Answer every command of ``request``; successes become ``["ok",{}]`` stand-ins."""
    decoded = decode_frame(request)
    assert decoded.frame_error is None
    out = []
    for item in decoded.items:
        result = item if isinstance(item, Response) else answer(interface, item, **kw)
        if not isinstance(result, Response):
            result = Response.reply(item, "ok", {})  # type: ignore[arg-type]
        elif result.name == "error":
            result.args.pop("description", None)  # the original's frames have none
        out.append(result)
    return encode_frame(out).decode("utf-8")


CONNECT = '{"host":"imap.example.com","port":993,"auth":{"type":"plain","username":"wanda@example.com","password":"secret"}}'

# Request frames of the original's clients → the exact reply bytes (descriptions removed).
TABLE = [
    (Interface.CLIENTS, {"connected": False}, '[["getMailboxes",{},"pre"]]',
     '[["error",{"type":"notConnected","method":"getMailboxes","arguments":{}},"pre"]]'),
    (Interface.CLIENTS, {}, '[["getMailboxes",{},3],["getMailboxes",{"state":5},4],["getMailboxes",[],"arr"]]',
     '[["ok",{},3],["ok",{},4],["ok",{},"arr"]]'),
    (Interface.CLIENTS, {}, '[["getMessageList",{"mailboxId":"INBOX!1"},5],["getMessageList",{"mailboxId":"Work!3"}],["nope",{},7]]',
     '[["ok",{},5],["ok",{}],["error",{"type":"unknownMethod","method":"nope","arguments":{}},7]]'),
    (Interface.CLIENTS, {}, '[["getMessageList",{"mailboxId":"INBOX"},null],["getMessageList",{"mailboxId":"INBOX!abc"},[1,2]]]',
     '[["error",{"type":"mailboxDoesNotExist","method":"getMessageList","arguments":{"mailboxId":"INBOX"}},null],["error",{"type":"mailboxDoesNotExist","method":"getMessageList","arguments":{"mailboxId":"INBOX!abc"}},[1,2]]]'),
    (Interface.CLIENTS, {}, "[]", "[]"),
    (Interface.CLIENTS, {}, '[["watchMailboxes",{},1],["watchMailboxes",{"list":[]},2],["watchMailboxes",{"list":"INBOX"},3]]',
     '[["error",{"type":"noList","method":"watchMailboxes","arguments":{}},1],["error",{"type":"emptyList","method":"watchMailboxes","arguments":{"list":[]}},2],["error",{"type":"badList","method":"watchMailboxes","arguments":{"list":"INBOX"}},3]]'),
    (Interface.WORKERS, {}, '[["watchAll",{},1],["watchAll",{"x":1},2],["watchAll",[],3]]',
     '[["ok",{},1],["error",{"type":"badArgs","method":"watchAll","arguments":{"x":1}},2],["error",{"type":"badArgs","method":"watchAll","arguments":[]},3]]'),
    (Interface.WORKERS, {}, '[["getMailboxes",{},4],["getMailboxes",{"account":"nobody@example.com"},5]]',
     '[["error",{"type":"noAccount","method":"getMailboxes","arguments":{}},4],["error",{"type":"inactiveAccount","method":"getMailboxes","arguments":{"account":"nobody@example.com"}},5]]'),
    (Interface.WORKERS, {}, f'[["connect",{CONNECT},6],["getMailboxes",{{"account":"wanda@example.com"}},8],["frob",{{"account":"wanda@example.com","x":1}},9]]',
     '[["ok",{},6],["ok",{},8],["error",{"type":"unknownMethod","method":"frob","arguments":{"account":"wanda@example.com","x":1}},9]]'),
    (Interface.CLIENTS, {}, '[["getMailboxes"],["getMailboxes",{},"ok"]]',
     '[["error",{"type":"invalidCommand","method":"getMailboxes","arguments":null}],["ok",{},"ok"]]'),
    (Interface.CLIENTS, {}, '[["getMessageList",{},1],["getMessages",{"properties":["subject"]},3],["getMessages",{"ids":["INBOX!999?1"],"properties":["subject"]},4],["getMessages",{"ids":["INBOX!1?1"],"properties":["labels"]},5],["getMessages",{"ids":["INBOX!1?1"],"properties":["isFlagged","unread"]},6]]',
     '[["error",{"type":"invalidArguments","method":"getMessageList","arguments":{}},1],["error",{"type":"invalidArguments","method":"getMessages","arguments":{"properties":["subject"]}},3],["ok",{},4],["error",{"type":"unknownProperty","method":"getMessages","arguments":{"ids":["INBOX!1?1"],"properties":["labels"]}},5],["ok",{},6]]'),
    (Interface.WORKERS, {}, '[["watchAll",{},"m1"],["fooBar",{"account":"user1"},"m2"]]',
     '[["ok",{},"m1"],["error",{"type":"inactiveAccount","method":"fooBar","arguments":{"account":"user1"}},"m2"]]'),
    (Interface.CLIENTS, {}, '[["watchMailboxes",{"list":[]},"c3c"],["getMessageList",{"mailboxId":"garbage"},"c9b"]]',
     '[["error",{"type":"emptyList","method":"watchMailboxes","arguments":{"list":[]}},"c3c"],["error",{"type":"mailboxDoesNotExist","method":"getMessageList","arguments":{"mailboxId":"garbage"}},"c9b"]]'),
    (Interface.CLIENTS, {}, '[["watchAll",{},1],["idling",{},2],["idle",{"list":["INBOX"]},3]]',
     '[["error",{"type":"unknownMethod","method":"watchAll","arguments":{}},1],["error",{"type":"unknownMethod","method":"idling","arguments":{}},2],["ok",{},3]]'),
]  # fmt: skip


@pytest.mark.parametrize(("interface", "kw", "request_frame", "expected"), TABLE)
def test_protocol_md_frames(
    interface: Interface, kw: dict[str, Any], request_frame: str, expected: str
) -> None:
    assert reply_frame(interface, request_frame, **kw) == expected


def test_invalid_arguments_for_connect_says_which_field() -> None:
    # The description names the field.
    command = Command(
        "connect", {"port": P, "auth": {"type": "plain", "username": "u", "password": "p"}}, 1
    )
    frame = encode_frame([answer(Interface.CLIENTS, command)])
    assert frame == (
        b'[["error",{"type":"invalidArguments","method":"connect","arguments":{"port":993,"auth":'
        b'{"type":"plain","username":"u","password":"***"}},"description":"missing host"},1]]'
    )


def test_method_table() -> None:
    assert Method.WATCH_ALL in methods_of(Interface.WORKERS)
    assert Method.WATCH_ALL not in methods_of(Interface.CLIENTS)
    assert methods_of(Interface.WORKERS) - methods_of(Interface.CLIENTS) == {Method.WATCH_ALL}
    assert lookup_method(Interface.CLIENTS, "idle") is Method.WATCH_MAILBOXES
    for name in ["Connect", "getmailboxes", "idleAll", "unwatch", "setMessages", "", "accounts"]:
        assert not is_known_method(Interface.WORKERS, name)
    assert is_known_method(Interface.CLIENTS, "getMessages")
    assert not is_known_method(Interface.CLIENTS, "watchAll")


def test_split_account_copies_and_leaves_the_original() -> None:
    args = {"account": "a", "list": ["INBOX"]}
    assert split_account(args) == ("a", {"list": ["INBOX"]})
    assert args == {"account": "a", "list": ["INBOX"]}
    for bad in [{}, [], "a", None, {"account": 1}, {"account": None}]:
        with pytest.raises(wire.NoAccount):
            split_account(bad)


PLAIN = {"type": "plain", "username": "bob", "password": "pw"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"host": H, "port": P, "auth": PLAIN}, ConnectRequest(H, P, PlainAuth("bob", "pw"))),
        ({"host": H, "port": 143, "auth": PLAIN, "starttls": True, "ssl": False, "extra": 1},
         ConnectRequest(H, 143, PlainAuth("bob", "pw"), ssl=False, starttls=True)),
        ({"host": H, "port": P, "auth": {"type": "plain", "username": "bob", "password": ""}},
         ConnectRequest(H, P, PlainAuth("bob", ""))),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "x", "token": {"type": "access", "token": "T"}}},
         ConnectRequest(H, P, XOAuth2Auth("x", TokenType.ACCESS, "T"))),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "x", "token": {"type": "refresh", "token": "R", "provider": "google", "url": "u"}}},
         ConnectRequest(H, P, XOAuth2Auth("x", TokenType.REFRESH, "R", "google"))),
    ],
)  # fmt: skip
def test_connect_accepts(args: Any, expected: ConnectRequest) -> None:
    assert validate_connect(args) == expected
    assert parse_arguments(Method.CONNECT, args) == expected


def test_connect_request_hides_secrets_in_repr() -> None:
    request = validate_connect({"host": H, "port": P, "auth": PLAIN})
    assert "pw" not in repr(request)
    assert request.auth.password == "pw"  # type: ignore[union-attr]
    assert (
        validate_connect(
            {
                "host": H,
                "port": P,
                "auth": {
                    "type": "xoauth2",
                    "username": "x",
                    "token": {"type": "access", "token": "T"},
                },
            }
        ).auth.token_type
        == "access"
    )  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ("x", "arguments"), (None, "arguments"), (5, "arguments"), ([1], "arguments"), (True, "arguments"),
        ({"port": P, "auth": PLAIN}, "missing host"),
        ({"host": "", "port": P, "auth": PLAIN}, "host"),
        ({"host": 1, "port": P, "auth": PLAIN}, "host"),
        ({"host": "\u0000", "port": P, "auth": PLAIN}, "host"),
        ({"host": "a" * 64 + ".example.com", "port": P, "auth": PLAIN}, "host"),
        ({"host": "a" * 300, "port": P, "auth": PLAIN}, "host"),
        ({"host": "imap example.com", "port": P, "auth": PLAIN}, "host"),
        ({"host": "imap..example.com", "port": P, "auth": PLAIN}, "host"),
        ({"host": "[::1]", "port": P, "auth": PLAIN}, "host"),
        ({"host": "imap.example.com/x", "port": P, "auth": PLAIN}, "host"),
        ({"host": "\u202e", "port": P, "auth": PLAIN}, "host"),
        ({"host": H, "auth": PLAIN}, "missing port"),
        ({"host": H, "port": "993", "auth": PLAIN}, "port"),
        ({"host": H, "port": True, "auth": PLAIN}, "port"),
        ({"host": H, "port": 0, "auth": PLAIN}, "port"),
        ({"host": H, "port": 65536, "auth": PLAIN}, "port"),
        ({"host": H, "port": 993.0, "auth": PLAIN}, "port"),
        ({"host": H, "port": P}, "missing auth"),
        ({"host": H, "port": P, "auth": "plain"}, "auth"),
        ({"host": H, "port": P, "auth": {"type": "login", "username": "u", "password": "p"}}, "auth.type"),
        ({"host": H, "port": P, "auth": {"type": "plain", "password": "p"}}, "auth.username"),
        ({"host": H, "port": P, "auth": {"type": "plain", "username": "u"}}, "auth.password"),
        ({"host": H, "port": P, "auth": {"type": "plain", "username": "u", "password": 1}}, "auth.password"),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "u"}}, "auth.token"),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "u", "token": {"type": "id", "token": "t"}}}, "auth.token.type"),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "u", "token": {"type": ["access"], "token": "t"}}}, "auth.token.type"),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "u", "token": {"type": "access"}}}, "auth.token.token"),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "u", "token": {"type": "refresh", "token": "t", "provider": 3}}}, "provider"),
        ({"host": H, "port": P, "auth": {"type": "plain", "username": "a\u0000b", "password": "p"}}, "auth.username"),
        ({"host": H, "port": P, "auth": {"type": "plain", "username": "u" * 1025, "password": "p"}}, "auth.username"),
        ({"host": H, "port": P, "auth": {"type": "plain", "username": "u", "password": "p\u0000"}}, "auth.password"),
        ({"host": H, "port": P, "auth": {"type": "plain", "username": "u", "password": "p" * 16385}}, "auth.password"),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "a\u0001b", "token": {"type": "access", "token": "t"}}}, "auth.username"),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "u", "token": {"type": "access", "token": "t\u0001"}}}, "auth.token.token"),
        ({"host": H, "port": P, "auth": {"type": "xoauth2", "username": "u", "token": {"type": "refresh", "token": "t" * 16385}}}, "auth.token.token"),
        ({"host": H, "port": P, "auth": PLAIN, "ssl": "yes"}, "ssl"),
        ({"host": H, "port": P, "auth": PLAIN, "ssl": True, "starttls": True}, "starttls"),
    ],
)  # fmt: skip
def test_connect_refuses_naming_the_field(args: Any, field: str) -> None:
    with pytest.raises(wire.InvalidArguments) as info:
        validate_connect(args)
    assert field in (info.value.description or "")


def test_credentials_at_the_limits_are_taken() -> None:
    auth = {"type": "plain", "username": "u" * 1024, "password": "p\r\n\u0001" + "p" * 16380}
    request = validate_connect({"host": H, "port": P, "auth": auth})
    assert request.auth == PlainAuth("u" * 1024, auth["password"])


@pytest.mark.parametrize(
    "host", ["imap.example.com", "127.0.0.1", "::1", "fe80::1%eth0", "localhost", "imap.example.com.",
             "mail_server.internal", "☃.example", "bücher.example"],
)  # fmt: skip
def test_connect_takes_names_and_addresses(host: str) -> None:
    assert validate_connect({"host": host, "port": P, "auth": PLAIN}).host == host


def test_watch_all() -> None:
    assert validate_watch_all({}) == WatchAllRequest()
    assert validate_watch_all({"since": 0, "group": "g"}) == WatchAllRequest(0, "g")
    for bad in [
        [],
        {"x": 1},
        None,
        "x",
        {"since": -1},
        {"since": True},
        {"since": "1"},
        {"since": 2**53},
        {"since": 2**63},
        {"since": 10**30},
        {"since": 1e308},
        {"since": int("9" * 4000)},
        {"since": -(2**63) - 1},
        {"group": ""},
        {"group": 1},
    ]:
        with pytest.raises(wire.BadArgs):
            validate_watch_all(bad)


def test_watch_mailboxes() -> None:
    assert validate_watch_mailboxes({"list": ["INBOX", "Work", "INBOX", "[Gmail]/Sent Mail"]}) == (
        WatchMailboxesRequest(("INBOX", "Work", "[Gmail]/Sent Mail"))
    )
    assert validate_watch_mailboxes(
        {"list": ["A"], "since": 5, "group": "g"}
    ) == WatchMailboxesRequest(("A",), 5, "g")
    assert parse_arguments(Method.WATCH_MAILBOXES, {"list": ["A"]}).names == ("A",)  # type: ignore[union-attr]
    cases: list[tuple[Any, type[wire.WireError]]] = [
        ([], wire.NoList), ({}, wire.NoList), ({"list": None}, wire.BadList),
        ({"list": {"INBOX": 1}}, wire.BadList), ({"list": ["INBOX", 1]}, wire.BadList),
        ({"list": [""]}, wire.BadList), ({"list": []}, wire.EmptyList), ("INBOX", wire.InvalidArguments),
        ({"list": ["A"], "since": -3}, wire.InvalidArguments), ({"list": ["A"], "group": 7}, wire.InvalidArguments),
    ]  # fmt: skip
    for args, error in cases:
        with pytest.raises(error):
            validate_watch_mailboxes(args)


def test_get_mailboxes() -> None:
    big = 9994537339654418401471858898878876255421381384
    assert validate_get_mailboxes({}) == GetMailboxesRequest()
    assert validate_get_mailboxes([]) == GetMailboxesRequest()
    assert validate_get_mailboxes({"state": None}) == GetMailboxesRequest()
    safe = 2**53 - 1
    assert validate_get_mailboxes({"state": safe}) == GetMailboxesRequest(safe)
    assert validate_get_mailboxes({"state": float(2**52)}) == GetMailboxesRequest(2**52)
    # States fit 53 bits (issue 12): a larger number, e.g. the original's 160-bit state or a JS
    # client's rounded float of one, can match none and is accepted as no state at all.
    for unmatched in [big, float(big), safe + 1, -1, 1.5, 1e308, -(10**4000)]:
        assert validate_get_mailboxes({"state": unmatched}) == GetMailboxesRequest(None)
    for bad in [{"state": "1"}, {"state": True}, {"state": [1]}, "x", None, [1]]:
        with pytest.raises(wire.InvalidArguments):
            validate_get_mailboxes(bad)


def test_get_message_list() -> None:
    assert validate_get_message_list({"mailboxId": "[Gmail]/Sent Mail!7", "sort": 1}) == (
        GetMessageListRequest(MailboxId("[Gmail]/Sent Mail", 7))
    )
    for bad, error in [({}, wire.InvalidArguments), ([], wire.InvalidArguments),
                       ({"mailboxId": 1}, wire.InvalidArguments), ({"mailboxId": "INBOX!0"}, wire.MailboxDoesNotExist)]:  # fmt: skip
        with pytest.raises(error):
            validate_get_message_list(bad)


def test_get_messages() -> None:
    request = validate_get_messages(
        {
            "ids": ["INBOX!1?3", "[Gmail]/Sent Mail!7?1"],
            "properties": ["mailboxId", "messageId", "subject", "subject"],
        }
    )
    assert request == GetMessagesRequest(
        (MessageId(MailboxId("INBOX", 1), 3), MessageId(MailboxId("[Gmail]/Sent Mail", 7), 1)),
        ("mailboxId", "messageId", "subject"),
    )
    assert validate_get_messages({"ids": [], "properties": ["raw"]}) == GetMessagesRequest(
        (), ("raw",)
    )
    cases: list[tuple[Any, type[wire.WireError], str]] = [
        ({"properties": ["raw"]}, wire.InvalidArguments, "ids"),
        ({"ids": "INBOX!1?1", "properties": ["raw"]}, wire.InvalidArguments, "ids"),
        ({"ids": [1], "properties": ["raw"]}, wire.InvalidArguments, "ids"),
        ({"ids": []}, wire.InvalidArguments, "properties"),
        ({"ids": [], "properties": []}, wire.InvalidArguments, "properties"),
        ({"ids": [], "properties": "raw"}, wire.InvalidArguments, "properties"),
        ({"ids": [], "properties": ["raw", None]}, wire.InvalidArguments, "properties"),
        ({"ids": ["INBOX!1?1"], "properties": ["raw", "rawUrl"]}, wire.UnknownProperty, "rawUrl"),
        ({"ids": ["bad"], "properties": ["body"]}, wire.UnknownProperty, "body"),
        ({"ids": ["INBOX!1?1", "INBOX!1"], "properties": ["raw"]}, wire.MessageDoesNotExist, "INBOX!1"),
    ]  # fmt: skip
    for args, error, named in cases:
        with pytest.raises(error) as info:
            validate_get_messages(args)
        assert named in (info.value.description or ""), args


def test_supported_properties_match_the_issue() -> None:
    assert (
        set(
            [
                "messageId",
                "mailboxId",
                "raw",
                "from",
                "to",
                "cc",
                "bcc",
                "replyTo",
                "subject",
                "date",
                "size",
                "textBody",
                "htmlBody",
                "preview",
                "isUnread",
                "unread",
                "isFlagged",
                "isDraft",
                "isAnswered",
                "hasAttachment",
                "attachments",
                "headers",
            ]
        )
        == SUPPORTED_PROPERTIES
    )
    for name in ["body", "rawUrl", "labels", "Subject"]:
        assert name not in SUPPORTED_PROPERTIES


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
    | st.sampled_from([2**53, 2**63, -(2**63) - 1, 10**30, 10**400, int("9" * 4000), 1e308]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["list", "ids", "properties", "host", "port", "auth", "state", "mailboxId", "since", "group", "type", "token", "visibilityTimeout", "eventIds", "summary"]), inner, max_size=4),
    max_leaves=10,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Method)), json_values)
def test_validators_only_raise_wire_errors(method: Method, args: Any) -> None:
    try:
        parse_arguments(method, args)
    except wire.WireError as err:
        assert err.to_response(Command(method.value, args, 1)).name == "error"


# -- ack and group options (issue 6) --------------------------------------------------------


def test_ack_exists_on_both_interfaces() -> None:
    assert lookup_method(Interface.WORKERS, "ack") is Method.ACK
    assert lookup_method(Interface.CLIENTS, "ack") is Method.ACK


def test_ack_ids_are_deduplicated_in_order() -> None:
    assert validate_ack({"eventIds": [3, 1, 3]}).event_ids == (3, 1)
    assert validate_ack({"eventIds": []}).event_ids == ()


@pytest.mark.parametrize(
    "args",
    [{}, [1], {"eventIds": "1"}, {"eventIds": [0]}, {"eventIds": [True]}, {"eventIds": [1.5]},
     {"eventIds": [2**53]}, {"eventIds": [1, 2**63]}, {"eventIds": [10**30]}],
)
def test_ack_rejects_bad_ids(args: Any) -> None:
    with pytest.raises(wire.InvalidArguments):
        validate_ack(args)


def test_ack_rejects_too_many_ids() -> None:
    with pytest.raises(wire.InvalidArguments, match="at most"):
        validate_ack({"eventIds": list(range(1, MAX_ACK_IDS + 2))})


def test_visibility_timeout_needs_a_group_and_a_positive_number() -> None:
    request = validate_watch_all({"group": "apns", "visibilityTimeout": 2})
    assert request.group == "apns" and request.visibility_timeout_s == 2.0
    with pytest.raises(wire.BadArgs, match="needs group"):
        validate_watch_all({"visibilityTimeout": 2})
    with pytest.raises(wire.InvalidArguments, match="> 0"):
        validate_watch_mailboxes({"list": ["INBOX"], "group": "g", "visibilityTimeout": 0})
    with pytest.raises(wire.BadArgs, match="group"):
        validate_watch_all({"group": "g" * 201})
    for bad in ["a\u0000b", "line\nbreak", "\u0085"]:
        with pytest.raises(wire.InvalidArguments, match="control"):
            validate_watch_mailboxes({"list": ["INBOX"], "group": bad})
    assert validate_watch_all({"group": "☃ workers"}).group == "☃ workers"


def test_event_ids_and_timeouts_have_a_range() -> None:
    """Issue 12: numbers past what the server can send or hold are the client's mistake."""
    safe = 2**53 - 1
    assert validate_watch_all({"since": safe}).since == safe
    assert validate_watch_mailboxes({"list": ["A"], "since": safe}).since == safe
    assert validate_ack({"eventIds": [safe]}).event_ids == (safe,)
    for huge in [safe + 1, 2**63, -(2**63) - 1, 10**30, int("9" * 4000)]:
        with pytest.raises(wire.InvalidArguments, match="since"):
            validate_watch_mailboxes({"list": ["A"], "since": huge})
    day = validate_watch_all({"group": "g", "visibilityTimeout": 86_400})
    assert day.visibility_timeout_s == 86_400.0
    for huge in [86_400.5, 10**400, 1e308, int("9" * 4000)]:
        with pytest.raises(wire.BadArgs, match="at most 86400"):
            validate_watch_all({"group": "g", "visibilityTimeout": huge})
        with pytest.raises(wire.InvalidArguments, match="at most 86400"):
            validate_watch_mailboxes({"list": ["A"], "group": "g", "visibilityTimeout": huge})
