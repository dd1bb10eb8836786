"""Transfer encodings: base64 and quoted-printable, leniently (cut prefixes, junk, no padding)."""

from __future__ import annotations

import pytest

from switchboard.mail.encodings import decode_transfer


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        (b"aGVsbG8=", "BASE64", b"hello"),
        (b"aGVs\r\nbG8=\r\n", "base64", b"hello"),
        (b"aGVsbG8", "base64", b"hello"),  # padding missing
        (b"aGVsbG", "base64", b"hell"),  # cut: the whole bytes only
        (b"aGVsbG8gd", "base64", b"hello "),
        (b"!!", "base64", b""),
        (b"caf=C3=A9 soft=\r\nbreak", "Quoted-Printable", "café softbreak".encode()),
        (b"as is=41", "8bit", b"as is=41"),
        (b"as is", None, b"as is"),
    ],
)
def test_decode_transfer(data: bytes, encoding: str | None, expected: bytes) -> None:
    assert decode_transfer(data, encoding) == expected
