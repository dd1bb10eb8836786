"""Header blocks and values: fields and unfolding, RFC 2047 words, the raw and decoded texts."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.mail.charsets import decode_text
from switchboard.mail.headers import (
    decode_words,
    decoded_text,
    field_values,
    humanize,
    raw_text,
    split_fields,
)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (b"Subject: hi\r\n\r\n", [(b"Subject", b" hi")]),
        # A folded field: the line break goes, the whitespace after it stays (RFC 5322 §2.2.3).
        (b"Subject: a\r\n\tb\r\n c\r\nTo: x\r\n", [(b"Subject", b" a\tb c"), (b"To", b" x")]),
        (b"X-A :  1 \r\n", [(b"X-A", b"  1 ")]),
        # Not fields: an mbox line, a line without a colon and its continuation, no name.
        (b"From mbox\r\nJunk\r\n cont\r\n: empty\r\nA: 1\r\n", [(b"A", b" 1")]),
        (b" stray continuation\r\nA: 1", [(b"A", b" 1")]),
        (b"A: 1\nB: 2\n", [(b"A", b" 1"), (b"B", b" 2")]),  # bare LF line ends
        (b"A: 1\n\nB: body", [(b"A", b" 1")]),  # the first empty line ends the header
        (b"\r\nA: 1\r\n", []),
        (b"", []),
    ],
)
def test_split_fields(block: bytes, expected: list[tuple[bytes, bytes]]) -> None:
    assert split_fields(block) == expected


def test_field_values_by_lower_case_name_in_order() -> None:
    block = b"Subject: one\r\nSUBJECT: two\r\nFrom: a@b\r\n\r\n"
    assert field_values(block) == {b"subject": [b" one", b" two"], b"from": [b" a@b"]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"  lead  and\ttab\r\n  end  ", b"lead and tab end"),  # as Dovecot's ENVELOPE
        (b"", b""),
        (b" \t ", b""),
        (b"a\xa0b", b"a\xa0b"),  # only ASCII whitespace: 8-bit bytes are text
    ],
)
def test_humanize(value: bytes, expected: bytes) -> None:
    assert humanize(value) == expected


def test_raw_text_is_utf8_with_replacement_and_words_untouched() -> None:
    assert raw_text("Grüße".encode()) == "Grüße"
    assert raw_text(b"Gr\xfc\xdfe") == "Gr\ufffd\ufffde"
    assert raw_text(b"=?utf-8?q?x?=") == "=?utf-8?q?x?="


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"Gr\xfc\xdfe aus K\xf6ln", "Grüße aus Köln"),  # undeclared Latin-1: Windows-1252
        (b"Gr\xc3\xbc\xc3\x9fe \xff", "Grüße ÿ"),  # word by word: one stray byte stays alone
        ("Grüße €".encode(), "Grüße €"),  # undeclared UTF-8
        (b"=?utf-8?q?a__b?=", "a b"),  # whitespace runs inside words: one space as well
        (b"=?utf-8?q?line=0D=0Abreak?=", "line break"),
        (b"  =?utf-8?q?_x_?=  ", "x"),
        (b"=?x-unknown-charset?q?caf=C3=A9?=", "café"),  # an unknown charset: as UTF-8
    ],
)
def test_decoded_text(value: bytes, expected: str) -> None:
    assert decoded_text(value) == expected


@given(st.binary(max_size=200))
def test_decoded_text_never_raises_nor_keeps_whitespace_runs(data: bytes) -> None:
    text = decoded_text(data)
    assert "  " not in text and "\t" not in text and "\n" not in text
    assert text == text.strip(" ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"plain", "plain"),
        (b"=?UTF-8?Q?Bj=C3=B6rn?=", "Björn"),
        (b"=?utf-8?q?a_b?=", "a b"),
        (b"=?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?=", "Ümlaut subject"),
        (b"=?UTF-8?B?w5xtbGF1dCBzdWJqZWN0?=  =?UTF-8?Q?_tail?=", "Ümlaut subject tail"),
        # One character split over two words of the same charset.
        (b"=?UTF-8?B?w4==?= =?UTF-8?B?nA==?=", "Ü"),
        (b"=?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?IOKCrCDDoQ==?= tail", "Café € á tail"),
        (b"x =?UTF-8?Q?=C3=A9?= y", "x é y"),
        (b"=?UTF-8?X?bad?= ok", "=?UTF-8?X?bad?= ok"),
        (b"=?\xff?Q?a?= b", "=?\xff?Q?a?= b"),  # a non-ASCII charset label: not a word
        ("Grüße".encode("latin-1"), "Grüße"),
        ("Grüße", "Grüße"),
    ],
)
def test_decode_words(value: bytes | str, expected: str) -> None:
    assert decode_words(value) == expected


@given(st.binary(max_size=200))
def test_decode_words_never_raises(data: bytes) -> None:
    decode_words(data)
    decode_words(b"=?utf-8?b?" + data + b"?=")


BLOCK_PIECES = st.sampled_from(
    [b"Subject", b"From", b"X-A", b"Bad Name", b":", b": ", b" :", b"\t", b" ", b"value",
     b"\xc3\xa9", b"\r\n", b"\n", b"\r", b"\r\n ", b"\r\n\t", b"\r\n\r\n", b"=?utf-8?q?x?="]
)  # fmt: skip


@given(st.lists(BLOCK_PIECES, max_size=30))
def test_field_values_reads_what_split_fields_reads(pieces: list[bytes]) -> None:
    block = b"".join(pieces)
    expected: dict[bytes, list[bytes]] = {}
    for name, value in split_fields(block):
        expected.setdefault(name.lower(), []).append(value)
    assert field_values(block) == expected


WORD_CHARSETS = st.sampled_from(
    ["utf-8", "UTF-8", "utf8", "iso-8859-1", "koi8-r", "x-unknown", "us-ascii"]
)


@given(WORD_CHARSETS, st.sampled_from(["B", "q"]), st.binary(max_size=30))
def test_a_value_of_one_encoded_word_decodes_as_in_a_longer_value(
    charset: str, kind: str, data: bytes
) -> None:
    # decode_words reads a value that is one encoded-word without its loop: the same text as
    # the loop gives for the same word after a plain one.
    text = (
        base64.b64encode(data)
        if kind == "B"
        else binascii.b2a_qp(data, quotetabs=True, istext=False).replace(b"=\n", b"")
    )
    word = f"=?{charset}?{kind}?".encode() + text.replace(b"?", b"=3F") + b"?="
    assert decode_words(word) == decode_words(b"x " + word)[2:]


@given(st.binary(max_size=40))
def test_utf8_words_decode_as_decode_text_decodes(data: bytes) -> None:
    from switchboard.mail.headers import _decode_declared

    assert _decode_declared(data, "utf-8") == decode_text(data, "utf-8")
    assert _decode_declared(data, "UTF8") == decode_text(data, "UTF8")
