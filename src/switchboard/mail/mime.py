"""Walk a message's MIME structure: part numbers, attachments, file names, text parts, HTML text.

Pure: every function takes bytes or :class:`~switchboard.model.mail.BodyPart` trees and returns
``str`` or plain values. Charsets live in :mod:`~switchboard.mail.charsets`, transfer encodings
in :mod:`~switchboard.mail.encodings`.

How it works:

* **File names.** :func:`part_filename` reads RFC 2231 parameters (``filename*``,
  ``filename*0*``…) and falls back to RFC 2047 in plain ``filename``/``name`` values, as Outlook
  writes them.
* **Part choice.** :func:`body_leaves` numbers the leaves of a structure as RFC 3501 §6.4.5
  does. It does not descend into ``message/rfc822``: a forwarded message is one attachment, and
  its text is not this message's body. :func:`is_attachment` states the rule.
* **Part text.** :func:`decode_part` undoes a part's transfer encoding and charset.
* **HTML to text.** :func:`html_to_text` keeps character data, drops ``<script>``, ``<style>``,
  ``<head>`` and ``<title>`` content, and resolves entities, for ``preview`` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from typing import Final
from urllib.parse import unquote_to_bytes

from switchboard.mail.charsets import decode_text
from switchboard.mail.encodings import decode_transfer
from switchboard.mail.headers import decode_words
from switchboard.model.mail import BodyPart

__all__ = [
    "BodyLeaf",
    "body_leaves",
    "collapse_whitespace",
    "decode_part",
    "find_text_part",
    "html_to_text",
    "is_attachment",
    "part_filename",
]

BodyLeaf = tuple[str, BodyPart]
"""A leaf of a message's structure and its RFC 3501 part id, e.g. ``("2.1", <text/html part>)``."""

_WHITESPACE: Final = re.compile(r"\s+")
_RFC2231_SECTION: Final = re.compile(r"\*(\d+)(\*?)$")


def _rfc2231(params: Mapping[str, bytes], name: str) -> str | None:
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
            return decode_words(params[name])
    return None


def body_leaves(body: BodyPart) -> Iterator[BodyLeaf]:
    """Yield every leaf of a message's structure with its part id, in order (RFC 3501 §6.4.5).

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


def decode_part(part: BodyPart, data: bytes, *, complete: bool = True) -> str:
    """A text part's content: its transfer encoding undone, its charset decoded.

    Args:
        part: the part (its ``encoding`` and ``charset`` parameter are read).
        data: its octets as fetched.
        complete: ``False`` when ``data`` is only a prefix of the part.
    """
    charset = part.params.get("charset")
    label = charset.decode("ascii", "replace") if charset is not None else None
    return decode_text(decode_transfer(data, part.encoding), label, final=complete)


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
