"""The reader's pure rules: which IMAP refusals of EXAMINE blame the mailbox name (the client's
mistake, ``MailboxNotFound``) and which are the server's trouble or ours (``ImapFailure``); how a
fetch of many UIDs is cut into pipelined chunks and each chunk written as a UID set.

The conversations themselves run against Dovecot in tests/integration/engine/test_reader.py.
"""

from __future__ import annotations

import pytest

from switchboard.engine.reader import (
    FETCH_CHUNK,
    PIPELINED_CHUNKS,
    refuses_name,
    uid_chunks,
    uid_set,
)
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


@pytest.mark.parametrize(
    ("uids", "text"),
    [
        ([7], "7"),
        ([1, 2, 3], "1:3"),
        ([1, 2, 3, 7, 9, 10], "1:3,7,9:10"),
        ([4, 6, 8], "4,6,8"),
        ([], ""),
    ],
)
def test_a_uid_set_names_exactly_the_uids(uids: list[int], text: str) -> None:
    assert uid_set(uids) == text


def test_a_large_fetch_is_cut_into_pipelined_chunks_none_over_the_line_limit() -> None:
    small = list(range(1, 51))
    assert uid_chunks(small) == [small]  # below MIN_CHUNK: one command
    many = list(range(1, 1001))
    chunks = uid_chunks(many)
    assert len(chunks) == PIPELINED_CHUNKS
    assert [uid for chunk in chunks for uid in chunk] == many
    huge = list(range(1, 100_001, 2))
    chunks = uid_chunks(huge)
    assert max(len(chunk) for chunk in chunks) == FETCH_CHUNK
    assert [uid for chunk in chunks for uid in chunk] == huge
