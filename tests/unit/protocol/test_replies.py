"""Reply and push frames decoded for clients: the inverse of what the server writes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.model.events import MessageSummary, NewMessage
from switchboard.protocol.frames import encode_frame, encode_push
from switchboard.protocol.messages import Response
from switchboard.protocol.replies import (
    SUMMARY_PROPERTIES,
    FrameFault,
    NewMessagePush,
    PushSummary,
    decode_responses,
    message_items,
)
from switchboard.server.hub import push_args

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
responses = st.builds(
    Response, st.text(), json_values, st.none() | st.integers() | st.text(), st.booleans())


@given(st.lists(responses, min_size=1, max_size=4))
def test_decoding_is_the_inverse_of_the_servers_encoding(sent: list[Response]) -> None:
    assert decode_responses(encode_frame(sent)) == tuple(sent)


@pytest.mark.parametrize(("data", "reason"), [
    ("nope", "not JSON"), (b"\xff", "not JSON"), ("{}", "not a JSON array"), ("[]", "empty"),
    ('[["a",{}],"b"]', "responses"), ('[["a"]]', "responses"), ('[[null,{}]]', "responses"),
])
def test_unusable_frames_are_faults(data: str | bytes, reason: str) -> None:
    fault = decode_responses(data)
    assert isinstance(fault, FrameFault) and reason in fault.reason


def test_the_servers_push_reads_back_typed_with_and_without_summary() -> None:
    event = NewMessage("leo@example.com", "INBOX", 1700000000, 42,
                       MessageSummary("Grüße", "Ann Example <ann@example.org>", "Tue, 3 Jun", 99))
    args = push_args(7, event, with_account=True, with_summary=True)
    decoded = decode_responses(encode_push("newMessage", {**args, "group": "g"}))
    assert not isinstance(decoded, FrameFault)
    (response,) = decoded
    pushed = NewMessagePush.from_args(response.args)
    assert pushed == NewMessagePush(
        "INBOX!1700000000?42", "INBOX!1700000000", "leo@example.com", 7, "g",
        PushSummary("Grüße", "Ann Example <ann@example.org>", "Tue, 3 Jun", 99))
    assert pushed.to_args() == {**args, "group": "g"}
    client_push = push_args(8, event, with_account=False)
    assert NewMessagePush.from_args(client_push) == NewMessagePush(
        "INBOX!1700000000?42", "INBOX!1700000000", None, 8)
    assert set(PushSummary().to_json()) == SUMMARY_PROPERTIES


@pytest.mark.parametrize("args", [None, [], "x", {}, {"messageId": 5}])
def test_push_args_without_a_message_id_are_not_a_new_message(args: object) -> None:
    assert NewMessagePush.from_args(args) is None  # type: ignore[arg-type]


def test_fields_of_the_wrong_type_read_as_absent() -> None:
    odd = {"messageId": "m", "mailboxId": 3, "account": ["x"], "eventId": True,
           "group": 1.5, "summary": {"subject": 1, "from": None, "size": "9", "date": "d"}}
    assert NewMessagePush.from_args(json.loads(json.dumps(odd))) == NewMessagePush(
        "m", summary=PushSummary(date="d"))
    assert NewMessagePush.from_args({"messageId": "m", "summary": "x"}) == NewMessagePush("m")


def test_message_items() -> None:
    assert message_items({"list": [{"raw": "x"}, 3, None]}) == ({"raw": "x"},)
    assert message_items({"list": "abc"}) == ()
    assert message_items([]) == ()
