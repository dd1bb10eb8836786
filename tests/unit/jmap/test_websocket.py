import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.jmap.capabilities import CORE, MAIL, CoreCapability
from switchboard.jmap.dispatch import CORE_ECHO, method_registry, process_request
from switchboard.jmap.errors import Limit, NotJson, NotRequest, UnknownCapability
from switchboard.jmap.push import StateChange
from switchboard.jmap.request import Response
from switchboard.jmap.websocket import (
    SUBPROTOCOL,
    WsPushDisable,
    WsPushEnable,
    WsRequest,
    WsRequestError,
    encode_response,
    encode_state_change,
    parse_message,
)

LIMITS = CoreCapability(max_size_request=2048)


def parse(data: str | bytes) -> object:
    return parse_message(data, core=LIMITS, supported={CORE, MAIL})


async def test_the_rfc_8887_example_conversation() -> None:
    # RFC 8887 §5, message by message.
    assert SUBPROTOCOL == "jmap"
    enable = parse('{"@type": "WebSocketPushEnable", "dataTypes": ["Mailbox", "Email"],'
                   ' "pushState": "aaa"}')  # fmt: skip
    assert enable == WsPushEnable(frozenset({"Mailbox", "Email"}), "aaa")

    push = StateChange({"a456": {"Mailbox": "d35ecb040aab"}}, push_state="bbb")
    assert json.loads(encode_state_change(push)) == {
        "@type": "StateChange",
        "changed": {"a456": {"Mailbox": "d35ecb040aab"}},
        "pushState": "bbb",
    }

    message = parse(json.dumps({
        "@type": "Request", "id": "R1", "using": ["urn:ietf:params:jmap:core"],
        "methodCalls": [["Core/echo", {"hello": True, "high": 5}, "b3ff"]],
    }))  # fmt: skip
    assert isinstance(message, WsRequest) and message.request_id == "R1"
    response = await process_request(
        message.request, method_registry([CORE_ECHO]), session_state=lambda: "s1"
    )
    assert json.loads(encode_response(response, message.request_id)) == {
        "@type": "Response",
        "requestId": "R1",
        "methodResponses": [["Core/echo", {"hello": True, "high": 5}, "b3ff"]],
        "sessionState": "s1",
    }

    error = parse("The quick brown fox jumps over the lazy dog.")
    assert isinstance(error, WsRequestError)
    doc = error.to_json()
    assert doc["@type"] == "RequestError" and doc["requestId"] is None
    assert doc["type"] == "urn:ietf:params:jmap:error:notJSON" and doc["status"] == 400
    assert json.loads(error.encode()) == doc

    assert parse('{"@type": "WebSocketPushDisable"}') == WsPushDisable()


def test_response_without_an_id_has_no_request_id() -> None:
    message = parse(json.dumps({"@type": "Request", "using": [CORE], "methodCalls": []}))
    assert isinstance(message, WsRequest) and message.request_id is None
    assert "requestId" not in json.loads(encode_response(Response((), "s"), None))


def test_push_enable_variants() -> None:
    assert parse('{"@type": "WebSocketPushEnable", "dataTypes": null}') == WsPushEnable(None, None)
    assert parse('{"@type": "WebSocketPushEnable"}') == WsPushEnable(None, None)


@pytest.mark.parametrize(
    ("data", "error", "request_id"),
    [
        ("x" * 3000, Limit, None),
        ("[1,2]", NotRequest, None),
        ("{}", NotRequest, None),
        ('{"@type": "Teapot"}', NotRequest, None),
        ('{"@type": "WebSocketPushEnable", "dataTypes": "Email"}', NotRequest, None),
        ('{"@type": "WebSocketPushEnable", "dataTypes": [1]}', NotRequest, None),
        ('{"@type": "WebSocketPushEnable", "pushState": 5}', NotRequest, None),
        ('{"@type": "Request", "id": 5, "using": [], "methodCalls": []}', NotRequest, None),
        ('{"@type": "Request", "id": "R2", "using": []}', NotRequest, "R2"),
        ('{"@type": "Request", "id": "R3", "using": ["urn:x"], "methodCalls": []}',
         UnknownCapability, "R3"),
        (b"\xff\xfe", NotJson, None),
    ],
)  # fmt: skip
def test_bad_messages_become_request_errors(
    data: str | bytes, error: type[Exception], request_id: str | None
) -> None:
    result = parse(data)
    assert isinstance(result, WsRequestError)
    assert isinstance(result.error, error)
    assert result.request_id == request_id
    if error is Limit:
        assert result.to_json()["limit"] == "maxSizeRequest"


def test_binary_messages_are_read_as_utf8() -> None:
    message = parse(json.dumps({"@type": "Request", "using": [CORE], "methodCalls": []}).encode())
    assert isinstance(message, WsRequest)


@given(st.binary(max_size=200) | st.text(max_size=200)
       | st.dictionaries(st.sampled_from(["@type", "id", "using", "methodCalls", "dataTypes",
                                          "pushState"]),
                         st.sampled_from(["Request", "WebSocketPushEnable", "R1", CORE, None])
                         | st.lists(st.sampled_from(["Email", CORE]), max_size=2)).map(json.dumps))
@settings(max_examples=400)
def test_any_message_parses_without_raising(data: str | bytes) -> None:
    result = parse(data)
    assert isinstance(result, WsRequest | WsPushEnable | WsPushDisable | WsRequestError)
