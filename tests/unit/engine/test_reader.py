"""The reader's pure rule: which IMAP refusals of EXAMINE blame the mailbox name (the client's
mistake, ``MailboxNotFound``) and which are the server's trouble or ours (``ImapFailure``).

The conversations themselves run against Dovecot in tests/integration/engine/test_reader.py.
"""

from __future__ import annotations

import pytest

from switchboard.engine.reader import refuses_name
from switchboard.imap.errors import CommandFailed
from switchboard.imap.responses import ResponseCode, Status, TaggedResponse


def _failed(status: Status, code: str | None, text: str) -> CommandFailed:
    response = TaggedResponse("A1", status, ResponseCode(code) if code else None, text)
    return CommandFailed.from_response("EXAMINE", response)


@pytest.mark.parametrize(
    ("status", "code", "text"),
    [
        (Status.NO, "NONEXISTENT", "Unknown Mailbox: x"),
        (Status.NO, "TRYCREATE", "Mailbox doesn't exist: x"),
        (Status.NO, "CANNOT", "Invalid mailbox name: Name is empty"),
        (Status.NO, "NOPERM", "Permission denied"),
        (Status.NO, None, "Mailbox name is not valid mUTF-7"),  # Dovecot 2.3, no code
        (Status.NO, None, "Invalid mailbox name"),
    ],
)
def test_refusals_of_the_name_are_the_clients_mistake(
    status: Status, code: str | None, text: str
) -> None:
    assert refuses_name(_failed(status, code, text))


@pytest.mark.parametrize(
    ("status", "code", "text"),
    [
        (Status.NO, "UNAVAILABLE", "Temporary failure, try again"),
        (Status.NO, "SERVERBUG", "Internal error occurred"),
        (Status.NO, "INUSE", "Mailbox is locked"),
        (Status.NO, "LIMIT", "Too many commands"),
        (Status.NO, None, "Server busy"),
        (Status.BAD, None, "Invalid mailbox name"),  # BAD: our command was malformed
        (Status.BAD, "CLIENTBUG", "Error in IMAP command"),
    ],
)
def test_other_refusals_stay_ours(status: Status, code: str | None, text: str) -> None:
    assert not refuses_name(_failed(status, code, text))
