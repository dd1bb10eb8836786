"""Tests for server.sessioncore: interface x state x command -> call or refusal; outcome -> state.

No socket, no loop: the table is checked row by row, the way a peer would see it (the error
type answered, the account a command runs for), and the effects are applied to a bare core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from switchboard.model.events import NewMessage
from switchboard.protocol import errors as wire
from switchboard.protocol.messages import Command, Response
from switchboard.protocol.methods import (
    AckRequest,
    ConnectRequest,
    GetMailboxesRequest,
    GetMessagesRequest,
    Interface,
    Method,
    WatchAllRequest,
    WatchMailboxesRequest,
    methods_of,
)
from switchboard.server.sessioncore import (
    INITIAL_STATES,
    RULES,
    TRANSITIONS,
    Call,
    ClientWatches,
    Connected,
    InvalidState,
    JoinedGroup,
    Outcome,
    ReplayFrom,
    SessionCore,
    SessionState,
    Subscribed,
    WantsSummary,
)

W, C = Interface.WORKERS, Interface.CLIENTS
AWAITING, READY, CLOSED = (
    SessionState.AWAITING_CONNECT,
    SessionState.READY,
    SessionState.CLOSED,
)
ME = "me@example.org"
CONNECT_ARGS = {
    "host": "imap.example.org",
    "port": 993,
    "auth": {"type": "plain", "username": ME, "password": "pw"},
}


def core_in(interface: Interface, state: SessionState) -> SessionCore:
    """A core moved to ``state`` the way a session gets there."""
    core = SessionCore(interface)
    if state is READY and interface is C:
        core.apply(Outcome(Response("connected", {}), (Connected(ME),)))
    elif state is CLOSED:
        core.close()
    assert core.state is state
    return core


@dataclass(frozen=True)
class Runs:
    """The command is admitted: for this method and account, with this request type."""

    method: Method
    account: str | None
    request: type
    check_account: bool = False


@dataclass(frozen=True)
class Deferred:
    """Admitted for the account check only; then refused with this error type."""

    account: str
    error: str


@dataclass(frozen=True)
class Refused:
    """Answered at once with an error of this type."""

    error: str


# (interface, state, method, args) -> what happens. One row per rule of the table, plus the
# argument checks' place in the order.
CASES: list[tuple[Interface, SessionState, str, Any, Runs | Deferred | Refused]] = [
    # /workers: always READY; account methods name their account.
    (W, READY, "connect", CONNECT_ARGS, Runs(Method.CONNECT, None, ConnectRequest)),
    (W, READY, "connect", {"host": "h"}, Refused("invalidArguments")),
    (W, READY, "watchAll", {}, Runs(Method.WATCH_ALL, None, WatchAllRequest)),
    (W, READY, "watchAll", [], Refused("badArgs")),
    (W, READY, "ack", {"eventIds": [1]}, Runs(Method.ACK, None, AckRequest)),
    (W, READY, "getMailboxes", {},
     Refused("noAccount")),
    (W, READY, "getMailboxes", {"account": 5}, Refused("noAccount")),
    (W, READY, "getMailboxes", {"account": "a"},
     Runs(Method.GET_MAILBOXES, "a", GetMailboxesRequest, check_account=True)),
    (W, READY, "idle", {"account": "a", "list": ["INBOX"]},
     Runs(Method.WATCH_MAILBOXES, "a", WatchMailboxesRequest, check_account=True)),
    # Bad arguments and unknown names are refused only after the account checks.
    (W, READY, "getMessages", {"account": "a", "ids": 5}, Deferred("a", "invalidArguments")),
    (W, READY, "nope", {}, Refused("noAccount")),
    (W, READY, "nope", {"account": "a"}, Deferred("a", "unknownMethod")),
    (W, CLOSED, "watchAll", {}, Refused("notConnected")),
    (W, CLOSED, "getMailboxes", {"account": "a"}, Refused("notConnected")),
    # /clients before connect.
    (C, AWAITING, "connect", CONNECT_ARGS, Runs(Method.CONNECT, None, ConnectRequest)),
    (C, AWAITING, "ack", {"eventIds": [2]}, Runs(Method.ACK, None, AckRequest)),
    (C, AWAITING, "getMailboxes", {}, Refused("notConnected")),
    (C, AWAITING, "getMessages", {"ids": 5}, Refused("notConnected")),  # state first
    (C, AWAITING, "watchAll", {}, Refused("unknownMethod")),  # not a /clients method
    (C, AWAITING, "nope", {}, Refused("unknownMethod")),
    # /clients after connect: account methods run for the connected account.
    (C, READY, "connect", CONNECT_ARGS, Refused("alreadyConnected")),
    (C, READY, "getMailboxes", {}, Runs(Method.GET_MAILBOXES, ME, GetMailboxesRequest)),
    (C, READY, "getMailboxes", {"state": "x"}, Refused("invalidArguments")),
    (C, READY, "getMessages", {"ids": [], "properties": ["nope"]},
     Refused("unknownProperty")),
    (C, READY, "getMessages", {"ids": [], "properties": ["subject"]},
     Runs(Method.GET_MESSAGES, ME, GetMessagesRequest)),
    (C, READY, "watchAll", {}, Refused("unknownMethod")),
    (C, READY, "ack", {"eventIds": [3]}, Runs(Method.ACK, None, AckRequest)),
    (C, CLOSED, "connect", CONNECT_ARGS, Refused("notConnected")),
    (C, CLOSED, "ack", {"eventIds": [3]}, Refused("notConnected")),
]  # fmt: skip


@pytest.mark.parametrize(("interface", "state", "method", "args", "expected"), CASES)
def test_admit(
    interface: Interface,
    state: SessionState,
    method: str,
    args: Any,
    expected: Runs | Deferred | Refused,
) -> None:
    command = Command(method, args, 7)
    admitted = core_in(interface, state).admit(command)
    if isinstance(expected, Refused):
        assert isinstance(admitted, Response)
        assert admitted.name == "error"
        assert isinstance(admitted.args, dict)
        assert admitted.args["type"] == expected.error
        assert (admitted.args["method"], admitted.tag) == (method, 7)
        return
    assert isinstance(admitted, Call)
    assert admitted.command is command
    if isinstance(expected, Deferred):
        assert (admitted.account_id, admitted.check_account) == (expected.account, True)
        assert admitted.refusal is not None and admitted.refusal.type == expected.error
        assert admitted.request is None
        return
    assert admitted.refusal is None
    assert admitted.method is expected.method
    assert admitted.account_id == expected.account
    assert admitted.check_account is expected.check_account
    assert isinstance(admitted.request, expected.request)


def test_a_worker_command_runs_without_its_account_key() -> None:
    args = {"account": "a", "list": ["INBOX", "INBOX"], "summary": True}
    call = SessionCore(W).admit(Command("watchMailboxes", args, 1))
    assert isinstance(call, Call)
    assert call.request == WatchMailboxesRequest(("INBOX",), summary=True)
    assert args["account"] == "a"  # the arguments as sent are untouched (errors echo them)


def test_refusals_describe_themselves() -> None:
    cases = {
        (C, AWAITING, "getMailboxes"): "send connect first",
        (C, READY, "connect"): "this connection is already connected to an account",
        (C, READY, "frobnicate"): "no method named 'frobnicate'",
        (W, CLOSED, "ack"): "this connection is closed",
    }
    for (interface, state, method), description in cases.items():
        response = core_in(interface, state).admit(Command(method, {}))
        assert isinstance(response, Response) and isinstance(response.args, dict)
        assert response.args["description"] == description


def test_the_table_has_a_rule_for_every_method_in_every_reachable_state() -> None:
    reachable = {
        W: {READY, CLOSED},
        C: {AWAITING, READY, CLOSED},
    }
    assert set(RULES) == {(i, s) for i, states in reachable.items() for s in states}
    for (interface, _), row in RULES.items():
        assert set(row) == {*methods_of(interface), None}
    assert INITIAL_STATES == {W: READY, C: AWAITING}


def test_only_the_transitions_of_the_table_happen() -> None:
    assert TRANSITIONS[AWAITING] == {READY, CLOSED}
    assert TRANSITIONS[READY] == {CLOSED}
    assert TRANSITIONS[CLOSED] == frozenset()
    core = core_in(C, READY)
    with pytest.raises(InvalidState, match="from ready to ready"):
        core.apply(Outcome(Response("connected", {}), (Connected("other"),)))
    assert core.account_id == ME


def test_connect_binds_a_client_but_not_a_worker() -> None:
    client = SessionCore(C)
    client.apply(Outcome(Response("connected", {}), (Connected(ME),)))
    assert (client.state, client.account_id) == (READY, ME)
    worker = SessionCore(W)
    worker.apply(Outcome(Response("connected", {}), (Connected(ME),)))
    assert (worker.state, worker.account_id) == (READY, None)


def test_apply_changes_the_core_and_hands_the_rest_to_the_shell_in_order() -> None:
    core = core_in(C, READY)
    effects = (
        WantsSummary(),
        ClientWatches(frozenset({"INBOX"})),
        Subscribed(ME),
        ReplayFrom(5, ME),
        JoinedGroup("g"),
    )
    shell = core.apply(Outcome(Response("watchingMailboxes", {}), effects))
    assert shell == (Subscribed(ME), ReplayFrom(5, ME))
    assert core.wants_summary is True
    assert core.client_watches == {"INBOX"}
    assert core.group == "g"


def test_a_failed_command_changes_nothing() -> None:
    core = SessionCore(C)
    assert core.apply(Outcome(Response("error", {"type": "connectionFailed"}))) == ()
    assert (core.state, core.account_id, core.wants_summary) == (AWAITING, None, False)


def test_a_session_closed_while_its_command_ran_takes_no_effect() -> None:
    core = SessionCore(C)
    core.close()
    effects = (Connected(ME), Subscribed(ME), WantsSummary())
    assert core.apply(Outcome(Response("connected", {}), effects)) == ()
    assert (core.state, core.account_id, core.wants_summary) == (CLOSED, None, False)
    core.close()  # closing twice is allowed
    assert core.state is CLOSED


def test_wants_follows_the_interface_and_the_watch_set() -> None:
    event = NewMessage(ME, "INBOX", 1, 1)
    other = NewMessage(ME, "Sent", 1, 1)
    worker = SessionCore(W)
    assert worker.wants(event) and worker.wants(other)
    client = core_in(C, READY)
    client.apply(Outcome(Response("watchingMailboxes", {}), (ClientWatches(frozenset({"INBOX"})),)))
    assert client.wants(event) and not client.wants(other)


def test_a_bad_argument_is_answered_like_any_wire_error() -> None:
    response = SessionCore(W).admit(Command("ack", {"eventIds": [0]}, "t"))
    assert response == wire.InvalidArguments(
        "eventIds must be an array of integers in 1..9007199254740991"
    ).to_response(Command("ack", {"eventIds": [0]}, "t"))
