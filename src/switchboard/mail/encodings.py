"""Undo content transfer encodings (RFC 2045 §6): base64 and quoted-printable, leniently.

Lenient because real mail breaks the rules and because a ``preview`` reads only a prefix of a
part, which may end in the middle of a base64 quantum or of a ``=XX`` escape: nothing here ever
raises for any input.
"""

from __future__ import annotations

import binascii
import re
from typing import Final

__all__ = ["decode_transfer", "lenient_base64"]

_BASE64_JUNK: Final = re.compile(rb"[^A-Za-z0-9+/]")


def lenient_base64(data: bytes) -> bytes:
    """Decode base64 that may hold junk, lack padding, or be cut anywhere (a prefix fetch).

    Characters outside the alphabet are skipped and padding is added back, so a complete
    quantum decodes the same and a cut one still gives its leading whole bytes.
    """
    clean = _BASE64_JUNK.sub(b"", data)
    if len(clean) % 4 == 1:
        clean = clean[:-1]  # six bits cannot make a byte
    clean += b"=" * (-len(clean) % 4)
    return binascii.a2b_base64(clean)


def decode_transfer(data: bytes, encoding: str | None) -> bytes:
    """Undo a Content-Transfer-Encoding; 7bit, 8bit, binary and unknown ones pass through.

    Base64 is decoded with :func:`lenient_base64`; quoted-printable with the standard library,
    which keeps a malformed escape as it is.
    """
    kind = (encoding or "").strip().lower()
    if kind == "base64":
        return lenient_base64(data)
    if kind == "quoted-printable":
        return binascii.a2b_qp(data)
    return data
