"""Decode mail text: declared charsets by their labels, undeclared 8-bit text by one rule.

How it works:

* **Undeclared 8-bit text** (header values, parts without a charset) is UTF-8 when it is valid
  UTF-8, else Windows-1252: :func:`decode_lossless`. Windows-1252 leaves five bytes undefined
  (0x81, 0x8D, 0x8F, 0x90, 0x9D); those become the Latin-1 character of the same value, as
  browsers do (WHATWG encoding standard), so every byte gives a character and none is lost.
  Real mail's stray 8-bit bytes are UTF-8 or a Western Windows/ISO charset far more often than
  anything else, and a wrong guess between those two still shows every letter of the other.
* **Declared charsets**: :func:`decode_text` decodes with the charset a part or an RFC 2047 word
  declares. Labels that name a superset or what mail clients really mean are mapped to it
  (ISO-8859-1 mail is routinely Windows-1252, GB2312 mail GBK/GB18030). An unknown charset
  decodes as UTF-8 with U+FFFD; ``us-ascii``, which Dovecot reports for every part that declares
  nothing, counts as undeclared.
"""

from __future__ import annotations

import codecs
from typing import Final

__all__ = ["codec_name", "decode_lossless", "decode_raw", "decode_text"]

# The five bytes Python's cp1252 leaves undefined; surrogateescape turns byte b into U+DC00+b,
# and this table maps those back to the Latin-1 character b (WHATWG encoding standard).
_CP1252_HOLES: Final = {0xDC00 + b: b for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}

# Labels that name a superset or the encoding mail clients really mean (WHATWG encoding
# standard); "" stands for "undeclared: guess".
_CHARSET_ALIASES: Final = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "",
    "ascii": "",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "x-unknown": "",
    "unknown-8bit": "",
}


def decode_lossless(data: bytes) -> str:
    """Decode 8-bit text of unknown charset: UTF-8 when valid, else Windows-1252, losing nothing.

    Every byte sequence decodes; no U+FFFD is ever produced.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "surrogateescape").translate(_CP1252_HOLES)


def decode_raw(data: bytes) -> str:
    """Decode a whole message or MIME body (``raw``, ``textBody``) without losing characters.

    Valid UTF-8 (every 7-bit message among them) decodes unchanged. Invalid UTF-8 is decoded line
    by line with :func:`decode_lossless`, so a message whose headers are UTF-8 and whose one
    8-bit part is Latin-1 keeps both readable. The result is not guaranteed to re-encode to the
    same bytes; it is for reading.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(decode_lossless(line) for line in data.splitlines(keepends=True))


def codec_name(charset: str | None) -> str:
    """The Python codec for a MIME charset label, or ``""`` for "undeclared: guess".

    An unknown label, or one naming a codec that is not a text encoding (base64, zlib…),
    gives ``"utf-8"``.
    """
    if charset is None:
        return ""
    label = charset.strip().strip('"').lower()
    # RFC 2231 §5 allows a language suffix: "utf-8*en".
    label = label.split("*", 1)[0]
    label = _CHARSET_ALIASES.get(label, label)
    if not label:
        return ""
    try:
        name = codecs.lookup(label).name
        # Codecs that are not text encodings (base64, zlib, rot13…) raise LookupError here,
        # and idna and undefined UnicodeError; a charset label must never select one. (Empty
        # input would skip the check.)
        b"x".decode(name, "replace")
    except (LookupError, UnicodeError):
        return "utf-8"
    return name


_BOMLESS: Final = {"utf-16": "utf-16-be", "utf-32": "utf-32-be"}
"""What UTF-16 and UTF-32 text without a byte order mark is read as."""


def decode_text(data: bytes, charset: str | None, *, final: bool = True) -> str:
    """Decode a text part's bytes (or an RFC 2047 word's) with its declared charset.

    Args:
        data: the bytes, transfer encoding already undone.
        charset: the ``charset`` parameter as sent, or ``None`` when there is none.
        final: ``False`` when ``data`` is a prefix of the part, so a multibyte character cut
            at the end is dropped instead of becoming U+FFFD.

    An unknown charset decodes as UTF-8 with U+FFFD for invalid bytes; an undeclared or
    ``us-ascii`` one as :func:`decode_lossless` (8-bit bytes under ``us-ascii`` are a common
    mislabel, and Dovecot reports ``us-ascii`` for parts that declare nothing).
    """
    name = codec_name(charset)
    if not name:
        if final:
            return decode_lossless(data)
        try:
            return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
        except UnicodeDecodeError:
            return decode_lossless(data)
    # codec_name only returns names codecs.lookup accepted, so this lookup cannot fail.
    decoder = codecs.getincrementaldecoder(name)(errors="replace")
    try:
        return decoder.decode(data, final=final)
    except UnicodeError:
        # A few codecs raise even with errors="replace": UTF-16 and UTF-32 without a byte
        # order mark (RFC 2781 §4.3: read as big-endian), idna, punycode, undefined. A crafted
        # charset label must not make a message undecodable.
        bomless = _BOMLESS.get(name)
        if bomless is None:
            return decode_lossless(data)
        return codecs.getincrementaldecoder(bomless)(errors="replace").decode(data, final=final)
