"""The push summary: decoded subject, first sender, date and size from the header bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from switchboard.engine.fetchplan import fetch_items
from switchboard.mail.envelope import ENVELOPE_FIELDS
from switchboard.mail.summary import (
    MAX_FIELD_CHARS,
    SUMMARY_FIELDS,
    SUMMARY_PLAN,
    summarize,
    summary_of,
)
from switchboard.model.events import MessageSummary
from switchboard.model.mail import FetchedMessage


def summary(headers: bytes | None, size: int | None = None) -> MessageSummary:
    return summarize(FetchedMessage(1, size=size, headers=headers))


def test_the_engine_fetches_the_header_fields_read_and_the_size() -> None:
    expected = "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE SUBJECT FROM)])"
    assert fetch_items(SUMMARY_PLAN) == expected
    # Those getMessages reads for date, subject and from: the same bytes for both.
    assert set(SUMMARY_FIELDS) <= set(ENVELOPE_FIELDS)


def test_rfc2047_subject_is_decoded() -> None:
    subject = b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?b?S/Zsbg==?=\r\n\r\n"
    assert summary(subject).subject == "Grüße aus Köln"


def test_eight_bit_is_utf8_else_windows_1252_and_broken_words_never_fail() -> None:
    assert summary("Subject: Grüße\r\n\r\n".encode()).subject == "Grüße"
    assert summary(b"Subject: caf\xe9 \x80\r\n\r\n").subject == "café €"
    assert summary(b"Subject: =?x-unknown-charset?q?abc?=\r\n\r\n").subject == "abc"
    assert summary(b"Subject: =?utf-8?b?!!!?=\r\n\r\n").subject is not None


def test_whitespace_folded_and_length_bounded() -> None:
    assert summary(b"Subject: a\r\n  b\tc\r\n\r\n").subject == "a b c"
    long = summary(b"Subject: " + b"x" * 5000 + b"\r\nDate: " + b"d" * 5000 + b"\r\n\r\n")
    assert long.subject is not None and len(long.subject) == MAX_FIELD_CHARS
    assert long.date is not None and len(long.date) == MAX_FIELD_CHARS


def test_the_first_sender_formatted() -> None:
    block = b"From: =?utf-8?q?J=C3=B6rg?= <j@example.de>, bob@example.com\r\n\r\n"
    assert summary(block).from_ == "Jörg <j@example.de>"
    assert summary(b"From: bob@example.com\r\n\r\n").from_ == "bob@example.com"
    # A group's name is no sender: its first member is.
    block = b"From: undisclosed:;, Ann <ann@x.org>\r\n\r\n"
    assert summary(block).from_ == "Ann <ann@x.org>"


def test_summarize_full_and_partial() -> None:
    block = (
        b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nSubject: Hello\r\n"
        b"From: Ann <ann@x.org>\r\n\r\n"
    )
    assert summary(block, 1234) == MessageSummary(
        subject="Hello", from_="Ann <ann@x.org>", date="Mon, 1 Jan 2024 10:00:00 +0000", size=1234
    )
    assert summary(b"\r\n") == MessageSummary()  # a message without these fields
    assert summary(None, 9) == MessageSummary(size=9)  # the server sent no header fields


TYPICAL_VALUES = st.sampled_from(
    [b"", b" ", b" Message 1", b"  two  spaces\t", b" =?utf-8?q?Gr=C3=BC=C3=9Fe?=", b" caf\xe9",
     b" Sender <s@example.com>", b' "Quoted, Name" <q@x.y>', b" a@b.c, d@e.f", b" undisclosed:;",
     b" bob", b" <>", b" Ann (comment) <a@x>", b" Mon, 01 Jan 2024 00:00:00 +0000 ",
     b" =?utf-8?q?J=C3=B6rg?= <j@x.de>", b" x@y (Name)", b"\xff\xfe", b" a@b, bob",
     b' "x, y" <q@z>', b" , a@b", b" bob, a@b", b" <a@b> junk, c@d"]
)  # fmt: skip
TYPICAL_NAMES = st.sampled_from([b"Date", b"DATE", b"Subject", b"subject", b"From", b"FROM "])


@given(st.lists(st.tuples(TYPICAL_NAMES, TYPICAL_VALUES), min_size=1, max_size=3))
def test_the_typical_block_reads_as_any_block(fields: list[tuple[bytes, bytes]]) -> None:
    from switchboard.mail.summary import _general_summary

    block = b"".join(name + b":" + value + b"\r\n" for name, value in fields) + b"\r\n"
    assert summary_of(block, 7) == _general_summary(block, 7)


# Pieces of header values, to build blocks the fast path takes and blocks it must leave to the
# exact path: RFC 2047 words, 8-bit bytes (UTF-8 and not), folding, bare CR and LF, groups,
# quoted names (with commas, escapes), comments, simple and odd addresses, whitespace runs.
PIECES = st.sampled_from(
    [b"a", b"Message 17", b" ", b"  ", b"\t", b"x@y.z", b"<a@b.c>", b"Ann", b'"Doe, John"',
     b'"q\\"x"', b'""', b"(comment)", b"(nested (c))", b",", b";", b":", b"undisclosed:;",
     b"<>", b"@", b".",
     b"=?utf-8?q?Gr=C3=BC=C3=9Fe?=", b"=?UTF-8?B?w4==?=", b"=?iso-8859-1?q?caf=E9?=", b"=?x?q?a?=",
     b"=?utf-8?b?!!!?=", b"=?", b"?=", "J\u00f6rg".encode(), "\u20ac".encode(), b"caf\xe9", b"\xff",
     b"\xc3", b"\r\n ", b"\r\n\t", b"\r", b"\n", b"[1.2.3.4]", b"<@r,@s:a@b>", b"\\", b"\x0b",
     "K\u212a".encode(), "\u017f".encode(), b"Mon, 01 Jan 2024 00:00:00 +0000"]
)  # fmt: skip
VALUES = st.lists(PIECES, max_size=6).map(b"".join)
NAMES = st.sampled_from(
    [b"Date", b"DATE", b"date", b"Subject", b"SUBJECT", b"From", b"from", b"FROM ", b"From\t",
     b"To", b"X-Other", b" From", b""]
)  # fmt: skip
# Senders the fast path reads in its own match, with odd neighbours.
SENDERS = st.tuples(
    st.sampled_from(
        [b"", b" ", b"\t", b'"', b"=?utf-8?q?J=C3=B6rg?= ", b"Ann  Lee", "Zo\u00eb".encode()]
    ),
    st.sampled_from([b"Ann", b'"Ann"', b'"A, B"', b"", b"A.B", b'"a\tb"', b"\xe9"]),
    st.sampled_from([b" <a@b.c>", b"<a@b.c>", b" a@b.c", b"a@b.c (Ann)", b" <a@b.c", b"<a@b@c>"]),
    st.sampled_from([b"", b" ", b"\t", b",", b", c@d", b" x"]),
).map(b"".join)


# The three fields, each at most once, in any order and any case: the blocks the fast path is for.
TYPICAL_FIELDS = st.permutations([b"date", b"subject", b"from"]).flatmap(
    lambda names: st.integers(0, 3).flatmap(
        lambda count: st.tuples(
            *(
                st.tuples(
                    st.sampled_from([name, name.upper(), name.capitalize(), name + b" "]),
                    SENDERS if name == b"from" else VALUES,
                )
                for name in names[:count]
            )
        )
    )
)


@given(TYPICAL_FIELDS)
def test_the_fast_path_reads_as_the_exact_path(fields: tuple[tuple[bytes, bytes], ...]) -> None:
    from switchboard.mail.summary import _general_summary

    block = b"".join(name + b":" + value + b"\r\n" for name, value in fields) + b"\r\n"
    assert summary_of(block, 7) == _general_summary(block, 7)


@given(
    st.lists(st.tuples(NAMES, st.one_of(VALUES, SENDERS)), max_size=4),
    st.sampled_from([b"\r\n", b"\n", b"", b"\r\nBody: x\r\n"]),
)
def test_any_block_reads_as_the_exact_path(fields: list[tuple[bytes, bytes]], end: bytes) -> None:
    from switchboard.mail.summary import _general_summary

    block = b"".join(name + b":" + value + b"\r\n" for name, value in fields) + end
    assert summary_of(block, 7) == _general_summary(block, 7)


@given(st.binary(max_size=200))
def test_any_bytes_read_as_the_exact_path(block: bytes) -> None:
    from switchboard.mail.summary import _general_summary

    assert summary_of(block, None) == _general_summary(block, None)
