import json

import pytest

from switchboard.jmap.capabilities import CORE, MAIL, CoreCapability
from switchboard.jmap.dispatch import (
    CORE_ECHO,
    Method,
    MethodCall,
    MethodResult,
    method_registry,
    process_request,
)
from switchboard.jmap.errors import MethodError, ServerFail, StateMismatch
from switchboard.jmap.request import Invocation, Request, parse_request


def request(calls: list[list[object]], using: tuple[str, ...] = (CORE, MAIL),
            created_ids: dict[str, str] | None = None) -> Request:  # fmt: skip
    body: dict[str, object] = {"using": list(using), "methodCalls": calls}
    if created_ids is not None:
        body["createdIds"] = created_ids
    return parse_request(json.dumps(body), core=CoreCapability(), supported={CORE, MAIL})


async def method1(call: MethodCall) -> MethodResult:
    return MethodResult.single("method1", {"arg1": 3, "arg2": "foo"})


async def method2(call: MethodCall) -> MethodResult:
    # A method may answer with more than one response (§3.4.1's example).
    return MethodResult(
        (("method2", {"isBlah": True}), ("anotherResponseFromMethod2", {"data": 10}))
    )


REGISTRY = method_registry(
    [Method("method1", CORE, method1), Method("method2", CORE, method2), CORE_ECHO]
)


async def test_the_rfc_request_and_response_example() -> None:
    # RFC 8620 §3.3.1 / §3.4.1: method3 is unknown, and the others still run.
    req = request(
        [["method1", {"arg1": "arg1data"}, "c1"], ["method2", {}, "c2"], ["method3", {}, "c3"]]
    )
    response = await process_request(req, REGISTRY, session_state=lambda: "75128aab4b1b")
    assert response.to_json() == {
        "methodResponses": [
            ["method1", {"arg1": 3, "arg2": "foo"}, "c1"],
            ["method2", {"isBlah": True}, "c2"],
            ["anotherResponseFromMethod2", {"data": 10}, "c2"],
            ["error", {"type": "unknownMethod", "description": "unknown method 'method3'"},
             "c3"],
        ],
        "sessionState": "75128aab4b1b",
    }  # fmt: skip


async def test_echo_and_result_references_across_calls() -> None:
    req = request(
        [
            ["Core/echo", {"hello": True, "high": 5}, "b3ff"],
            ["Core/echo", {"#x": {"resultOf": "b3ff", "name": "Core/echo", "path": "/high"}}, "c"],
        ]
    )
    response = await process_request(req, REGISTRY, session_state=lambda: "s")
    assert [r.to_json() for r in response.method_responses] == [
        ["Core/echo", {"hello": True, "high": 5}, "b3ff"],
        ["Core/echo", {"x": 5}, "c"],
    ]


async def test_a_method_whose_capability_is_not_in_using_is_unknown() -> None:
    mail_method = Method("Mailbox/get", MAIL, method1)
    registry = method_registry([mail_method, CORE_ECHO])
    response = await process_request(
        request([["Mailbox/get", {}, "c1"]], using=(CORE,)), registry, session_state=lambda: "s"
    )
    name, args, call_id = response.method_responses[0].to_json()
    assert (name, call_id, args["type"]) == ("error", "c1", "unknownMethod")  # type: ignore[index]
    assert MAIL in args["description"]  # type: ignore[index,operator]


async def test_reference_failures_and_method_errors_answer_that_call_only() -> None:
    async def mismatch(call: MethodCall) -> MethodResult:
        raise StateMismatch()

    registry = method_registry([Method("Foo/set", CORE, mismatch), CORE_ECHO])
    req = request(
        [
            ["Core/echo", {"#a": {"resultOf": "nope", "name": "Core/echo", "path": "/a"}}, "c1"],
            ["Foo/set", {}, "c2"],
            ["Core/echo", {"#a": {"resultOf": "c2", "name": "Foo/set", "path": "/a"}}, "c3"],
            ["Core/echo", {"ok": 1}, "c4"],
        ]
    )
    response = await process_request(req, registry, session_state=lambda: "s")
    types = [(r.name, r.arguments.get("type"), r.call_id) for r in response.method_responses]
    assert types == [
        ("error", "invalidResultReference", "c1"),
        ("error", "stateMismatch", "c2"),
        # An error response has the name "error", so a reference to it does not resolve.
        ("error", "invalidResultReference", "c3"),
        ("Core/echo", None, "c4"),
    ]


async def test_created_ids_flow_through_calls_and_into_the_response() -> None:
    seen: list[dict[str, str]] = []

    async def create(call: MethodCall) -> MethodResult:
        seen.append(dict(call.created_ids))
        return MethodResult.single("Foo/set", {"created": {"k2": {"id": "f2"}}}, {"k2": "f2"})

    async def get(call: MethodCall) -> MethodResult:
        seen.append(dict(call.created_ids))
        return MethodResult.single("Foo/get", {})

    registry = method_registry([Method("Foo/set", CORE, create), Method("Foo/get", CORE, get)])
    calls: list[list[object]] = [["Foo/set", {}, "c1"], ["Foo/get", {}, "c2"]]
    response = await process_request(
        request(calls, created_ids={"k1": "f1"}), registry, session_state=lambda: "s"
    )
    assert seen == [{"k1": "f1"}, {"k1": "f1", "k2": "f2"}]
    assert response.to_json()["createdIds"] == {"k1": "f1", "k2": "f2"}
    # Without createdIds in the request, none in the response (§3.4).
    response = await process_request(request(calls), registry, session_state=lambda: "s")
    assert "createdIds" not in response.to_json()


async def test_unexpected_exceptions() -> None:
    async def broken(call: MethodCall) -> MethodResult:
        raise KeyError("bug")

    registry = method_registry([Method("Foo/get", CORE, broken), CORE_ECHO])
    req = request([["Foo/get", {}, "c1"], ["Core/echo", {}, "c2"]])
    with pytest.raises(KeyError):
        await process_request(req, registry, session_state=lambda: "s")

    hooked: list[tuple[Exception, Invocation]] = []

    def hook(exc: Exception, invocation: Invocation) -> MethodError:
        hooked.append((exc, invocation))
        return ServerFail()

    response = await process_request(req, registry, session_state=lambda: "s",
                                     on_unexpected=hook)  # fmt: skip
    assert [r.to_json() for r in response.method_responses] == [
        ["error", {"type": "serverFail"}, "c1"],
        ["Core/echo", {}, "c2"],
    ]
    assert isinstance(hooked[0][0], KeyError) and hooked[0][1].call_id == "c1"


async def test_session_state_is_read_after_the_calls() -> None:
    states = iter(["before", "after"])
    next(states)
    response = await process_request(request([]), REGISTRY, session_state=lambda: next(states))
    assert response.session_state == "after"


def test_registry_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="twice"):
        method_registry([CORE_ECHO, CORE_ECHO])
