"""Tests for imap.writes' pure parts: COPYUID codes, the flag list a STORE sends, and the
refusal to write without a selected mailbox (no socket needed: nothing is sent)."""

from __future__ import annotations

import pytest

from switchboard.imap.connection import ImapConnection
from switchboard.imap.errors import InvalidState
from switchboard.imap.responses import ResponseCode
from switchboard.imap.tls import TlsMode
from switchboard.imap.writes import _flag_list, parse_copyuid, uid_copy, uid_expunge, uid_store


def test_copyuid_maps_each_source_uid_to_its_target() -> None:
    code = ResponseCode("COPYUID", "38505 3,5:7 101:104")
    assert parse_copyuid(code) == {3: 101, 5: 102, 6: 103, 7: 104}


@pytest.mark.parametrize(
    "code",
    [None, ResponseCode("APPENDUID", "1 2"), ResponseCode("COPYUID", "1 2:3 4"),
     ResponseCode("COPYUID", "1 x 4"), ResponseCode("COPYUID", None),
     ResponseCode("COPYUID", "1 1:200000 1:200000")],
)  # fmt: skip
def test_anything_else_says_nothing(code: ResponseCode | None) -> None:
    assert parse_copyuid(code) == {}


def test_flags_are_checked_and_sorted() -> None:
    assert _flag_list(["\\Seen", "$label", "\\Seen"]) == "($label \\Seen)"
    for bad in ("a b", "(x", "\\", 'q"', "", "x]"):
        with pytest.raises(ValueError):
            _flag_list([bad])


async def test_a_write_needs_a_selected_mailbox() -> None:
    conn = ImapConnection("imap.example", TlsMode.PLAIN, command_timeout_s=1,
                          max_line_bytes=1000, max_literal_bytes=1000,
                          max_unsolicited_responses=10)  # fmt: skip
    for write in (uid_store(conn, [1], ["\\Seen"], add=True), uid_copy(conn, [1], "Archive"),
                  uid_expunge(conn, [1])):  # fmt: skip
        with pytest.raises(InvalidState, match="needs state SELECTED"):
            await write
