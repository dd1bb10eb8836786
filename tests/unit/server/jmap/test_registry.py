"""Tests for server.jmap.registry: registering methods, binding the caller, NoBlobs."""

from __future__ import annotations

import pytest

from switchboard.jmap.capabilities import CORE, MAIL
from switchboard.jmap.dispatch import MethodCall, MethodResult, process_request
from switchboard.jmap.errors import AccountNotFound
from switchboard.jmap.request import Invocation, Request
from switchboard.jmap.state import StateCodec
from switchboard.server.jmap.registry import CallContext, MethodRegistry, NoBlobs
from switchboard.server.jmap.states import LogStates


def context() -> CallContext:
    return CallContext("me", {"aME": "me@example.com"}, LogStates(StateCodec("ep")))


async def whoami(call: MethodCall, ctx: CallContext) -> MethodResult:
    account = ctx.account(call.arguments.get("accountId"))
    return MethodResult.single(
        "Who/ami", {"account": account, "state": ctx.states.state(account, "Email")}
    )


async def test_a_registered_handler_gets_the_callers_context() -> None:
    registry = MethodRegistry()
    registry.register("Who/ami", MAIL, whoami)
    assert registry.names() == ("Core/echo", "Who/ami")
    request = Request(
        frozenset({CORE, MAIL}),
        (
            Invocation("Core/echo", {"x": 1}, "0"),
            Invocation("Who/ami", {"accountId": "aME"}, "1"),
            Invocation("Who/ami", {"accountId": "aOTHER"}, "2"),
        ),
    )
    response = await process_request(
        request, registry.methods_for(context()), session_state=lambda: "s"
    )
    assert [r.to_json() for r in response.method_responses] == [
        ["Core/echo", {"x": 1}, "0"],
        ["Who/ami", {"account": "me@example.com", "state": "ep:0"}, "1"],
        ["error", {"type": "accountNotFound",
                   "description": "no such account, or not one this caller may use"}, "2"],
    ]  # fmt: skip


def test_a_name_is_registered_once() -> None:
    registry = MethodRegistry()
    with pytest.raises(ValueError, match="twice"):
        registry.register("Core/echo", CORE, whoami)


def test_context_account_refuses_what_is_not_a_reachable_id() -> None:
    for value in (None, 3, "aOTHER", ""):
        with pytest.raises(AccountNotFound):
            context().account(value)


async def test_no_blobs_finds_nothing() -> None:
    async with NoBlobs().open_blob("me@example.com", "bxyz") as blob:
        assert blob is None
