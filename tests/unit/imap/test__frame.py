"""Tests for switchboard.imap._frame: one framed response (its lines and literals) to its value.

``tests/unit/imap/test_parser.py`` runs whole transcripts through the parser; here each kind of
response is read straight from its framed lines, as the parser hands them over.
"""

from __future__ import annotations

import pytest

from switchboard.imap._frame import parse_frame
from switchboard.imap.errors import ImapProtocolError
from switchboard.imap.responses import (
    Capability,
    Continuation,
    Exists,
    ListItem,
    MailboxStatus,
    ResponseCode,
    Search,
    Status,
    StatusResponse,
    TaggedResponse,
    Unknown,
)
from tests.support.imap_reference_parser import ResponseParser as ReferenceParser


def test_a_tagged_completion_with_its_code() -> None:
    response = parse_frame([b"A7 OK [READ-ONLY] EXAMINE completed"], [])
    assert response == TaggedResponse(
        "A7", Status.OK, ResponseCode("READ-ONLY"), "EXAMINE completed"
    )


def test_typed_code_values() -> None:
    untagged = parse_frame([b"* OK [UIDVALIDITY 3857529045] UIDs valid"], [])
    assert untagged == StatusResponse(
        Status.OK, ResponseCode("UIDVALIDITY", 3857529045), "UIDs valid"
    )
    flags = parse_frame([b"* OK [PERMANENTFLAGS (\\Seen \\*)] Limited"], [])
    assert isinstance(flags, StatusResponse) and flags.code is not None
    assert flags.code.value == ("\\Seen", "\\*")
    caps = parse_frame([b"* OK [CAPABILITY imap4rev1 idle] Dovecot ready."], [])
    assert isinstance(caps, StatusResponse) and caps.code is not None
    assert caps.code.value == ("IMAP4REV1", "IDLE")


def test_the_usual_responses() -> None:
    assert parse_frame([b"* 3 EXISTS"], []) == Exists(3)
    assert parse_frame([b"* SEARCH 2 5 8"], []) == Search((2, 5, 8))
    assert parse_frame([b"+ idling"], []) == Continuation("idling")
    assert parse_frame([b"+"], []) == Continuation("")
    assert parse_frame([b"* CAPABILITY IMAP4rev1 IDLE"], []) == Capability(
        frozenset({"IMAP4REV1", "IDLE"})
    )


def test_list_and_status_with_a_literal_name() -> None:
    listed = parse_frame([b'* LIST (\\HasNoChildren) "/" {4}', b""], [b"Work"])
    assert listed == ListItem("LIST", ("\\HasNoChildren",), "/", "Work")
    status = parse_frame([b"* STATUS INBOX (MESSAGES 3 UIDNEXT 9)"], [])
    assert status == MailboxStatus("INBOX", {"MESSAGES": 3, "UIDNEXT": 9})


def test_an_unknown_response_keeps_its_bytes() -> None:
    assert parse_frame([b"* XYZZY {3}", b" tail"], [b"abc"]) == Unknown(
        b"* XYZZY {3}\r\nabc tail"
    )


def test_an_empty_line_between_responses_is_skipped() -> None:
    assert parse_frame([b""], []) is None


@pytest.mark.parametrize(
    "line",
    [b"A1", b"A1 MAYBE done", b"* OK [UIDNEXT 5 unterminated", b"* STATUS INBOX (MESSAGES)"],
)
def test_malformed_responses_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(ImapProtocolError):
        parse_frame([line], [])


ENVELOPE = b'(NIL "Hi" NIL NIL NIL NIL NIL NIL NIL NIL)'


@pytest.mark.parametrize(
    "line",
    [
        b"* 3 FETCH (UID 7 RFC822.SIZE 120 FLAGS (\\Seen $Label) MODSEQ (9))",
        b"* 3 FETCH (ENVELOPE " + ENVELOPE + b" UID 7 FLAGS (\\Seen))",  # a run after an item
        b"* 3 FETCH (UID 7 ENVELOPE " + ENVELOPE + b' INTERNALDATE "1-Jan-2024" UID 8)',
        b"* 3 FETCH (UID 1 UID 2)",  # a repeated item keeps its last value
        b"* 3 FETCH (FLAGS () BODY[] NIL UID 4)",
        b"* 3 FETCH (UID 7 X-GM-MSGID 123 FLAGS (\\Seen))",  # an unknown item: generic path
        b"* 3 FETCH (uid 7 FLAGS (\\Seen))",  # lower case: generic path
        b"* 3 FETCH ()",
    ],
)
def test_fetch_items_read_as_the_previous_parser_reads_them(line: bytes) -> None:
    # The run of simple items at the start of the list is read by the match that recognises
    # "* n FETCH (" and any later run by the scanner: all as the parser this one replaced.
    reference = ReferenceParser()
    reference.receive_data(line + b"\r\n")
    assert parse_frame([line], []) == reference.next_response()
