"""Tests for switchboard.mail.utf7: RFC 3501 §5.1.3 examples, strictness, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.mail.utf7 import decode_mailbox, encode_mailbox

CASES = [
    ("INBOX", "INBOX"),
    ("", ""),
    ("&", "&-"),
    ("Tom & Jerry", "Tom &- Jerry"),
    ("Entwürfe", "Entw&APw-rfe"),  # as Dovecot listed the mailbox we created
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 §5.1.3
    ("😀", "&2D3eAA-"),  # astral: a UTF-16 surrogate pair
    ("a\tb", "a&AAk-b"),  # controls are not printable ASCII
    ("ü&ü", "&APw-&-&APw-"),
]


@pytest.mark.parametrize(("name", "raw"), CASES)
def test_encode_and_decode(name: str, raw: str) -> None:
    assert encode_mailbox(name) == raw
    assert decode_mailbox(raw) == name


@pytest.mark.parametrize(
    "raw",
    [
        "&",  # unterminated
        "&U,BTFw",  # unterminated run
        "&AGE-",  # "a" encoded: not canonical
        "&APw-&APw-",  # two adjacent runs should be one
        "&APx-",  # non-zero padding bits
        "&2D0-",  # lone surrogate
        "&A-",  # not a whole UTF-16 unit
        "&AP=-",  # "=" is not modified base64
        "Entwürfe",  # raw 8-bit (a client that sent UTF-8)
        "a\r\nb",
    ],
)
def test_strict_decode_rejects_invalid_input(raw: str) -> None:
    with pytest.raises(ValueError):
        decode_mailbox(raw)
    assert decode_mailbox(raw, strict=False) == raw


def test_encode_rejects_lone_surrogates() -> None:
    with pytest.raises(ValueError):
        encode_mailbox("a\ud800b")


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_round_trip(name: str) -> None:
    raw = encode_mailbox(name)
    assert raw.isascii() and all(" " <= c <= "~" for c in raw)
    assert decode_mailbox(raw) == name
