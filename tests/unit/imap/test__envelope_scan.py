"""Tests for switchboard.imap._envelope_scan against the generic path (the parser's own)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.imap._envelope_scan import read_envelope, read_envelope_across
from switchboard.imap._fetch import parse_envelope
from switchboard.imap._values import Reader
from switchboard.imap.responses import Address


def generic(text: bytes, *literals: bytes) -> object:
    lines = text.split(b"\r\n")
    return parse_envelope(Reader(lines, list(literals)).value())


USUAL = [
    b'("Mon, 1 Jan 2024 10:00:00 +0000" "Hi" (("Ann" NIL "ann" "a.example")) '
    b'(("Ann" NIL "ann" "a.example")) (("Ann" NIL "ann" "a.example")) '
    b'((NIL NIL "bob" "b.example")(NIL NIL "cy" "c.example")) NIL NIL NIL "<1@a>")',
    # Group syntax, an empty string, several lists with a space between the addresses.
    b'(NIL "" NIL NIL NIL ((NIL NIL "team" NIL) (NIL NIL "a" "x")(NIL NIL NIL NIL)) NIL NIL '
    b'"<0@x>" NIL)',
    # Escapes, in a subject and in a name.
    b'(NIL "say \\"hi\\" \\\\ bye" (("A \\"B\\"" NIL "a" "x")) NIL NIL NIL NIL NIL NIL NIL)',
]


@pytest.mark.parametrize("text", USUAL)
def test_usual_envelopes_read_as_the_generic_path_reads_them(text: bytes) -> None:
    read = read_envelope(text + b" UID 1", 0)
    assert read is not None
    envelope, end = read
    assert end == len(text)
    assert envelope == generic(text)


@pytest.mark.parametrize(
    "text",
    [
        b'(nil NIL NIL NIL NIL NIL NIL NIL NIL NIL)',  # lower-case NIL
        b'(NIL NIL () NIL NIL NIL NIL NIL NIL NIL)',  # () is read as NIL by the generic path
        b'(NIL NIL NIL NIL NIL NIL NIL NIL NIL)',  # nine fields
        b'(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)',  # eleven
        b'(NIL  NIL NIL NIL NIL NIL NIL NIL NIL NIL)',  # two spaces
        b'(atom NIL NIL NIL NIL NIL NIL NIL NIL NIL)',
        b'(NIL NIL ((NIL NIL "a")) NIL NIL NIL NIL NIL NIL NIL)',  # three-field address
    ],
)
def test_other_spellings_are_left_to_the_generic_path(text: bytes) -> None:
    assert read_envelope(text, 0) is None


def test_address_lists_read_once_are_shared() -> None:
    text = USUAL[0]
    first, _ = read_envelope(text, 0)  # type: ignore[misc]
    second, _ = read_envelope(text, 0)  # type: ignore[misc]
    assert first.from_ is first.sender is second.from_
    assert first.from_ == (Address(b"Ann", None, b"ann", b"a.example"),)


def test_literal_strings_are_read_across_lines() -> None:
    subject, name = "Grüße".encode(), b'say "x"'
    lines = [b"* 1 FETCH (ENVELOPE (NIL {%d}" % len(subject), b" (({%d}" % len(name),
             b' NIL "j" "x.de")) NIL NIL NIL NIL NIL NIL NIL) UID 7)']
    read = read_envelope_across(lines, [subject, name], 0, lines[0].index(b"(", 11))
    # The name holds a quote: not written in place, so the generic path must read it.
    assert read is None
    lines[1] = b" (({5}"
    read = read_envelope_across(lines, [subject, b"J\xc3\xb6rg"], 0, lines[0].index(b"(", 11))
    assert read is not None
    envelope, k, pos = read
    assert (k, lines[k][pos:]) == (2, b" UID 7)")
    assert envelope.subject == subject
    assert envelope.from_ == (Address(b"J\xc3\xb6rg", None, b"j", b"x.de"),)


ACROSS_LINES = [
    b'* 1 FETCH (ENVELOPE (NIL {5}',
    b' (({4}',
    b' NIL "j" "x.de")) NIL NIL NIL NIL NIL NIL NIL) BODY[] {%d}',
    b" UID 7)",
]


@pytest.mark.parametrize(
    "body",
    [
        b"hello",  # short and plain: written in place too, the envelope ends before it
        b'say "hi"',  # a quote: the text stops before it
        b"x" * 5000,  # too long to be copied
    ],
)
def test_an_envelope_read_across_lines_ends_before_a_later_literal(body: bytes) -> None:
    lines = [*ACROSS_LINES]
    lines[2] %= len(body)
    literals = ["Grüße".encode()[:5], b"J\xc3\xb6r", body]
    start = lines[0].index(b"(", 11)
    read = read_envelope_across(lines, literals, 0, start)
    assert read is not None
    envelope, k, pos = read
    assert (k, lines[k][pos:]) == (2, b" BODY[] {%d}" % len(body))
    text = b"\r\n".join(lines)[len(lines[0][:start]) :]
    assert envelope == generic(text, *literals)
    assert envelope.from_ == (Address(b"J\xc3\xb6r", None, b"j", b"x.de"),)


def test_an_envelope_that_goes_on_past_an_uncopied_literal_is_left_to_the_generic_path() -> None:
    lines = [b"* 1 FETCH (ENVELOPE (NIL {8}", b' (({4}', b' NIL "j" "x.de")) NIL NIL NIL NIL NIL)']
    # The subject holds a quote: the text stops there, before the envelope's end.
    assert read_envelope_across(lines, [b'say "x"!', b"J\xc3\xb6r"], 0, 20) is None


# Bytes a quoted string holds as they are (a framed line holds no CR or LF).
QUOTABLE = st.binary(max_size=6).map(lambda b: b.translate(None, b'"\\\r\n'))
NSTRINGS = st.one_of(st.just(b"NIL"), QUOTABLE.map(lambda b: b'"' + b + b'"'))
ADDRESSES = st.lists(
    st.lists(NSTRINGS, min_size=4, max_size=4).map(lambda f: b"(" + b" ".join(f) + b")"),
    min_size=1,
    max_size=3,
).map(lambda a: b"(" + b"".join(a) + b")")
ENVELOPES = st.tuples(
    st.lists(NSTRINGS, min_size=2, max_size=2),
    st.lists(st.one_of(st.just(b"NIL"), ADDRESSES), min_size=6, max_size=6),
    st.lists(NSTRINGS, min_size=2, max_size=2),
).map(lambda t: b"(" + b" ".join(t[0] + t[1] + t[2]) + b")")


@given(text=ENVELOPES, after=st.sampled_from([b")", b" FLAGS (\\Seen))", b' BODY[] "a\\"b")']))
def test_envelopes_without_escapes_read_alike_whatever_follows(text: bytes, after: bytes) -> None:
    # Without a backslash after the envelope's start a pattern without the escape loop reads
    # it; with one (in a later item) the escape-aware pattern does. Both as the generic path.
    read = read_envelope(b"ENVELOPE " + text + after, 9)
    assert read is not None
    envelope, end = read
    assert end == 9 + len(text)
    assert envelope == generic(text)
