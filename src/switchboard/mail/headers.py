"""Header blocks and header values: fields, unfolding, RFC 2047 words, raw and decoded text.

How it works:

* **Fields.** :func:`split_fields` cuts a header block into ``(name, value)`` pairs in message
  order. A line that starts with a space or a tab continues the field before it: the line break
  is removed and the whitespace kept (unfolding, RFC 5322 §2.2.3). Lines that are not
  ``name: value`` (an mbox ``From`` line, junk) are skipped with their continuations.
* **Two texts per value.** Every header value the wire shows comes in two forms:

  - :func:`raw_text`, the bytes as the original server sent them: UTF-8, each invalid byte
    U+FFFD, RFC 2047 words untouched (``subject``, ``date``, an address's ``name``);
  - :func:`decoded_text`, for people: RFC 2047 encoded-words decoded (:func:`decode_words`),
    text outside them decoded word by word as UTF-8, else Windows-1252
    (:func:`~switchboard.mail.charsets.decode_lossless`), then whitespace runs made one space
    (``subjectDecoded``, ``decodedName`` and the push summary — one function, so they never
    differ).
* **Whitespace** of a subject or a display name is *humanized* before either form is made: the
  value unfolded, each run of spaces, tabs and line breaks made one space, both ends trimmed
  (:func:`humanize`). That is what an IMAP server's ENVELOPE gives (Dovecot does exactly this),
  so reading the header bytes instead changes none of today's values.
"""

from __future__ import annotations

import binascii
import re
from typing import Final

from switchboard.mail.charsets import codec_name, decode_lossless, decode_text
from switchboard.mail.encodings import lenient_base64

__all__ = [
    "decode_words",
    "decoded_text",
    "field_values",
    "humanize",
    "raw_text",
    "split_fields",
]

_ENCODED_WORD: Final = re.compile(rb"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")
_BETWEEN_WORDS: Final = re.compile(rb"[ \t\r\n]+")
_WHITESPACE_RUN: Final = re.compile(rb"[ \t\r\n]+")
_WHITESPACE_SPLIT: Final = re.compile(rb"([ \t\r\n]+)")
_TEXT_WHITESPACE_RUN: Final = re.compile(r"[ \t\r\n]+")
_WSP: Final = b" \t\r\n"


def split_fields(block: bytes) -> list[tuple[bytes, bytes]]:
    """The fields of a header block, in order: ``(name, value)``, the value unfolded.

    The name is as sent, without trailing whitespace; the value is everything after the colon,
    line breaks of folded lines removed, nothing else changed (leading space included). The
    header ends at the first empty line (RFC 5322 §2.1): what follows is body.
    """
    groups: list[list[bytes]] = []
    for line in block.splitlines():
        if line[:1] in (b" ", b"\t"):
            if groups:
                groups[-1].append(line)  # a folded continuation (RFC 5322 §2.2.3)
        elif line:
            groups.append([line])
        else:
            break
    out: list[tuple[bytes, bytes]] = []
    for lines in groups:
        name, colon, value = (lines[0] if len(lines) == 1 else b"".join(lines)).partition(b":")
        name = name.rstrip()
        if not colon or not name or b" " in name:
            continue  # not a header field (e.g. an mbox "From " line)
        out.append((name, value))
    return out


def field_values(block: bytes) -> dict[bytes, list[bytes]]:
    """Each field's values by lower-cased name, in message order (see :func:`split_fields`)."""
    found: dict[bytes, list[bytes]] = {}
    crlf = block.count(b"\r\n")
    if (
        block.count(b"\r") != crlf
        or block.count(b"\n") != crlf
        or b"\n " in block
        or b"\n\t" in block
        or block.startswith((b" ", b"\t"))
    ):
        # A bare CR or LF, a folded line (or a stray continuation): the general reading.
        for name, value in split_fields(block):
            found.setdefault(name.lower(), []).append(value)
        return found
    # What IMAP servers send: CRLF lines, none folded. One field per line up to the empty line
    # that ends the header; the same fields as split_fields.
    for line in block.split(b"\r\n"):
        if not line:
            break
        name, colon, value = line.partition(b":")
        name = name.rstrip()
        if not colon or not name or b" " in name:
            continue
        key = name.lower()
        values = found.get(key)
        if values is None:
            found[key] = [value]
        else:
            values.append(value)
    return found


def humanize(value: bytes) -> bytes:
    """Unfold, make each run of spaces, tabs and line breaks one space, trim both ends."""
    if b"  " in value or b"\t" in value or b"\r" in value or b"\n" in value:
        value = _WHITESPACE_RUN.sub(b" ", value)
    return value.strip(_WSP)


def raw_text(value: bytes) -> str:
    """A header value as the original server sent it: UTF-8, each invalid byte U+FFFD."""
    return value.decode("utf-8", "replace")


def decoded_text(value: bytes) -> str:
    """A header value for people: RFC 2047 and 8-bit text decoded, whitespace runs one space.

    The one decoding of subjects and display names, for ``getMessages`` and push summaries alike.
    """
    if b"=?" in value:
        text = decode_words(value)
    else:
        try:
            text = value.decode("utf-8")  # the common case, without the calls of decode_words
        except UnicodeDecodeError:
            text = _undeclared(value)
    if "  " in text or "\t" in text or "\r" in text or "\n" in text:
        text = _TEXT_WHITESPACE_RUN.sub(" ", text)
    return text.strip(" \t\r\n")


def _undeclared(text: bytes) -> str:
    """Text outside encoded-words: each word UTF-8 when valid, else Windows-1252.

    Word by word, so one stray byte (a Latin-1 ``ÿ`` after UTF-8 words, a truncated character)
    changes only its own word.
    """
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(decode_lossless(piece) for piece in _WHITESPACE_SPLIT.split(text))


# codec_name of the labels seen (a handful in practice; emptied if mail brings too many): it
# looks the codec up and tries it each time.
_CODECS: dict[str, str] = {}


def _codec(label: str) -> str:
    name = _CODECS.get(label)
    if name is None:
        if len(_CODECS) >= 256:
            _CODECS.clear()
        name = _CODECS[label] = codec_name(label)
    return name


def _decode_declared(data: bytes, label: str) -> str:
    """``decode_text(data, label)``; UTF-8, nearly every word's charset, without its calls."""
    if _codec(label) == "utf-8":
        # What decode_text's incremental decoder gives with final=True (the same C decoder).
        return data.decode("utf-8", "replace")
    return decode_text(data, label)


def _decode_word(charset: bytes, kind: bytes, text: bytes) -> tuple[str, bytes] | None:
    """Bytes of one encoded-word and its charset label, or ``None`` if it is malformed."""
    try:
        label = charset.decode("ascii")
    except UnicodeDecodeError:
        return None
    if kind in (b"B", b"b"):
        return label, lenient_base64(text)
    # RFC 2047 §4.2: in the Q encoding "_" stands for a space.
    return label, binascii.a2b_qp(text.replace(b"_", b" "))


def decode_words(value: bytes | str) -> str:
    """Decode the RFC 2047 encoded-words of a header value (subject, display name, filename).

    Whitespace between two adjacent encoded-words is dropped (RFC 2047 §6.2). Adjacent words in
    the same charset are joined before decoding, so a multibyte character split across two
    words survives. Text outside encoded-words is decoded word by word as UTF-8, else
    Windows-1252 (:func:`~switchboard.mail.charsets.decode_lossless`). Malformed words are kept
    as they are. Whitespace is otherwise kept. Never raises.
    """
    raw = value.encode("utf-8") if isinstance(value, str) else value
    if raw.find(b"=?") < 0:  # find: a bytes' "in" first tries its argument as an int
        return _undeclared(raw)
    whole = _ENCODED_WORD.fullmatch(raw)
    if whole is not None:
        # One encoded-word and nothing else (a subject or a name encoded whole, the usual
        # case): what the loop below gives for it, without the loop.
        word = _decode_word(whole.group(1), whole.group(2), whole.group(3))
        if word is not None:
            return _decode_declared(word[1], word[0])
    out: list[str] = []
    pending_label: str | None = None
    pending: bytearray = bytearray()
    position = 0

    def flush() -> None:
        nonlocal pending_label
        if pending_label is not None:
            out.append(_decode_declared(bytes(pending), pending_label))
            pending.clear()
            pending_label = None

    for match in _ENCODED_WORD.finditer(raw):
        gap = raw[position : match.start()]
        word = _decode_word(match.group(1), match.group(2), match.group(3))
        if word is None:
            continue  # leave the malformed word in the literal text
        if not (pending_label is not None and _BETWEEN_WORDS.fullmatch(gap)):
            flush()
            out.append(_undeclared(gap))
        label, data = word
        if pending_label is not None and _codec(label) != _codec(pending_label):
            flush()
        pending_label = label
        pending += data
        position = match.end()
    flush()
    out.append(_undeclared(raw[position:]))
    return "".join(out)
