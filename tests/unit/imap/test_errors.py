"""Tests for switchboard.imap.errors: the tree, blame, and choosing the specific failure."""

from __future__ import annotations

import pytest

from switchboard.errors import SwitchboardError
from switchboard.imap import errors
from switchboard.imap.errors import (
    AuthenticationFailed,
    CommandFailed,
    ConnectionLost,
    ImapError,
    ImapProtocolError,
    ImapTimeout,
    InsecureConnection,
    InvalidState,
    LimitExceeded,
    MailboxNotFound,
)
from switchboard.imap.responses import ResponseCode, Status, TaggedResponse


def test_tree() -> None:
    assert issubclass(ImapError, SwitchboardError)
    assert issubclass(LimitExceeded, ImapProtocolError)
    assert issubclass(AuthenticationFailed, CommandFailed)
    assert issubclass(MailboxNotFound, CommandFailed)
    for cls in (
        ImapProtocolError,
        CommandFailed,
        ConnectionLost,
        ImapTimeout,
        InsecureConnection,
        InvalidState,
    ):
        assert issubclass(cls, ImapError)
    # Misuse and timeouts also look like the built-ins they resemble.
    assert issubclass(InvalidState, AssertionError)
    assert issubclass(ImapTimeout, TimeoutError)
    # Peer faults and refusals are separate: a NO is not a protocol error.
    assert not issubclass(CommandFailed, ImapProtocolError)
    assert not issubclass(ConnectionLost, ImapProtocolError)


def test_every_public_exception_is_documented_and_drawn_in_the_module_docstring() -> None:
    assert errors.__doc__ is not None
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert cls.__doc__, name
        assert name in errors.__doc__, name


def tagged(status: Status, code: str | None, text: str) -> TaggedResponse:
    return TaggedResponse("A1", status, None if code is None else ResponseCode(code), text)


@pytest.mark.parametrize(
    ("command", "response", "kind"),
    [
        # Dovecot's exact answers (captured from the fixture server).
        (
            "LOGIN",
            tagged(Status.NO, "AUTHENTICATIONFAILED", "Authentication failed."),
            AuthenticationFailed,
        ),
        ("AUTHENTICATE", tagged(Status.NO, None, "Authentication failed."), AuthenticationFailed),
        (
            "SELECT",
            tagged(Status.NO, None, "Mailbox doesn't exist: NoSuch (0.001 + 0.000 secs)."),
            MailboxNotFound,
        ),
        (
            "STATUS",
            tagged(Status.NO, None, "Mailbox doesn't exist: NoSuch (0.001 + 0.000 secs)."),
            MailboxNotFound,
        ),
        # RFC 5530 and Gmail.
        (
            "EXAMINE",
            tagged(Status.NO, "NONEXISTENT", "Unknown Mailbox: x (Failure)"),
            MailboxNotFound,
        ),
        ("SELECT", tagged(Status.NO, "TRYCREATE", "no"), MailboxNotFound),
        # Everything else stays generic.
        ("SELECT", tagged(Status.NO, None, "Permission denied"), CommandFailed),
        ("LOGIN", tagged(Status.BAD, None, "Error in IMAP command"), CommandFailed),
        ("UID FETCH", tagged(Status.BAD, None, "Error in IMAP command"), CommandFailed),
        ("APPEND", tagged(Status.NO, "TRYCREATE", "Mailbox doesn't exist: x"), CommandFailed),
    ],
)
def test_from_response_picks_the_specific_class(
    command: str, response: TaggedResponse, kind: type[CommandFailed]
) -> None:
    error = CommandFailed.from_response(command, response)
    assert type(error) is kind
    assert (error.command, error.status, error.code, error.text) == (
        command,
        response.status,
        response.code,
        response.text,
    )


def test_messages_name_the_command_but_never_its_arguments() -> None:
    error = CommandFailed.from_response(
        "LOGIN", tagged(Status.NO, "AUTHENTICATIONFAILED", "Authentication failed.")
    )
    assert str(error) == "LOGIN failed: NO [AUTHENTICATIONFAILED] Authentication failed."


def test_limit_exceeded_names_its_limit() -> None:
    error = LimitExceeded("too long", limit_name="max_line_bytes", limit=10)
    assert (error.limit_name, error.limit, str(error)) == ("max_line_bytes", 10, "too long")
