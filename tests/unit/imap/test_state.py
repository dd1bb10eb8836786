"""switchboard.imap.state: the transition table and the result builders."""

from __future__ import annotations

import base64
import json

import pytest

from switchboard.imap.errors import (
    AuthenticationFailed,
    CommandFailed,
    ImapProtocolError,
    InvalidState,
)
from switchboard.imap.responses import (
    Exists,
    Flags,
    Recent,
    ResponseCode,
    Status,
    StatusResponse,
    TaggedResponse,
)
from switchboard.imap.state import (
    TRANSITIONS,
    ConnectionState,
    as_auth_failure,
    check_transition,
    sasl_error_detail,
    select_info,
)

S = ConnectionState


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.NOT_AUTHENTICATED, S.AUTHENTICATED),
        (S.AUTHENTICATED, S.SELECTED),
        (S.SELECTED, S.AUTHENTICATED),
        (S.SELECTED, S.IDLING),
        (S.IDLING, S.SELECTED),
        (S.LOGOUT, S.CLOSED),
        (S.SELECTED, S.SELECTED),
    ],
)
def test_legal_transitions(old: ConnectionState, new: ConnectionState) -> None:
    check_transition(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.NOT_AUTHENTICATED, S.SELECTED),
        (S.NOT_AUTHENTICATED, S.IDLING),
        (S.CLOSED, S.AUTHENTICATED),
        (S.LOGOUT, S.SELECTED),
    ],
)
def test_illegal_transitions_name_both_states(old: ConnectionState, new: ConnectionState) -> None:
    with pytest.raises(InvalidState, match=f"{old.name}.*{new.name}"):
        check_transition(old, new)


def test_every_state_can_close_except_closed() -> None:
    assert all(S.CLOSED in TRANSITIONS[s] for s in S if s is not S.CLOSED)
    assert TRANSITIONS[S.CLOSED] == frozenset()


def _ok(code: ResponseCode | None = None) -> TaggedResponse:
    return TaggedResponse("A1", Status.OK, code, "done")


def test_select_info_from_dovecot_like_responses() -> None:
    untagged = [
        Flags(("\\Seen", "\\Deleted")),
        Exists(3),
        Recent(0),
        StatusResponse(Status.OK, ResponseCode("UIDVALIDITY", 1700000000), "UIDs valid"),
        StatusResponse(Status.OK, ResponseCode("UIDNEXT", 4), "Predicted next UID"),
        StatusResponse(Status.OK, ResponseCode("HIGHESTMODSEQ", 9), "Highest"),
    ]
    info = select_info("INBOX", False, _ok(ResponseCode("READ-WRITE")), untagged)
    assert (info.exists, info.uidvalidity, info.uidnext, info.highestmodseq) == (
        3, 1700000000, 4, 9
    )
    assert info.flags == ("\\Seen", "\\Deleted")
    assert info.readonly is False


def test_select_info_read_only_from_code_and_missing_optionals() -> None:
    untagged = [StatusResponse(Status.OK, ResponseCode("UIDVALIDITY", 7), "")]
    info = select_info("Box", False, _ok(ResponseCode("READ-ONLY")), untagged)
    assert info.readonly is True
    assert (info.exists, info.uidnext, info.highestmodseq) == (0, None, None)


def test_select_info_without_uidvalidity_is_a_protocol_error() -> None:
    with pytest.raises(ImapProtocolError):
        select_info("INBOX", False, _ok(), [Exists(1)])


def test_sasl_error_detail_decodes_xoauth2_error_without_secrets() -> None:
    challenge = base64.b64encode(
        json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"}).encode()
    ).decode()
    assert sasl_error_detail([challenge]) == "status=401 schemes=bearer scope=mail"
    assert sasl_error_detail(["not base64 !"]) == ""
    assert sasl_error_detail([]) == ""


def test_as_auth_failure_keeps_status_and_text() -> None:
    bad = CommandFailed("LOGIN", Status.BAD, None, "syntax")
    failure = as_auth_failure(bad)
    assert isinstance(failure, AuthenticationFailed)
    assert (failure.command, failure.status, failure.text) == ("LOGIN", Status.BAD, "syntax")
    already = AuthenticationFailed("LOGIN", Status.NO, None, "no")
    assert as_auth_failure(already) is already
