"""Tests for switchboard.imap._values: the generic value reader and its conversions."""

from __future__ import annotations

import pytest

from switchboard.imap._values import (
    MAX_NESTING,
    Reader,
    decode_text,
    name_of,
    to_int,
    to_nstring,
)
from switchboard.imap.errors import ImapProtocolError


def read(line: bytes, *literals: bytes, more: tuple[bytes, ...] = ()) -> list[object]:
    return list(Reader([line, *more], list(literals)).rest())


def test_value_kinds() -> None:
    assert read(b'ATOM "q\\"s" NIL nil "NIL" (a (b) ()) 12') == [
        "ATOM",
        b'q"s',
        None,
        None,
        b"NIL",
        ["a", ["b"], []],
        "12",
    ]


def test_sections_are_one_atom_and_a_lone_bracket_is_a_character() -> None:
    assert read(b"BODY[HEADER.FIELDS (A B)]<0> [Gmail]/x a[b") == [
        "BODY[HEADER.FIELDS (A B)]<0>",
        "[Gmail]/x",
        "a[b",
    ]


def test_literals_continue_on_the_next_line() -> None:
    assert read(b"(x {3}", b"a\r\n", more=(b" y)",)) == [["x", b"a\r\n", "y"]]


def test_8bit_atoms_map_back_to_their_bytes() -> None:
    (value,) = read("Entwürfe".encode())
    assert isinstance(value, str)
    assert name_of(value) == "Entwürfe"
    assert to_nstring(value) == "Entwürfe".encode()


@pytest.mark.parametrize("line", [b"(a", b'"abc', b")", b"{3}", b"{3} x", b"(" * (MAX_NESTING + 1)])
def test_malformed(line: bytes) -> None:
    with pytest.raises(ImapProtocolError):
        read(line)


def test_conversions() -> None:
    assert to_int("42") == 42 and to_int(b"7") == 7
    for bad in ("4a", "", None, ["1"], "²"):
        with pytest.raises(ImapProtocolError):
            to_int(bad)
    with pytest.raises(ImapProtocolError):
        name_of(None)
    assert decode_text(b"\xff") == "ÿ" and decode_text("é".encode()) == "é"
