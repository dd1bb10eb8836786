"""Pure parts of server.mailops: the mailbox-list state, and which IMAP refusals blame a name."""

from __future__ import annotations

import pytest

from switchboard.imap.errors import CommandFailed
from switchboard.imap.responses import ResponseCode, Status, TaggedResponse
from switchboard.server.mailops import _refuses_name, mailboxes_state

MAX_SAFE_INTEGER = 2**53 - 1


def test_state_fits_a_javascript_number_and_follows_the_mailbox_set() -> None:
    entries = [("INBOX", 1), ("Work", 3), ("[Gmail]/Sent Mail", 2**32 - 1)]
    state = mailboxes_state(entries)
    assert 0 <= state <= MAX_SAFE_INTEGER
    assert state == mailboxes_state(list(entries))  # stable while the set is
    changed = [
        [("INBOX", 1), ("Work", 4), ("[Gmail]/Sent Mail", 2**32 - 1)],  # a UIDVALIDITY moved
        [("INBOX", 1), ("Work", 3)],  # a mailbox went away
        [("INBOX", 1), ("Work2", 3), ("[Gmail]/Sent Mail", 2**32 - 1)],  # renamed
        [],
    ]
    states = {mailboxes_state(e) for e in changed}
    assert state not in states and len(states) == len(changed)
    # 53 bits used, not fewer: over many sets some state has its top bit set.
    assert max(mailboxes_state([("M", n)]) for n in range(1, 200)) > 2**52


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
    assert _refuses_name(_failed(status, code, text))


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
    assert not _refuses_name(_failed(status, code, text))
