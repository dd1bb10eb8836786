"""Render ``getMessages``: which IMAP FETCH items a property set needs, and its JSON objects.

Pure: no asyncio, no sockets. The session handler validates the request with
``protocol.methods.validate_get_messages``, builds one :class:`MessagePlan`, runs ``UID FETCH`` with
:attr:`MessagePlan.first_items`, runs a second ``UID FETCH`` per message with
:meth:`MessagePlan.second_items` when that is not ``None`` (body parts for ``htmlBody`` and
``preview`` can only be named once BODYSTRUCTURE is known), and calls
:meth:`MessagePlan.render` for each message found.

How it works (docs/protocol.md, "getMessages properties" and "Differences from the 2014
server"):

* **Minimal FETCH.** Each property maps to the items it needs; only id properties give
  ``(UID)``. When ``raw`` is requested, ``BODY.PEEK[]`` also serves ``textBody`` and
  ``headers`` (split at the first empty line, which is what ``BODY[TEXT]`` and
  ``BODY[HEADER]`` are), and a single-part message's text comes from ``BODY[TEXT]``/``BODY[]``
  instead of a second fetch of part ``1``.
* **Key order** is the request order; values never depend on it. A repeated
  property is rendered once, at its first position.
* **Raw values stay raw**: ``subject``, ``date`` and address ``name`` are the header
  bytes decoded as UTF-8 with U+FFFD, encoded-words untouched; NIL is ``null``.
  Decoded companions are added under new keys, which old clients ignore:

  - ``subjectDecoded`` is added whenever ``subject`` is requested, after all the requested
    keys (so the requested keys are exactly the first ones, in request order)
    (RFC 2047 decoded; 8-bit bytes as UTF-8, else Windows-1252; ``null`` when there is no
    subject).
  - An address object is ``{"name", "email"}`` exactly as the original's, plus
    ``"decodedName"`` **only when the decoded name differs from** ``name``. So every address
    without encoded-words or 8-bit bytes is byte-identical to the original's (the frames recorded
    from it still match), and a client reads ``a.get("decodedName", a["name"])``.

* **Addresses** are ``null`` when absent or empty, never ``[]``; ``email`` is
  ``mailbox@host``, ``mailbox@`` when the host is NIL; groups are flattened to their members
  and a group with no members adds nothing.
* **raw / textBody**: valid UTF-8 as is (the original's output); otherwise each invalid
  line is decoded as Windows-1252, so no character becomes U+FFFD. Transfer encodings are not
  undone. ``rawBase64`` is not offered (not in the supported list).
* **htmlBody** is the first ``text/html`` body part (not an attachment), transfer encoding and
  charset decoded, or ``null``. **preview** is the first :data:`PREVIEW_CHARS` characters of
  the first ``text/plain`` body part, or of the HTML part's visible text, whitespace collapsed;
  ``null`` when the message has neither. Only a prefix of the part is fetched for it
  (:data:`PREVIEW_SOURCE_BYTES`).
* **Flags**: ``isUnread`` and ``unread`` (the original's name) are both "no ``\\Seen``";
  ``isFlagged``, ``isDraft``, ``isAnswered`` from ``\\Flagged``, ``\\Draft``, ``\\Answered``.
* **Attachments**: see :func:`switchboard.server.mime.is_attachment` for the rule.
  ``attachments`` is ``[{"name", "type", "size", "partId"}]`` in part order: ``name`` the
  decoded file name or ``null``, ``type`` ``"maintype/subtype"``, ``size`` the part's octets as
  stored (still transfer-encoded, as BODYSTRUCTURE reports them), ``partId`` e.g. ``"2.1"``.
* **headers**: ``[{"name", "value"}]`` in message order, values unfolded (CRLF removed before
  the continuation's whitespace, RFC 5322 §2.2.3), stripped of surrounding whitespace, not
  decoded (8-bit bytes as UTF-8, else Windows-1252). Lines that are not ``name: value`` are
  skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from switchboard.imap.responses import Address, BodyPart, Envelope, Fetch
from switchboard.protocol.ids import MessageId
from switchboard.protocol.methods import SUPPORTED_PROPERTIES
from switchboard.protocol.wirejson import safe_int
from switchboard.server import mime

__all__ = [
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

_ENVELOPE_PROPERTIES: Final = frozenset({"from", "to", "cc", "bcc", "replyTo", "subject", "date"})
_FLAG_PROPERTIES: Final = frozenset({"isUnread", "unread", "isFlagged", "isDraft", "isAnswered"})
_STRUCTURE_PROPERTIES: Final = frozenset({"hasAttachment", "attachments", "htmlBody", "preview"})
_ID_PROPERTIES: Final = frozenset({"messageId", "mailboxId"})

PROPERTIES: Final = SUPPORTED_PROPERTIES
"""Every property name ``getMessages`` supports: the protocol layer's list, which
``protocol.methods.validate_get_messages`` checks requests against (one list, so they cannot
drift); anything else is ``unknownProperty`` there.
"""

# The names render() knows; __init__ refuses any other, so a name added to the protocol's list
# without a renderer fails loudly (and in test_messages) instead of being skipped.
_RENDERED: Final = (
    _ENVELOPE_PROPERTIES
    | _FLAG_PROPERTIES
    | _STRUCTURE_PROPERTIES
    | _ID_PROPERTIES
    | frozenset({"raw", "size", "textBody", "headers"})
)

_FLAG_OF: Final = {
    "isFlagged": "\\flagged",
    "isDraft": "\\draft",
    "isAnswered": "\\answered",
}


def _utf8(data: bytes | None) -> str | None:
    """IMAP string → JSON string as the original did: UTF-8, invalid bytes as U+FFFD."""
    return None if data is None else data.decode("utf-8", "replace")


def _address_list(addresses: tuple[Address, ...] | None) -> list[dict[str, str]] | None:
    if not addresses:
        return None
    out: list[dict[str, str]] = []
    for index, address in enumerate(addresses):
        if address.host is None:
            if address.mailbox is None:
                continue  # group end (RFC 3501 §7.4.2)
            # A group start is followed by its end marker; without one this is an address
            # whose domain the server could not give, rendered "mailbox@" as the original did.
            if any(a.mailbox is None and a.host is None for a in addresses[index + 1 :]):
                continue
        mailbox = _utf8(address.mailbox) or ""
        host = _utf8(address.host) or ""
        item = {"name": _utf8(address.name) or "", "email": f"{mailbox}@{host}"}
        if address.name is not None:
            decoded = mime.decode_header_words(address.name)
            if decoded != item["name"]:
                item["decodedName"] = decoded
        out.append(item)
    return out or None


def _split_message(raw: bytes) -> tuple[bytes, bytes]:
    """``(BODY[HEADER], BODY[TEXT])`` of a whole message: the header includes the empty line."""
    if raw.startswith(b"\r\n"):
        return b"\r\n", raw[2:]
    end = raw.find(b"\r\n\r\n")
    if end == -1:
        return raw, b""
    return raw[: end + 4], raw[end + 4 :]


def _headers(block: bytes) -> list[dict[str, str]]:
    fields: list[list[bytes]] = []
    for line in block.splitlines():
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1].append(line)  # a folded continuation (RFC 5322 §2.2.3)
        elif line:
            fields.append([line])
    out: list[dict[str, str]] = []
    for lines in fields:
        name, colon, value = b"".join(lines).partition(b":")
        name = name.rstrip()
        if not colon or not name or b" " in name:
            continue  # not a header field (e.g. an mbox "From " line)
        out.append(
            {"name": mime.decode_lossless(name), "value": mime.decode_lossless(value).strip()}
        )
    return out


def _section_key(part_id: str) -> str:
    return f"BODY[{part_id}]"


class MessagePlan:
    """What to FETCH for a set of requested properties, and how to render the results.

    Args:
        properties: property names already checked against :data:`PROPERTIES`.

    Raises:
        ValueError: a name is not in :data:`PROPERTIES` (the caller skipped the check; a bug).

    Attributes:
        properties: the requested names in request order, without repeats.
        first_items: the item list for the first ``UID FETCH``, parenthesised, always with
            ``UID``, e.g. ``"(UID ENVELOPE RFC822.SIZE BODY.PEEK[TEXT])"``.
        needs_second_fetch: whether :meth:`second_items` may ask for body parts (``htmlBody``
            or ``preview`` requested).
    """

    __slots__ = ("_raw", "first_items", "needs_second_fetch", "properties")

    def __init__(self, properties: Sequence[str]) -> None:
        unknown = [name for name in properties if name not in PROPERTIES or name not in _RENDERED]
        if unknown:
            raise ValueError(f"unknown properties {unknown!r}; validate the request first")
        self.properties: tuple[str, ...] = tuple(dict.fromkeys(properties))
        wanted = set(self.properties)
        self._raw = "raw" in wanted
        items = ["UID"]
        if wanted & _FLAG_PROPERTIES:
            items.append("FLAGS")
        if wanted & _ENVELOPE_PROPERTIES:
            items.append("ENVELOPE")
        if "size" in wanted:
            items.append("RFC822.SIZE")
        if wanted & _STRUCTURE_PROPERTIES:
            items.append("BODYSTRUCTURE")
        if "headers" in wanted and not self._raw:
            items.append("BODY.PEEK[HEADER]")
        if "textBody" in wanted and not self._raw:
            items.append("BODY.PEEK[TEXT]")
        if self._raw:
            items.append("BODY.PEEK[]")
        self.first_items: str = "(" + " ".join(items) + ")"
        self.needs_second_fetch: bool = bool(wanted & {"htmlBody", "preview"})

    # -- second fetch -----------------------------------------------------------------------

    def _html_part(self, body: BodyPart) -> mime.BodyLeaf | None:
        return mime.find_text_part(body, "html") if "htmlBody" in self.properties else None

    def _preview_part(self, body: BodyPart) -> mime.BodyLeaf | None:
        if "preview" not in self.properties:
            return None
        return mime.find_text_part(body, "plain") or mime.find_text_part(body, "html")

    def _text_in_first(self, first: Fetch) -> bytes | None:
        """The message text when the first fetch already holds it, else ``None``."""
        text = first.sections.get("BODY[TEXT]")
        if text is None and self._raw:
            raw = first.sections.get("BODY[]")
            text = _split_message(raw)[1] if raw is not None else None
        return text

    def _in_first(self, part_id: str, first: Fetch) -> bool:
        # RFC 3501 §6.4.5: part 1 of a message that is not multipart is its text.
        body = first.bodystructure
        return (
            part_id == "1"
            and body is not None
            and body.maintype != "multipart"
            and self._text_in_first(first) is not None
        )

    def second_items(self, first: Fetch) -> str | None:
        """The item list of the second ``UID FETCH`` for one message, or ``None`` if not needed.

        Args:
            first: that message's result of the first fetch (its BODYSTRUCTURE is read).

        Returns:
            E.g. ``"(UID BODY.PEEK[2.1] BODY.PEEK[1]<0.16384>)"``: the whole HTML part for
            ``htmlBody``, a prefix for a ``preview`` taken from another part. ``None`` when
            neither property was requested, the message has no such part, or the first
            fetch already holds it.
        """
        body = first.bodystructure
        if not self.needs_second_fetch or body is None:
            return None
        html = self._html_part(body)
        preview = self._preview_part(body)
        items: list[str] = []
        if html is not None and not self._in_first(html[0], first):
            items.append(f"BODY.PEEK[{html[0]}]")
        if preview is not None and preview != html and not self._in_first(preview[0], first):
            items.append(f"BODY.PEEK[{preview[0]}]<0.{PREVIEW_SOURCE_BYTES}>")
        return "(UID " + " ".join(items) + ")" if items else None

    def _part_bytes(
        self, part_id: str, first: Fetch, second: Fetch | None
    ) -> tuple[bytes, bool] | None:
        """A part's octets and whether they are the whole part (``False``: a prefix)."""
        if self._in_first(part_id, first):
            text = self._text_in_first(first)
            assert text is not None  # _in_first checked it
            return text, True
        sections = second.sections if second is not None else {}
        whole = sections.get(_section_key(part_id))
        if whole is not None:
            return whole, True
        prefix = sections.get(_section_key(part_id) + "<0>")
        if prefix is not None:
            return prefix, len(prefix) < PREVIEW_SOURCE_BYTES
        return None

    def _decoded_part(self, leaf: mime.BodyLeaf, first: Fetch, second: Fetch | None) -> str | None:
        part_id, part = leaf
        found = self._part_bytes(part_id, first, second)
        if found is None:
            return None
        data, complete = found
        charset = part.params.get("charset")
        label = charset.decode("ascii", "replace") if charset is not None else None
        return mime.decode_text(mime.decode_transfer(data, part.encoding), label, final=complete)

    # -- rendering --------------------------------------------------------------------------

    def render(self, message_id: MessageId, first: Fetch, second: Fetch | None) -> dict[str, Any]:
        """Build one message object of the ``messages`` reply.

        Args:
            message_id: the id of the message (the UID the client asked for).
            first: the message's result of the first fetch.
            second: its result of the second fetch, ``None`` when none was run.

        Returns:
            A JSON-able dict with one key per requested property, in request order, then
            ``subjectDecoded`` when ``subject`` was requested. A value whose FETCH item the server
            did not send is ``null``. Never raises for any server data.
        """
        out: dict[str, Any] = {}
        envelope = first.envelope
        flags = {flag.lower() for flag in first.flags} if first.flags is not None else None
        body = first.bodystructure
        for name in self.properties:
            if name == "messageId":
                out[name] = message_id.encode()
            elif name == "mailboxId":
                out[name] = message_id.mailbox.encode()
            elif name in _ENVELOPE_PROPERTIES:
                self._render_envelope(out, name, envelope)
            elif name in _FLAG_PROPERTIES:
                if flags is None:
                    out[name] = None
                elif name in ("isUnread", "unread"):
                    out[name] = "\\seen" not in flags
                else:
                    out[name] = _FLAG_OF[name] in flags
            elif name == "size":
                out[name] = safe_int(first.size)
            elif name == "raw":
                raw = first.sections.get("BODY[]")
                out[name] = mime.decode_raw(raw) if raw is not None else None
            elif name == "textBody":
                text = self._text_in_first(first)
                out[name] = mime.decode_raw(text) if text is not None else None
            elif name == "headers":
                out[name] = self._render_headers(first)
            elif name in ("hasAttachment", "attachments"):
                out[name] = _render_attachments(body, as_bool=name == "hasAttachment")
            elif name == "htmlBody":
                html = self._html_part(body) if body is not None else None
                out[name] = self._decoded_part(html, first, second) if html else None
            else:  # preview: __init__ let no other name through
                out[name] = self._render_preview(body, first, second)
        if "subject" in out:
            subject = envelope.subject if envelope is not None else None
            out["subjectDecoded"] = (
                mime.decode_header_words(subject) if subject is not None else None
            )
        return out

    @staticmethod
    def _render_envelope(out: dict[str, Any], name: str, envelope: Envelope | None) -> None:
        if envelope is None:
            out[name] = None
        elif name == "subject":
            out[name] = _utf8(envelope.subject)
        elif name == "date":
            out[name] = _utf8(envelope.date)
        else:
            attribute = {"from": "from_", "replyTo": "reply_to"}.get(name, name)
            out[name] = _address_list(getattr(envelope, attribute))

    def _render_headers(self, first: Fetch) -> list[dict[str, str]] | None:
        block = first.sections.get("BODY[HEADER]")
        if block is None and self._raw:
            raw = first.sections.get("BODY[]")
            block = _split_message(raw)[0] if raw is not None else None
        return _headers(block) if block is not None else None

    def _render_preview(
        self, body: BodyPart | None, first: Fetch, second: Fetch | None
    ) -> str | None:
        leaf = self._preview_part(body) if body is not None else None
        if leaf is None:
            return None
        text = self._decoded_part(leaf, first, second)
        if text is None:
            return None
        if leaf[1].subtype == "html":
            # Visible text can be shorter than the markup; keep a margin for collapsed spaces.
            text = mime.html_to_text(text, max_chars=PREVIEW_CHARS * 4)
        return mime.collapse_whitespace(text)[:PREVIEW_CHARS]


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
            "size": safe_int(part.size),
            "partId": part_id,
        }
        for part_id, part in found
    ]
