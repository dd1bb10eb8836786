# The tables quote frames of the original server verbatim, one per line, so they can be compared
# by eye.
# ruff: noqa: E501

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.protocol.frames import (
    DecodedFrame,
    decode_frame,
    encode_frame,
    encode_push,
)
from switchboard.protocol.messages import Command, Response

H, P = "imap.example.com", 993


def cs(user: str, password: str = "secret") -> dict[str, Any]:
    return {"host": H, "port": P, "auth": {"type": "plain", "username": user, "password": password}}


def commands(frame: DecodedFrame) -> list[Command | Response]:
    assert frame.frame_error is None
    return list(frame.items)


# Request frames of the original's clients → the commands they mean.
DECODE_TABLE: list[tuple[str, list[Command]]] = [
    ('[["getMailboxes",{},"pre"]]', [Command("getMailboxes", {}, "pre")]),
    (json.dumps([["connect", cs("bob@example.com"), 1]]), [Command("connect", cs("bob@example.com"), 1)]),
    (
        '[["connect",' + json.dumps(cs("ivan@example.com")) + ',1],["watchMailboxes",{"list":["INBOX"]},2]]',
        [Command("connect", cs("ivan@example.com"), 1), Command("watchMailboxes", {"list": ["INBOX"]}, 2)],
    ),
    (
        '[["getMailboxes",{"state":9994537339654418401471858898878876255421381384},4],["getMailboxes",[],"arr"]]',
        [
            Command("getMailboxes", {"state": 9994537339654418401471858898878876255421381384}, 4),
            Command("getMailboxes", [], "arr"),
        ],
    ),
    (
        '[["getMessageList",{"mailboxId":"INBOX!1"},5],["getMessageList",{"mailboxId":"Work!3"}],["nope",{},7]]',
        [
            Command("getMessageList", {"mailboxId": "INBOX!1"}, 5),
            Command("getMessageList", {"mailboxId": "Work!3"}),
            Command("nope", {}, 7),
        ],
    ),
    (
        '[["getMessageList",{"mailboxId":"INBOX!999"},{"o":1}],["getMessageList",{"mailboxId":"INBOX"},null],["getMessageList",{"mailboxId":"INBOX!abc"},[1,2]]]',
        [
            Command("getMessageList", {"mailboxId": "INBOX!999"}, {"o": 1}),
            Command("getMessageList", {"mailboxId": "INBOX"}, None, tagged=True),
            Command("getMessageList", {"mailboxId": "INBOX!abc"}, [1, 2]),
        ],
    ),
    ("[]", []),
    (
        '[["watchAll",{},1],["watchAll",{"x":1},2],["watchAll",[],3]]',
        [Command("watchAll", {}, 1), Command("watchAll", {"x": 1}, 2), Command("watchAll", [], 3)],
    ),
    (
        '[["watchAll",{},"m1"],["fooBar",{"account":"user1"},"m2"],["getMessageList",{"account":"user1","mailboxId":"INBOX!200"}]]',
        [
            Command("watchAll", {}, "m1"),
            Command("fooBar", {"account": "user1"}, "m2"),
            Command("getMessageList", {"account": "user1", "mailboxId": "INBOX!200"}),
        ],
    ),
    (
        '[["getMessages",{"account":"user1","ids":["INBOX!200?1","INBOX!200?2"],"properties":["isFlagged"]},"8.7"]]',
        [
            Command(
                "getMessages",
                {"account": "user1", "ids": ["INBOX!200?1", "INBOX!200?2"], "properties": ["isFlagged"]},
                "8.7",
            )
        ],
    ),
    ('[["m",{},1.5],["m",{},-0],["m",{},"é☃"]]', [Command("m", {}, 1.5), Command("m", {}, 0), Command("m", {}, "é☃")]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), DECODE_TABLE)
def test_request_frames_decode_to_commands(text: str, expected: list[Command]) -> None:
    assert commands(decode_frame(text)) == expected
    assert commands(decode_frame(text.encode("utf-8"))) == expected


def test_the_160_bit_state_stays_exact_both_ways() -> None:
    state = 799937025476307479201211947323216845891755025787
    (command,) = commands(decode_frame(f'[["getMailboxes",{{"state":{state}}}]]'))
    assert isinstance(command, Command) and command.args["state"] == state
    # A reply recorded from the original server, byte for byte.
    reply = Response(
        "mailboxes", {"state": state, "list": [{"name": "INBOX", "id": "INBOX!200"}]}, "4"
    )
    assert encode_frame([reply]) == (
        b'[["mailboxes",{"state":799937025476307479201211947323216845891755025787,'
        b'"list":[{"name":"INBOX","id":"INBOX!200"}]},"4"]]'
    )


# Reply frames recorded from the original server → exactly the same bytes (UTF-8).
ENCODE_TABLE: list[tuple[list[Response], str]] = [
    (
        [Response("messageList", {"messageIds": ["INBOX!200?1", "INBOX!200?2"]}, "5")],
        '[["messageList",{"messageIds":["INBOX!200?1","INBOX!200?2"]},"5"]]',
    ),
    (
        [Response("messages", {"state": "TODO", "list": [{"raw": "From: Latency Probe <probe@example.com>\r\nTo: user1@localhost\r\nSubject: appended 0\r\nDate: Wed, 04 Jan 2017 12:00:00 +0000\r\nMessage-ID: <appended-0@example.com>\r\n\r\nbody of appended 0\r\n"}]}, "6")],
        r'[["messages",{"state":"TODO","list":[{"raw":"From: Latency Probe <probe@example.com>\r\nTo: user1@localhost\r\nSubject: appended 0\r\nDate: Wed, 04 Jan 2017 12:00:00 +0000\r\nMessage-ID: <appended-0@example.com>\r\n\r\nbody of appended 0\r\n"}]},"6"]]',
    ),
    (
        [Response("messages", {"state": "TODO", "list": [{"mailboxId": "INBOX!200", "messageId": "INBOX!200?1", "textBody": 'Plain body line 1\r\nCafé "quoted" back\\slash / tab\there\r\n', "size": 376, "cc": [{"name": "Carol", "email": "carol@example.org"}, {"name": "", "email": "dave@example.net"}], "from": [{"name": "=?UTF-8?Q?Bj=C3=B6rn?=", "email": "bjorn@example.com"}], "subject": "Hello from the seed"}]}, "9")],
        r'[["messages",{"state":"TODO","list":[{"mailboxId":"INBOX!200","messageId":"INBOX!200?1","textBody":"Plain body line 1\r\nCafé \"quoted\" back\\slash / tab\there\r\n","size":376,"cc":[{"name":"Carol","email":"carol@example.org"},{"name":"","email":"dave@example.net"}],"from":[{"name":"=?UTF-8?Q?Bj=C3=B6rn?=","email":"bjorn@example.com"}],"subject":"Hello from the seed"}]},"9"]]',
    ),
    (
        [Response("watchingAll", {}, "m1"), Response("messageList", {"messageIds": ["INBOX!200?1"]})],
        '[["watchingAll",{},"m1"],["messageList",{"messageIds":["INBOX!200?1"]}]]',
    ),
    ([Response("connected", {}, None, tagged=True)], '[["connected",{},null]]'),
    ([], "[]"),
]  # fmt: skip


@pytest.mark.parametrize(("responses", "text"), ENCODE_TABLE)
def test_reply_frames_encode_to_the_recorded_bytes(responses: list[Response], text: str) -> None:
    assert encode_frame(responses) == text.encode("utf-8")


def test_pushes_are_untagged_one_element_frames() -> None:
    # As recorded from the original server.
    assert (
        encode_push(
            "newMessage",
            {"mailboxId": "INBOX!200", "messageId": "INBOX!200?3", "account": "user1"},
        )
        == b'[["newMessage",{"mailboxId":"INBOX!200","messageId":"INBOX!200?3","account":"user1"}]]'
    )
    assert (
        encode_push("newMessage", {"mailboxId": "INBOX!201", "messageId": "INBOX!201?3"})
        == b'[["newMessage",{"mailboxId":"INBOX!201","messageId":"INBOX!201?3"}]]'
    )


INVALID_JSON = b'[["error",{"type":"invalidJson","method":null,"arguments":null}]]'


def frame_error_type(frame: DecodedFrame) -> str:
    assert frame.items == ()
    assert frame.frame_error is not None
    assert not frame.frame_error.tagged
    body = frame.frame_error.args
    assert body["method"] is None and body["arguments"] is None
    return str(body["type"])


def test_not_json_is_the_exact_invalid_json_frame() -> None:
    # docs/protocol.md, "Frames".
    frame = decode_frame("this is not json")
    assert frame_error_type(frame) == "invalidJson"
    assert frame.frame_error is not None
    assert encode_frame([frame.frame_error]) == INVALID_JSON


@pytest.mark.parametrize(
    "data",
    [
        "", "{}", '"x"', "1", "null", '{"a":[]}', "[1,", "[NaN]", "[Infinity]", "[-Infinity]",
        "[1e999]", "[" + "9" * 5000 + "]", b"\xff[]", b"[\"\xc3\x28\"]", "[\"\\ud800\"]",
        '[["m",{"\\udfff":1}]]', "\ud800[]",
    ],
)  # fmt: skip
def test_unusable_frames_are_invalid_json(data: str | bytes) -> None:
    assert frame_error_type(decode_frame(data)) == "invalidJson"


def test_a_valid_surrogate_pair_escape_is_fine() -> None:
    assert commands(decode_frame('[["m",{},"\\ud83d\\ude00"]]')) == [Command("m", {}, "😀")]


def test_limits_give_too_large() -> None:
    assert frame_error_type(decode_frame("[" + " " * 100 + "]", max_frame_bytes=50)) == "tooLarge"
    assert (
        frame_error_type(decode_frame(b"[" + b" " * 100 + b"]", max_frame_bytes=50)) == "tooLarge"
    )
    # 20 two-byte characters: 24 characters but 44 bytes of UTF-8.
    assert frame_error_type(decode_frame('["' + "é" * 20 + '"]', max_frame_bytes=43)) == "tooLarge"
    assert len(commands(decode_frame('["' + "é" * 20 + '"]', max_frame_bytes=44))) == 1
    assert (
        frame_error_type(decode_frame("[" + ",".join(["1"] * 11) + "]", max_batch=10)) == "tooLarge"
    )
    assert len(decode_frame("[" + ",".join(["1"] * 10) + "]", max_batch=10).items) == 10
    deep = '[["m",{},' + "[" * 70 + "]" * 70 + "]]"
    assert frame_error_type(decode_frame(deep)) == "tooLarge"
    assert frame_error_type(decode_frame("[" * 100_000 + "]" * 100_000)) == "tooLarge"
    frame = decode_frame("[" * 10 + "]" * 10, max_depth=9)
    assert frame.frame_error is not None and "9" in frame.frame_error.args["description"]


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        # Method echoed, arguments null, untagged.
        ('["getMailboxes"]', ["error", {"type": "invalidCommand", "method": "getMailboxes", "arguments": None}]),
        ("[]", ["error", {"type": "invalidCommand", "method": None, "arguments": None}]),
        ("[1,{},\"t\"]", ["error", {"type": "invalidCommand", "method": None, "arguments": {}}, "t"]),
        ("[null,{},null]", ["error", {"type": "invalidCommand", "method": None, "arguments": {}}, None]),
        ('["m",{},1,2]', ["error", {"type": "invalidCommand", "method": "m", "arguments": {}}]),
        ('{"m":1}', ["error", {"type": "invalidCommand", "method": None, "arguments": None}]),
        ('"getMailboxes"', ["error", {"type": "invalidCommand", "method": None, "arguments": None}]),
        ('[1,{"password":"p"}]', ["error", {"type": "invalidCommand", "method": None, "arguments": {"password": "***"}}]),
    ],
)  # fmt: skip
def test_malformed_commands_get_invalid_command_in_place(element: str, expected: list[Any]) -> None:
    frame = decode_frame(f'[{element},["getMailboxes",{{}},"ok"]]')
    bad, good = commands(frame)
    assert isinstance(bad, Response)
    got = bad.to_json()
    assert got[1].pop("description")
    assert got == expected
    assert good == Command("getMailboxes", {}, "ok")


# -- properties ------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
commands_st = st.builds(
    lambda method, args, tag, tagged: Command(method, args, tag, tagged or tag is not None),
    st.text(max_size=12),
    json_values,
    json_values,
    st.booleans(),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commands_st, max_size=5))
def test_commands_round_trip_through_a_frame(batch: list[Command]) -> None:
    text = json.dumps([command.to_json() for command in batch], ensure_ascii=False)
    assert commands(decode_frame(text)) == batch
    # and each reply echoes its command's tag exactly
    replies = [Response.reply(command, "ok", {}) for command in batch]
    assert json.loads(encode_frame(replies)) == [
        ["ok", {}, c.tag] if c.tagged else ["ok", {}] for c in batch
    ]


def assert_well_formed(frame: DecodedFrame) -> None:
    assert isinstance(frame, DecodedFrame)
    if frame.frame_error is not None:
        assert frame.items == ()
        assert frame.frame_error.name == "error" and not frame.frame_error.tagged
        assert frame.frame_error.args["type"] in ("invalidJson", "tooLarge")
    for item in frame.items:
        assert isinstance(item, Command | Response)
        if isinstance(item, Response):
            assert item.name == "error" and item.args["type"] == "invalidCommand"
    # whatever came out can be written back
    encode_frame(
        [frame.frame_error]
        if frame.frame_error
        else [i for i in frame.items if isinstance(i, Response)]
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_without_raising(data: bytes) -> None:
    assert_well_formed(decode_frame(data, max_frame_bytes=150))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.text(alphabet='[]{}",:0123456789.e-ntrufalsmx\\ud8', max_size=80))
def test_any_text_decodes_without_raising(text: str) -> None:
    assert_well_formed(decode_frame(text, max_frame_bytes=150, max_batch=5, max_depth=4))


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, max_size=6))
def test_any_json_array_decodes_item_for_item(batch: list[Any]) -> None:
    frame = decode_frame(json.dumps(batch))
    assert_well_formed(frame)
    if frame.frame_error is None:
        assert len(frame.items) == len(batch)
