"""Tests for switchboard.imap._fetch on hand-built values (the parser tests use real lines)."""

from __future__ import annotations

import pytest

from switchboard.imap._fetch import parse_body, parse_envelope, parse_fetch
from switchboard.imap.errors import ImapProtocolError
from switchboard.imap.responses import Address, BodyPart, Envelope, Fetch


def test_fetch_items() -> None:
    items: list[object] = ["UID", "4", "RFC822", b"raw", "BINARY[1]", None, "X-UNKNOWN", ["a"]]
    assert parse_fetch(2, items) == Fetch(  # type: ignore[arg-type]
        2, uid=4, sections={"RFC822": b"raw", "BINARY[1]": None}
    )


def test_envelope_group_syntax() -> None:
    group = [[None, None, b"Team", None], [None, None, b"a", b"x"], [None, None, None, None]]
    envelope = parse_envelope([None, None, None, None, None, group, None, None, None, None])
    assert envelope == Envelope(
        None,
        None,
        None,
        None,
        None,
        (
            Address(None, None, b"Team", None),
            Address(None, None, b"a", b"x"),
            Address(None, None, None, None),
        ),
        None,
        None,
        None,
        None,
    )


def test_message_global_is_read_like_rfc822() -> None:
    inner = [b"TEXT", b"PLAIN", None, None, None, b"7BIT", "1", "1"]
    env = [None] * 10
    part = parse_body([b"MESSAGE", b"GLOBAL", None, None, None, b"8BIT", "9", env, inner, "3"])
    assert part.envelope == Envelope(*[None] * 10)
    assert part.body == BodyPart("text", "plain", encoding="7BIT", size=1, lines=1)
    assert part.lines == 3


@pytest.mark.parametrize("value", [None, [], "x", [b"TEXT", b"PLAIN"], [b"X", b"Y", "bad"]])
def test_bad_bodies(value: object) -> None:
    with pytest.raises(ImapProtocolError):
        parse_body(value)  # type: ignore[arg-type]
