"""Charsets: undeclared 8-bit text (UTF-8, else Windows-1252), declared labels, prefixes."""

from __future__ import annotations

import encodings.aliases

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.mail import charsets
from switchboard.mail.charsets import decode_text
from switchboard.mail.summary import summary_of


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"plain ascii", "plain ascii"),
        ("Grüße €".encode(), "Grüße €"),
        ("Grüße".encode("latin-1"), "Grüße"),
        (b"\x80 \x97 \x9f", "€ — Ÿ"),  # Windows-1252, not C1 controls
        (b"\x81\x8d\x8f\x90\x9d", "\x81\x8d\x8f\x90\x9d"),  # cp1252 holes keep their byte
    ],
)
def test_decode_lossless(data: bytes, expected: str) -> None:
    assert charsets.decode_lossless(data) == expected


@given(st.binary(max_size=200))
def test_decode_lossless_never_loses_a_byte(data: bytes) -> None:
    text = charsets.decode_lossless(data)
    assert "\ufffd" not in text or "\ufffd".encode() in data
    assert len(text) >= len(data.decode("utf-8", "replace").replace("\ufffd", ""))


def test_decode_raw_by_line() -> None:
    data = "utf-8 é\r\n".encode() + "latin-1 é\r\n".encode("latin-1")
    assert charsets.decode_raw(data) == "utf-8 é\r\nlatin-1 é\r\n"
    assert charsets.decode_raw(b"ok\r\n") == "ok\r\n"


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        ("é".encode("latin-1"), "ISO-8859-1", "é"),
        (b"\x80", "iso-8859-1", "€"),  # ISO-8859-1 mail is Windows-1252 in practice
        ("ж".encode("koi8-r"), "koi8-r", "ж"),
        ("é".encode(), '"UTF-8"', "é"),
        ("é".encode(), "utf-8*fr", "é"),  # RFC 2231 language suffix
        ("é".encode("latin-1"), "us-ascii", "é"),  # mislabelled 8-bit text
        ("é".encode(), None, "é"),
        ("é".encode("latin-1"), None, "é"),
        ("中".encode("gb18030"), "gb2312", "中"),
        (b"caf\xc3\xa9", "x-no-such-charset", "café"),
        (b"caf\xe9", "x-no-such-charset", "caf\ufffd"),
        (b"abc", "base64", "abc"),  # a codec that is not a text encoding is unknown
    ],
)
def test_decode_text(data: bytes, charset: str | None, expected: str) -> None:
    assert charsets.decode_text(data, charset) == expected


@pytest.mark.parametrize("charset", ["utf-8", None])
def test_decode_text_prefix_drops_a_cut_character(charset: str | None) -> None:
    assert charsets.decode_text("aé".encode()[:-1], charset, final=False) == "a"


def test_decode_text_prefix_of_undeclared_latin1() -> None:
    assert charsets.decode_text("é!".encode("latin-1"), None, final=False) == "é!"


# Every label Python knows, including codecs that raise even with errors="replace".
_ALL_LABELS = sorted(
    set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values())
    | {"utf-16", "utf-32", "idna", "punycode", "undefined", "rot13", "base64", "utf-8-sig"}
)


@pytest.mark.parametrize("label", _ALL_LABELS)
def test_no_charset_label_makes_bytes_undecodable(label: str) -> None:
    for data in (b"\x00\x00", b"\xff", b"AAA=", b"\x1b$B", b"+AGE-", b"\xfe\xff\xd8\x00", b"abc"):
        for final in (True, False):
            assert isinstance(decode_text(data, label, final=final), str)


def test_utf16_and_utf32_without_a_byte_order_mark_read_as_big_endian() -> None:
    assert decode_text("Grüße".encode("utf-16-be"), "utf-16") == "Grüße"
    assert decode_text("Grüße".encode("utf-32-be"), "UTF-32") == "Grüße"
    assert decode_text("Grüße".encode("utf-16"), "utf-16") == "Grüße"  # with its mark


def test_a_crafted_subject_charset_still_gives_a_summary() -> None:
    summary = summary_of(b"Subject: =?utf-16?B?AAA=?=\r\n\r\n", 1)
    assert summary.subject is not None
