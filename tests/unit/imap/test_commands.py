"""Tests for switchboard.imap.commands: argument forms, chunks, redaction, SASL helpers."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.imap.commands import (
    DONE,
    Arg,
    EncodedCommand,
    astring,
    atom,
    encode_command,
    literal,
    raw,
    sasl_plain,
    sasl_xoauth2,
    secret,
    seq_set,
)
from switchboard.imap.parser import ResponseParser
from switchboard.imap.responses import Fetch


def wire(command: EncodedCommand) -> bytes:
    return b"".join(command.chunks)


def test_simple_command_is_one_chunk() -> None:
    command = encode_command("A1", "UID FETCH", seq_set([5, 1, 2, 3, 7]), raw("(UID FLAGS)"))
    assert command.chunks == (b"A1 UID FETCH 1:3,5,7 (UID FLAGS)\r\n",)
    assert (command.tag, command.name, command.redacted) == ("A1", "UID FETCH", False)
    assert command.describe() == "A1 UID FETCH 1:3,5,7 (UID FLAGS)"
    assert encode_command("A2", "NOOP").chunks == (b"A2 NOOP\r\n",)
    assert DONE == b"DONE\r\n"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("INBOX", b"INBOX"),
        ("Entw&APw-rfe", b"Entw&APw-rfe"),
        ("[Gmail]/All", b'"[Gmail]/All"'),  # "]" is an atom-special: quoted, to be safe
        ("with space", b'"with space"'),
        ('a"b\\c', b'"a\\"b\\\\c"'),
        ("", b'""'),
        ("*", b'"*"'),
        ("a]b", b'"a]b"'),
        ("pässword", b"{9}\r\np\xc3\xa4ssword"),
        (b"\x00x", b"{2}\r\n\x00x"),
        ("two\r\nlines", b"{10}\r\ntwo\r\nlines"),
    ],
)
def test_astring_picks_the_safest_form(value: str | bytes, encoded: bytes) -> None:
    assert wire(encode_command("T", "X", astring(value), literal_plus=False)) == (
        b"T X " + encoded + b"\r\n"
    )


def test_injection_attempt_goes_out_as_a_literal() -> None:
    command = encode_command("A1", "LOGIN", astring('a" b\r\nX LOGOUT'), astring("pw"))
    assert command.chunks == (b"A1 LOGIN {14}\r\n", b'a" b\r\nX LOGOUT pw\r\n')
    # The first line sent on its own contains nothing of the username.
    assert command.chunks[0].count(b"\r\n") == 1


def test_synchronising_literals_split_chunks_and_literal_plus_does_not() -> None:
    args = (raw("INBOX"), raw("(\\Seen)"), literal(b"msg1"), literal(b"msg2"))
    sync = encode_command("A1", "APPEND", *args)
    assert sync.chunks == (
        b"A1 APPEND INBOX (\\Seen) {4}\r\n",
        b"msg1 {4}\r\n",
        b"msg2\r\n",
    )
    plus = encode_command("A1", "APPEND", *args, literal_plus=True)
    assert plus.chunks == (b"A1 APPEND INBOX (\\Seen) {4+}\r\nmsg1 {4+}\r\nmsg2\r\n",)
    assert plus.describe() == "A1 APPEND INBOX (\\Seen) {4} {4}"


def test_literal_minus_allows_only_small_non_synchronising_literals() -> None:
    small, big = b"x" * 4096, b"y" * 4097
    command = encode_command(
        "A1", "APPEND", raw("INBOX"), literal(small), literal(big), literal_minus=True
    )
    assert command.chunks == (
        b"A1 APPEND INBOX {4096+}\r\n" + small + b" {4097}\r\n",
        big + b"\r\n",
    )


def test_login_and_authenticate_are_masked_in_descriptions() -> None:
    login = encode_command("A1", "LOGIN", astring("bob"), astring("hunter2 x"))
    assert login.redacted
    assert "bob" not in login.describe() and "hunter2" not in login.describe()
    assert "hunter2" not in repr(login)
    token = sasl_xoauth2("bob@example.com", "ya29.secret")
    auth = encode_command("A2", "AUTHENTICATE", atom("XOAUTH2"), raw(token.decode()))
    assert auth.redacted
    assert auth.describe() == "A2 AUTHENTICATE XOAUTH2 ***"
    other = encode_command("A3", "X-CUSTOM", astring("visible"), secret(astring("s3cret")))
    assert other.redacted and other.describe() == "A3 X-CUSTOM visible ***"


@pytest.mark.parametrize(
    "bad", ["", "a b", "a(b", "a)", "{", "a%", "a*", 'a"', "a\\", "a]", "é", "a\r", "a\x00"]
)
def test_atom_rejects_specials(bad: str) -> None:
    with pytest.raises(ValueError, match="atom"):
        atom(bad)


def test_atom_accepts_atom_chars() -> None:
    for value in ("UIDNEXT", "$Junk", "X-GM-EXT-1", "a+b.c/d[e"):
        assert wire(encode_command("T", "X", atom(value))) == f"T X {value}\r\n".encode()


@pytest.mark.parametrize("bad", ["", "a\r\nb", "a\nb", "x\x00", "ü"])
def test_raw_rejects_line_breaks_and_non_ascii(bad: str) -> None:
    with pytest.raises(ValueError):
        raw(bad)


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("A 1", "NOOP"),
        ("A+", "NOOP"),
        ("", "NOOP"),
        ("A1", "UID  FETCH"),
        ("A1", "NO\r\nOP"),
        ("A1", ""),
    ],
)
def test_bad_tag_or_name_rejected(tag: str, name: str) -> None:
    with pytest.raises(ValueError):
        encode_command(tag, name)


@pytest.mark.parametrize(
    ("uids", "expected"),
    [
        ([1], b"1"),
        ([3, 2, 1], b"1:3"),
        ([1, 2, 4, 5, 9], b"1:2,4:5,9"),
        (iter([8, 7, 8]), b"7:8"),
        ("1:*", b"1:*"),
        ("4,7:9,*", b"4,7:9,*"),
    ],
)
def test_seq_set(uids: list[int] | str, expected: bytes) -> None:
    assert seq_set(uids).data == expected


@pytest.mark.parametrize("bad", [[], [0, 1], [-3], "", "1:", "a", "1,,2", "0", "1 2", "1:*\r\n"])
def test_seq_set_rejects(bad: list[int] | str) -> None:
    with pytest.raises(ValueError):
        seq_set(bad)


def test_sasl_helpers_match_the_specification() -> None:
    # The original server's XOAUTH2 example.
    assert sasl_xoauth2("xena@example.com", "goodtoken") == (
        b"dXNlcj14ZW5hQGV4YW1wbGUuY29tAWF1dGg9QmVhcmVyIGdvb2R0b2tlbgEB"
    )
    assert base64.b64decode(sasl_plain("user1", "pass1")) == b"\x00user1\x00pass1"
    # The exact bytes Dovecot accepted as AUTHENTICATE PLAIN for user1/wrong.
    assert sasl_plain("user1", "wrong") == b"AHVzZXIxAHdyb25n"
    with pytest.raises(ValueError):
        sasl_plain("a\x00b", "c")
    with pytest.raises(ValueError):
        sasl_xoauth2("a", "t\x01")


def read_back(arg: Arg) -> bytes:
    """Parse an astring's wire form with the response parser, as an envelope subject."""
    command = encode_command("T", "X", arg)
    value = b"".join(command.chunks)[len(b"T X ") : -2]
    parser = ResponseParser()
    parser.receive_data(
        b"* 1 FETCH (ENVELOPE (NIL " + value + b" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n"
    )
    response = parser.next_response()
    assert isinstance(response, Fetch) and response.envelope is not None
    assert response.envelope.subject is not None
    return response.envelope.subject


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60) | st.text(max_size=30).map(str.encode))
def test_astring_round_trips_through_the_parser(value: bytes) -> None:
    arg = astring(value)
    if value.upper() == b"NIL":
        assert arg.data == value  # sent as the atom NIL, which a *server* would mean as NIL
        return
    assert read_back(arg) == value
