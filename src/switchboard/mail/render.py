"""Render ``getMessages``: what a property set needs fetched, and its JSON objects.

Pure: no asyncio, no sockets. The server validates the request, builds one :class:`MessagePlan`,
hands :attr:`MessagePlan.fetch` to the engine's reader (whose second stage fetches the body parts
``htmlBody`` and ``preview`` need, which can only be named once the structure is known), and
calls :meth:`MessagePlan.render` for each message found.

How it works (docs/protocol.md, "getMessages properties" and "How mail is decoded"):

* **Minimal fetch.** Each property maps to what it needs; only id properties fetch nothing but
  the UID. Header properties (``subject``, ``from``…) fetch the header fields of
  :data:`~switchboard.mail.envelope.ENVELOPE_FIELDS` — the header bytes, not IMAP's ENVELOPE —
  unless ``headers`` or ``raw`` brings the whole header anyway. When ``raw`` is requested, the
  whole message also serves ``textBody`` and ``headers`` (split at the first empty line, which
  is what the TEXT and HEADER sections are), and a single-part message's text comes from it
  instead of a second fetch of part ``1``.
* **Key order** is the request order; values never depend on it. A repeated property is
  rendered once, at its first position.
* **Raw values stay raw**: ``subject``, ``date`` and address ``name`` are the header bytes
  decoded as UTF-8 with U+FFFD, encoded-words untouched; absent is ``null``. Decoded
  companions are added under new keys, which old clients ignore:

  - ``subjectDecoded`` is added whenever ``subject`` is requested, after all the requested
    keys (so the requested keys are exactly the first ones, in request order): the one decoded
    text of :func:`~switchboard.mail.headers.decoded_text`, as the push summary's subject;
    ``null`` when there is no subject.
  - An address object is ``{"name", "email"}`` exactly as the original's, plus
    ``"decodedName"`` **only when the decoded name differs from** ``name``
    (:func:`~switchboard.mail.addresses.address_objects`).

* **Addresses** are ``null`` when absent or empty, never ``[]``; ``email`` is ``mailbox@host``,
  ``mailbox@`` without a host; groups are flattened to their members and a group with no
  members adds nothing; ``replyTo`` is From when the message has no Reply-To (RFC 3501 §7.4.2).
* **raw / textBody**: valid UTF-8 as is (the original's output); otherwise each invalid line is
  decoded as Windows-1252, so no character becomes U+FFFD. Transfer encodings are not undone.
* **htmlBody** is the first ``text/html`` body part (not an attachment), transfer encoding and
  charset decoded, or ``null``. **preview** is the first :data:`PREVIEW_CHARS` characters of the
  first ``text/plain`` body part, or of the HTML part's visible text, whitespace collapsed;
  ``null`` when the message has neither. Only a prefix of the part is fetched for it
  (:data:`PREVIEW_SOURCE_BYTES`).
* **Flags**: ``isUnread`` and ``unread`` (the original's name) are both "no ``\\Seen``";
  ``isFlagged``, ``isDraft``, ``isAnswered`` from ``\\Flagged``, ``\\Draft``, ``\\Answered``.
* **Attachments**: see :func:`switchboard.mail.mime.is_attachment` for the rule.
  ``attachments`` is ``[{"name", "type", "size", "partId"}]`` in part order: ``name`` the
  decoded file name or ``null``, ``type`` ``"maintype/subtype"``, ``size`` the part's octets as
  stored (still transfer-encoded), ``partId`` e.g. ``"2.1"``.
* **headers**: ``[{"name", "value"}]`` in message order, values unfolded (CRLF removed before
  the continuation's whitespace, RFC 5322 §2.2.3), stripped of surrounding whitespace, not
  decoded (8-bit bytes as UTF-8, else Windows-1252). Lines that are not ``name: value`` are
  skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from switchboard.mail import mime
from switchboard.mail.addresses import address_objects
from switchboard.mail.charsets import decode_lossless, decode_raw
from switchboard.mail.envelope import ENVELOPE_FIELDS, Envelope
from switchboard.mail.headers import decoded_text, raw_text, split_fields
from switchboard.model.mail import BodyPart, BodySection, FetchedMessage, FetchPlan

__all__ = [
    "MAX_SAFE_INTEGER",
    "PREVIEW_CHARS",
    "PREVIEW_SOURCE_BYTES",
    "PROPERTIES",
    "MessagePlan",
]

PREVIEW_CHARS: Final = 256
"""Length of ``preview`` in characters."""

PREVIEW_SOURCE_BYTES: Final = 16384
"""How many octets of a part a ``preview`` fetches when the whole part is not needed anyway.

Enough for 256 characters of base64 UTF-8 text, or of HTML after a long ``<style>`` block.
"""

MAX_SAFE_INTEGER: Final = 2**53 - 1
"""The largest integer every JSON client reads exactly (a JavaScript number): sizes above it,
which only a broken IMAP server sends, render ``null``. The wire's own bound
(``switchboard.protocol.wirejson``) is the same number; mail does not import the wire."""

_ADDRESS_FIELD: Final = {
    "from": "from",
    "to": "to",
    "cc": "cc",
    "bcc": "bcc",
    "replyTo": "reply-to",
}
_HEADER_PROPERTIES: Final = frozenset({"subject", "date", *_ADDRESS_FIELD})
_FLAG_PROPERTIES: Final = frozenset({"isUnread", "unread", "isFlagged", "isDraft", "isAnswered"})
_STRUCTURE_PROPERTIES: Final = frozenset({"hasAttachment", "attachments", "htmlBody", "preview"})
_ID_PROPERTIES: Final = frozenset({"messageId", "mailboxId"})

PROPERTIES: Final = (
    _HEADER_PROPERTIES
    | _FLAG_PROPERTIES
    | _STRUCTURE_PROPERTIES
    | _ID_PROPERTIES
    | frozenset({"raw", "size", "textBody", "headers"})
)
"""Every property name :class:`MessagePlan` renders: the wire's list of ``getMessages``
properties (``protocol.methods.SUPPORTED_PROPERTIES``, which requests are checked against; a
test keeps the two equal)."""

_FLAG_OF: Final = {
    "isFlagged": "\\flagged",
    "isDraft": "\\draft",
    "isAnswered": "\\answered",
}

_WHOLE: Final = BodySection("")
_HEADER: Final = BodySection("HEADER")
_TEXT: Final = BodySection("TEXT")


def _safe_int(value: int | None) -> int | None:
    return value if value is None or -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else None


def _split_message(raw: bytes) -> tuple[bytes, bytes]:
    """``(header, text)`` of a whole message: the header includes the empty line."""
    if raw.startswith(b"\r\n"):
        return b"\r\n", raw[2:]
    end = raw.find(b"\r\n\r\n")
    if end == -1:
        return raw, b""
    return raw[: end + 4], raw[end + 4 :]


def _header_list(block: bytes) -> list[dict[str, str]]:
    return [
        {"name": decode_lossless(name), "value": decode_lossless(value).strip()}
        for name, value in split_fields(block)
    ]


def _preview_section(part_id: str) -> BodySection:
    return BodySection(part_id, (0, PREVIEW_SOURCE_BYTES))


class MessagePlan:
    """What to fetch for a set of requested properties, and how to render the results.

    Args:
        properties: property names already checked against :data:`PROPERTIES`.

    Raises:
        ValueError: a name is not in :data:`PROPERTIES` (the caller skipped the check; a bug).

    Attributes:
        properties: the requested names in request order, without repeats.
        fetch: what to fetch of each message, for the engine's reader; its second stage names
            the body parts ``htmlBody`` and ``preview`` need.
    """

    __slots__ = ("_header_source", "_raw", "fetch", "properties")

    def __init__(self, properties: Sequence[str]) -> None:
        unknown = [name for name in properties if name not in PROPERTIES]
        if unknown:
            raise ValueError(f"unknown properties {unknown!r}; validate the request first")
        self.properties: tuple[str, ...] = tuple(dict.fromkeys(properties))
        wanted = set(self.properties)
        self._raw = "raw" in wanted
        sections: list[BodySection] = []
        if "headers" in wanted and not self._raw:
            sections.append(_HEADER)
        if "textBody" in wanted and not self._raw:
            sections.append(_TEXT)
        if self._raw:
            sections.append(_WHOLE)
        # Where header fields are read from: the whole message or header when fetched anyway,
        # else only the envelope's fields.
        self._header_source = _WHOLE if self._raw else _HEADER if "headers" in wanted else None
        header_fields = bool(wanted & _HEADER_PROPERTIES) and self._header_source is None
        self.fetch: FetchPlan = FetchPlan(
            flags=bool(wanted & _FLAG_PROPERTIES),
            size="size" in wanted,
            header_fields=ENVELOPE_FIELDS if header_fields else (),
            body_structure=bool(wanted & _STRUCTURE_PROPERTIES),
            sections=tuple(sections),
            second_stage=self._second_stage if wanted & {"htmlBody", "preview"} else None,
        )

    # -- second stage -----------------------------------------------------------------------

    def _html_part(self, body: BodyPart) -> mime.BodyLeaf | None:
        return mime.find_text_part(body, "html") if "htmlBody" in self.properties else None

    def _preview_part(self, body: BodyPart) -> mime.BodyLeaf | None:
        if "preview" not in self.properties:
            return None
        return mime.find_text_part(body, "plain") or mime.find_text_part(body, "html")

    def _text_in_first(self, message: FetchedMessage) -> bytes | None:
        """The message text when the first stage already holds it, else ``None``."""
        text = message.sections.get(_TEXT)
        if text is None and self._raw:
            raw = message.sections.get(_WHOLE)
            text = _split_message(raw)[1] if raw is not None else None
        return text

    def _in_first(self, part_id: str, message: FetchedMessage) -> bool:
        # RFC 3501 §6.4.5: part 1 of a message that is not multipart is its text.
        body = message.body_structure
        return (
            part_id == "1"
            and body is not None
            and body.maintype != "multipart"
            and self._text_in_first(message) is not None
        )

    def _second_stage(self, first: FetchedMessage) -> tuple[BodySection, ...]:
        """The body parts to fetch after the first stage: ``htmlBody``'s whole part, a prefix
        of ``preview``'s when it is another part. Empty when the message has no such part or
        the first stage already holds it."""
        body = first.body_structure
        if body is None:
            return ()
        html = self._html_part(body)
        preview = self._preview_part(body)
        sections: list[BodySection] = []
        if html is not None and not self._in_first(html[0], first):
            sections.append(BodySection(html[0]))
        if preview is not None and preview != html and not self._in_first(preview[0], first):
            sections.append(_preview_section(preview[0]))
        return tuple(sections)

    def _part_bytes(self, part_id: str, message: FetchedMessage) -> tuple[bytes, bool] | None:
        """A part's octets and whether they are the whole part (``False``: a prefix)."""
        if self._in_first(part_id, message):
            text = self._text_in_first(message)
            assert text is not None  # _in_first checked it
            return text, True
        whole = message.sections.get(BodySection(part_id))
        if whole is not None:
            return whole, True
        prefix = message.sections.get(_preview_section(part_id))
        if prefix is not None:
            return prefix, len(prefix) < PREVIEW_SOURCE_BYTES
        return None

    def _decoded_part(self, leaf: mime.BodyLeaf, message: FetchedMessage) -> str | None:
        part_id, part = leaf
        found = self._part_bytes(part_id, message)
        if found is None:
            return None
        data, complete = found
        return mime.decode_part(part, data, complete=complete)

    # -- rendering --------------------------------------------------------------------------

    def header_block(self, message: FetchedMessage) -> bytes | None:
        """The message's header bytes as fetched for this plan (``None``: not fetched)."""
        if self._header_source is None:
            return message.headers
        block = message.sections.get(self._header_source)
        if block is not None and self._header_source is _WHOLE:
            block = _split_message(block)[0]
        return block

    def render(
        self, message: FetchedMessage, *, message_id: str, mailbox_id: str
    ) -> dict[str, Any]:
        """Build one message object of the ``messages`` reply.

        Args:
            message: what the reader fetched for the message with :attr:`fetch` (both stages).
            message_id: the message's wire id (``messageId``).
            mailbox_id: its mailbox's wire id (``mailboxId``).

        Returns:
            A JSON-able dict with one key per requested property, in request order, then
            ``subjectDecoded`` when ``subject`` was requested. A value the server did not send
            is ``null``. Never raises for any server data.
        """
        out: dict[str, Any] = {}
        envelope: Envelope | None = None
        subject: bytes | None = None
        flags = {flag.lower() for flag in message.flags} if message.flags is not None else None
        body = message.body_structure
        for name in self.properties:
            if name in _HEADER_PROPERTIES:
                if envelope is None:
                    envelope = Envelope(self.header_block(message))
                if name == "subject":
                    subject = envelope.subject
                    out[name] = raw_text(subject) if subject is not None else None
                else:
                    out[name] = _render_header(envelope, name)
            elif name == "messageId":
                out[name] = message_id
            elif name == "mailboxId":
                out[name] = mailbox_id
            elif name in _FLAG_PROPERTIES:
                if flags is None:
                    out[name] = None
                elif name in ("isUnread", "unread"):
                    out[name] = "\\seen" not in flags
                else:
                    out[name] = _FLAG_OF[name] in flags
            elif name == "size":
                out[name] = _safe_int(message.size)
            elif name == "raw":
                raw = message.sections.get(_WHOLE)
                out[name] = decode_raw(raw) if raw is not None else None
            elif name == "textBody":
                text = self._text_in_first(message)
                out[name] = decode_raw(text) if text is not None else None
            elif name == "headers":
                block = self.header_block(message)
                out[name] = _header_list(block) if block is not None else None
            elif name in ("hasAttachment", "attachments"):
                out[name] = _render_attachments(body, as_bool=name == "hasAttachment")
            elif name == "htmlBody":
                html = self._html_part(body) if body is not None else None
                out[name] = self._decoded_part(html, message) if html else None
            else:  # preview: __init__ let no other name through
                out[name] = self._render_preview(body, message)
        if "subject" in out:
            out["subjectDecoded"] = decoded_text(subject) if subject is not None else None
        return out

    def _render_preview(self, body: BodyPart | None, message: FetchedMessage) -> str | None:
        leaf = self._preview_part(body) if body is not None else None
        if leaf is None:
            return None
        text = self._decoded_part(leaf, message)
        if text is None:
            return None
        if leaf[1].subtype == "html":
            # Visible text can be shorter than the markup; keep a margin for collapsed spaces.
            text = mime.html_to_text(text, max_chars=PREVIEW_CHARS * 4)
        return mime.collapse_whitespace(text)[:PREVIEW_CHARS]


def _render_header(envelope: Envelope, name: str) -> Any:
    if name == "date":
        date = envelope.date
        return raw_text(date) if date is not None else None
    addresses = envelope.addresses(_ADDRESS_FIELD[name])
    return address_objects(addresses) if addresses is not None else None


def _render_attachments(body: BodyPart | None, *, as_bool: bool) -> Any:
    if body is None:
        return None
    found = [
        (part_id, part) for part_id, part in mime.body_leaves(body) if mime.is_attachment(part)
    ]
    if as_bool:
        return bool(found)
    return [
        {
            "name": mime.part_filename(part),
            "type": f"{part.maintype}/{part.subtype}",
            "size": _safe_int(part.size),
            "partId": part_id,
        }
        for part_id, part in found
    ]
