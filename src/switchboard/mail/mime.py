"""Turn MIME bytes and BODYSTRUCTURE trees into text: charsets, transfer encodings, part choice.

This is the pure helper behind ``server.messages`` (``getMessages`` rendering). It never does
I/O; every function takes bytes or :class:`~switchboard.imap.responses.BodyPart` trees and
returns ``str`` or plain values.

How it works:

* **Charsets.** :func:`decode_text` decodes with the declared charset. An unknown charset falls
  back to UTF-8 with U+FFFD. No charset, or ``us-ascii`` (which Dovecot reports for every part
  that declares none, 8-bit or not), means "try UTF-8, else Windows-1252": :func:`decode_lossless`.
  Its cp1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); those become the Latin-1
  character of the same value, so every byte gives a character and none is lost.
* **Transfer encodings.** :func:`decode_transfer` undoes base64 and quoted-printable leniently
  (stray characters skipped, missing padding added), because a preview is fetched as a prefix
  of the part and may end mid-quantum.
* **Header words.** :func:`decode_header_words` decodes RFC 2047 encoded-words;
  :func:`part_filename` reads RFC 2231 parameters (``filename*``, ``filename*0*``…) and falls
  back to RFC 2047 in plain ``filename``/``name`` values, as Outlook writes them.
* **Part choice.** :func:`body_leaves` numbers the leaves of a BODYSTRUCTURE as RFC 3501
  §6.4.5 does. It does not descend into ``message/rfc822``: a forwarded message is one
  attachment, and its text is not this message's body. :func:`is_attachment` states the rule.
* **HTML to text.** :func:`html_to_text` keeps character data, drops ``<script>``, ``<style>``,
  ``<head>`` and ``<title>`` content, and resolves entities, for ``preview`` only.
"""

from __future__ import annotations

import binascii
import codecs
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Final
from urllib.parse import unquote_to_bytes

from switchboard.imap.responses import BodyPart

__all__ = [
    "BodyLeaf",
    "body_leaves",
    "collapse_whitespace",
    "decode_header_words",
    "decode_lossless",
    "decode_raw",
    "decode_text",
    "decode_transfer",
    "find_text_part",
    "html_to_text",
    "is_attachment",
    "part_filename",
]

BodyLeaf = tuple[str, BodyPart]
"""A leaf of a BODYSTRUCTURE and its RFC 3501 part id, e.g. ``("2.1", <text/html part>)``."""

# The five bytes Python's cp1252 leaves undefined; surrogateescape turns byte b into U+DC00+b,
# and this table maps those back to the Latin-1 character b, as browsers do (WHATWG encoding).
_CP1252_HOLES: Final = {0xDC00 + b: b for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}

# Labels that name a superset or the encoding mail clients really mean (WHATWG encoding
# standard): ISO-8859-1 mail is routinely Windows-1252, GB2312 mail is GBK/GB18030.
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

_ENCODED_WORD: Final = re.compile(rb"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")
_BETWEEN_WORDS: Final = re.compile(rb"[ \t\r\n]+")
_BASE64_JUNK: Final = re.compile(rb"[^A-Za-z0-9+/]")
_WHITESPACE: Final = re.compile(r"\s+")
_RFC2231_SECTION: Final = re.compile(r"\*(\d+)(\*?)$")


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

    Valid UTF-8 (every 7-bit message among them) decodes unchanged, as the original did. Invalid
    UTF-8 is decoded line by line with :func:`decode_lossless`, so a message whose headers are
    UTF-8 and whose one 8-bit part is Latin-1 keeps both readable (docs/protocol.md). The
    result is not guaranteed to re-encode to the same bytes; ``raw`` is for reading.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(decode_lossless(line) for line in data.splitlines(keepends=True))


def _codec_name(charset: str | None) -> str:
    """The Python codec for a MIME charset label, or ``""`` for "undeclared: guess"."""
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
        # Codecs that are not text encodings (base64, zlib, rot13…) raise LookupError here;
        # a charset label must never select one. (Empty input would skip the check.)
        b"x".decode(name, "replace")
    except LookupError:
        return "utf-8"
    return name


def decode_text(data: bytes, charset: str | None, *, final: bool = True) -> str:
    """Decode a text part's bytes with its declared charset.

    Args:
        data: the part's bytes after the transfer encoding was undone.
        charset: the ``charset`` parameter as sent, or ``None`` when the part has none.
        final: ``False`` when ``data`` is a prefix of the part, so a multibyte character cut
            at the end is dropped instead of becoming U+FFFD.

    An unknown charset decodes as UTF-8 with U+FFFD for invalid bytes; an undeclared or
    ``us-ascii`` one as :func:`decode_lossless` (8-bit bytes under ``us-ascii`` are a common
    mislabel, and Dovecot reports ``us-ascii`` for parts that declare nothing).
    """
    name = _codec_name(charset)
    if not name:
        if final:
            return decode_lossless(data)
        try:
            return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
        except UnicodeDecodeError:
            return decode_lossless(data)
    # _codec_name only returns names codecs.lookup accepted, so this lookup cannot fail.
    decoder = codecs.getincrementaldecoder(name)(errors="replace")
    return decoder.decode(data, final=final)


def decode_transfer(data: bytes, encoding: str | None) -> bytes:
    """Undo a Content-Transfer-Encoding; 7bit, 8bit, binary and unknown ones pass through.

    Base64 is decoded leniently: characters outside the alphabet are skipped, padding may be
    missing, and a cut final quantum (a prefix fetch) gives its whole bytes; this never raises.
    """
    kind = (encoding or "").strip().lower()
    if kind == "base64":
        return _lenient_base64(data)
    if kind == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def _lenient_base64(data: bytes) -> bytes:
    """Decode base64 that may hold junk, lack padding, or be cut anywhere (a prefix fetch)."""
    # Padding is dropped with the junk and added back: a complete quantum decodes the same,
    # and a cut one still gives its leading whole bytes.
    clean = _BASE64_JUNK.sub(b"", data)
    if len(clean) % 4 == 1:
        clean = clean[:-1]  # six bits cannot make a byte
    clean += b"=" * (-len(clean) % 4)
    return binascii.a2b_base64(clean)


def _decode_word(charset: bytes, kind: bytes, text: bytes) -> tuple[str, bytes] | None:
    """Bytes of one encoded-word and its charset label, or ``None`` if it is malformed."""
    try:
        label = charset.decode("ascii")
    except UnicodeDecodeError:
        return None
    if kind in (b"B", b"b"):
        return label, _lenient_base64(text)
    # RFC 2047 §4.2: in the Q encoding "_" stands for a space.
    return label, binascii.a2b_qp(text.replace(b"_", b" "))


def decode_header_words(value: bytes | str) -> str:
    """Decode the RFC 2047 encoded-words of a header value (subject, display name, filename).

    Whitespace between two adjacent encoded-words is dropped (RFC 2047 §6.2). Adjacent words in
    the same charset are joined before decoding, so a multibyte character split across two
    words survives. Text outside encoded-words is decoded with :func:`decode_lossless`.
    Malformed words are kept as they are. Never raises.
    """
    raw = value.encode("utf-8") if isinstance(value, str) else value
    out: list[str] = []
    pending_label: str | None = None
    pending: bytearray = bytearray()
    position = 0

    def flush() -> None:
        nonlocal pending_label
        if pending_label is not None:
            out.append(decode_text(bytes(pending), pending_label))
            pending.clear()
            pending_label = None

    for match in _ENCODED_WORD.finditer(raw):
        gap = raw[position : match.start()]
        word = _decode_word(match.group(1), match.group(2), match.group(3))
        if word is None:
            continue  # leave the malformed word in the literal text
        if not (pending_label is not None and _BETWEEN_WORDS.fullmatch(gap)):
            flush()
            out.append(decode_lossless(gap))
        label, data = word
        if pending_label is not None and _codec_name(label) != _codec_name(pending_label):
            flush()
        pending_label = label
        pending += data
        position = match.end()
    flush()
    out.append(decode_lossless(raw[position:]))
    return "".join(out)


def _rfc2231(params: dict[str, bytes], name: str) -> str | None:
    """The RFC 2231 form of parameter ``name`` (``name*`` or ``name*0``/``name*0*``…), decoded."""
    sections: list[tuple[int, bool, bytes]] = []
    if f"{name}*" in params:
        sections.append((0, True, params[f"{name}*"]))
    prefix = name + "*"
    for key, value in params.items():
        if key.startswith(prefix) and key != prefix:
            found = _RFC2231_SECTION.match(key, len(name))
            if found is not None:
                sections.append((int(found.group(1)), bool(found.group(2)), value))
    if not sections:
        return None
    sections.sort(key=lambda section: section[0])
    charset: str | None = None
    data = bytearray()
    for index, (_, encoded, value) in enumerate(sections):
        if encoded and index == 0 and value.count(b"'") >= 2:
            # RFC 2231 §4: charset'language'percent-encoded-value, in the first section only.
            label, _language, value = value.split(b"'", 2)
            charset = label.decode("ascii", "replace") or None
        data += unquote_to_bytes(value) if encoded else value
    return decode_text(bytes(data), charset)


def part_filename(part: BodyPart) -> str | None:
    """The file name of a part: disposition ``filename``, else Content-Type ``name``, decoded.

    RFC 2231 parameters win over plain ones; plain ones may hold RFC 2047 words.
    """
    disposition_params = part.disposition[1] if part.disposition is not None else {}
    for params, name in ((disposition_params, "filename"), (part.params, "name")):
        extended = _rfc2231(params, name)
        if extended is not None:
            return extended
        if name in params:
            return decode_header_words(params[name])
    return None


def body_leaves(body: BodyPart) -> Iterator[BodyLeaf]:
    """Yield every leaf of a BODYSTRUCTURE with its part id, in order (RFC 3501 §6.4.5).

    A message that is not multipart has the single part ``"1"``. ``message/rfc822`` parts are
    leaves: their enclosed parts are not yielded.
    """
    if body.maintype != "multipart":
        yield "1", body
        return
    yield from _multipart_leaves(body, "")


def _multipart_leaves(body: BodyPart, prefix: str) -> Iterator[BodyLeaf]:
    for index, child in enumerate(body.parts, start=1):
        part_id = f"{prefix}{index}"
        if child.maintype == "multipart":
            yield from _multipart_leaves(child, part_id + ".")
        else:
            yield part_id, child


def _disposition(part: BodyPart) -> str | None:
    return part.disposition[0].lower() if part.disposition is not None else None


def is_attachment(part: BodyPart) -> bool:
    """Whether a leaf counts for ``hasAttachment`` and ``attachments``.

    The rule, in order:

    1. ``Content-Disposition: attachment`` → yes, whatever the type.
    2. ``message/rfc822`` (a forwarded message) → yes.
    3. ``text/plain`` and ``text/html`` without that disposition → no: they are the body.
    4. Other ``text/*`` (calendar, csv…) → yes when it has a file name.
    5. Any other leaf (image, application, audio…) → yes, unless it has a Content-ID and no
       ``attachment`` disposition: that is a resource the HTML body embeds (``cid:``), shown
       inline, not a file the sender attached.
    """
    if _disposition(part) == "attachment":
        return True
    if (part.maintype, part.subtype) == ("message", "rfc822"):
        return True
    if part.maintype == "text":
        if part.subtype in ("plain", "html"):
            return False
        return part_filename(part) is not None
    return part.content_id is None


def find_text_part(body: BodyPart, subtype: str) -> BodyLeaf | None:
    """The first ``text/<subtype>`` leaf that is part of the body, not an attachment."""
    for part_id, part in body_leaves(body):
        if (part.maintype, part.subtype) == ("text", subtype) and not is_attachment(part):
            return part_id, part
    return None


class _TextExtractor(HTMLParser):
    """Collect the character data of an HTML document, minus what a reader never sees."""

    _HIDDEN: Final = frozenset({"script", "style", "head", "title", "template"})
    # Elements that end a line when rendered; a space keeps their words apart.
    _BREAKS: Final = frozenset({"br", "p", "div", "li", "tr", "td", "h1", "h2", "h3", "h4"})

    def __init__(self, max_chars: int) -> None:
        super().__init__(convert_charrefs=True)
        self.max_chars = max_chars
        self.chunks: list[str] = []
        self.length = 0
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden_depth += 1
        elif tag in self._BREAKS:
            self.chunks.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden_depth = max(0, self.hidden_depth - 1)
        elif tag in self._BREAKS:
            self.chunks.append(" ")

    def handle_data(self, data: str) -> None:
        if self.hidden_depth == 0 and self.length < self.max_chars:
            self.chunks.append(data)
            self.length += len(data)


def html_to_text(html: str, *, max_chars: int) -> str:
    """The visible text of an HTML document, entities resolved, for ``preview``.

    Args:
        html: the decoded HTML.
        max_chars: stop collecting once this many characters of text were seen; a preview
            needs only its first few hundred.
    """
    extractor = _TextExtractor(max_chars)
    extractor.feed(html)
    extractor.close()
    return "".join(extractor.chunks)


def collapse_whitespace(text: str) -> str:
    """Replace each run of whitespace (newlines, tabs, NBSP…) by one space; strip both ends."""
    return _WHITESPACE.sub(" ", text).strip()
