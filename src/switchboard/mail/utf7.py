"""Convert mailbox names between Unicode and IMAP's modified UTF-7 (RFC 3501 §5.1.3).

Printable ASCII (0x20-0x7e) stands for itself, except ``&``, written ``&-``. Any other run of
characters is written ``&`` + modified base64 of its UTF-16BE form (``,`` instead of ``/``,
no ``=`` padding) + ``-``; characters beyond the BMP become surrogate pairs.

:func:`decode_mailbox` is strict by default: it accepts only the one canonical encoding of a
name, so ``encode_mailbox(decode_mailbox(raw)) == raw`` always holds. Servers do send invalid
names (raw UTF-8 from broken clients); ``strict=False`` then returns the input unchanged,
which keeps such a mailbox usable because the raw form is what commands must send back.

Nothing here imports asyncio, socket, ssl, threading or time.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["decode_mailbox", "encode_mailbox"]

# "&" + modified base64 + "-", or a run of printable ASCII other than "&".
_TOKEN = re.compile(r"&([A-Za-z0-9+,]*)-|[\x20-\x25\x27-\x7e]+")


def encode_mailbox(name: str) -> str:
    """Encode a mailbox name to modified UTF-7.

    Raises:
        ValueError: ``name`` contains a lone surrogate (not encodable as UTF-16).
    """
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            try:
                utf16 = "".join(pending).encode("utf-16-be")
            except UnicodeEncodeError as exc:
                raise ValueError(f"mailbox name holds a lone surrogate: {name!r}") from exc
            b64 = base64.b64encode(utf16).rstrip(b"=").replace(b"/", b",")
            out.append("&" + b64.decode("ascii") + "-")
            pending.clear()

    for char in name:
        if "\x20" <= char <= "\x7e":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_mailbox(raw: str, *, strict: bool = True) -> str:
    """Decode a modified UTF-7 mailbox name.

    Args:
        raw: the name as the server sent it.
        strict: raise on invalid input; when false, return ``raw`` unchanged instead.

    Returns:
        The Unicode name.

    Raises:
        ValueError: (strict only) ``raw`` is not the canonical modified UTF-7 of any name:
            a character outside printable ASCII, an unterminated or malformed ``&`` run,
            invalid UTF-16, or a non-canonical form (such as ``&AGE-`` for ``a``).
    """
    try:
        return _decode(raw)
    except ValueError:
        if strict:
            raise
        return raw


def _decode(raw: str) -> str:
    out: list[str] = []
    pos = 0
    while pos < len(raw):
        match = _TOKEN.match(raw, pos)
        if match is None:
            raise ValueError(f"invalid modified UTF-7 at offset {pos}: {raw!r}")
        pos = match.end()
        b64 = match[1]
        if b64 is None:
            out.append(match[0])
        elif not b64:
            out.append("&")
        else:
            padded = b64.replace(",", "/") + "=" * (-len(b64) % 4)
            try:
                utf16 = base64.b64decode(padded, validate=True)
                out.append(utf16.decode("utf-16-be"))
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise ValueError(f"invalid modified UTF-7 run &{b64}- in {raw!r}") from exc
    name = "".join(out)
    # Only the canonical form round-trips: rejects padding bits, ASCII inside a base64 run,
    # and two adjacent runs that should have been one.
    if encode_mailbox(name) != raw:
        raise ValueError(f"non-canonical modified UTF-7: {raw!r}")
    return name
