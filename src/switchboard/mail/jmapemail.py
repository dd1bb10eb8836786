"""RFC 8621 Email objects from what the engine's reader fetched: plan the fetch, then render.

Pure: :class:`EmailPlan` turns the properties an Email/get asks for into a
:class:`~switchboard.model.mail.FetchPlan` (FLAGS, INTERNALDATE, RFC822.SIZE, the header block,
BODYSTRUCTURE, and in a second stage the body parts whose values, preview or MIME headers are
wanted), and renders each fetched message into the properties that come from the message
itself. The ids (``id``, ``blobId``, ``threadId``, ``mailboxIds``) and ``keywords`` are the
caller's: they depend on where the message is, not on what it holds. The structure is read
by :mod:`~switchboard.mail.jmapbody`, header properties by :mod:`~switchboard.mail.jmapheaders`.

How the parts are read, and where this differs from a server that parses the raw message:

* The structure is IMAP's BODYSTRUCTURE; ``partId`` is the IMAP section (``"1"``, ``"2.1"``),
  a multipart node has none. ``textBody``, ``htmlBody`` and ``attachments`` follow RFC 8621
  §4.1.4's algorithm exactly. ``message/rfc822`` parts are leaves.
* A part's ``size`` is its decoded size: exact for identity encodings, estimated from the
  encoded size for base64 (3/4 of it less line breaks) and quoted-printable (the encoded size).
* A part's ``headers`` (and ``header:…`` body properties) are its ``n.MIME`` section, fetched
  only when asked; the root part's are the message's.
* ``bodyValues`` decode the transfer encoding and the charset with :mod:`switchboard.mail.mime`
  (the one decoder), CRLF made LF as §4.1.4 asks. With ``maxBodyValueBytes`` only a prefix
  large enough for that many UTF-8 octets is fetched; the value is cut at a character
  boundary (``isTruncated``).
  ``isEncodingProblem`` is set when decoding produced U+FFFD the octets did not hold.
* ``preview`` is the first 256 characters of the first text/plain body part (else the visible
  text of the first text/html one), whitespace collapsed, read from a prefix of the part.
* Header forms (``header:Name:asText``…) follow RFC 8621 §4.1.2. Groups are flattened by the
  address parser, so ``asGroupedAddresses`` gives one group with a ``null`` name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from switchboard.mail import mime
from switchboard.mail.charsets import decode_lossless
from switchboard.mail.dates import parse_internal_date
from switchboard.mail.headers import decode_words
from switchboard.mail.jmapbody import BodyParts, Node, all_nodes, body_parts, decoded_size
from switchboard.mail.jmapheaders import (
    HeaderProperty,
    format_date,
    format_utc_date,
    header_fields,
    header_list,
    parse_header_property,
    render_header,
)
from switchboard.model.mail import BodySection, FetchedMessage, FetchPlan

__all__ = [
    "BODY_PROPERTIES",
    "DEFAULT_BODY_PROPERTIES",
    "DEFAULT_PROPERTIES",
    "EMAIL_PROPERTIES",
    "LOCATION_PROPERTIES",
    "PREVIEW_CHARS",
    "BodyValueOptions",
    "EmailPlan",
    "HeaderProperty",
    "PropertyNames",
    "body_parts",
    "format_date",
    "format_utc_date",
    "header_fields",
    "parse_header_property",
    "render_header",
]

PREVIEW_CHARS: Final = 256
"""RFC 8621 §4.1.4: a preview is at most 256 characters."""

_PREVIEW_SOURCE: Final = 4096  # octets of the preview part fetched

LOCATION_PROPERTIES: Final = frozenset({"id", "blobId", "threadId", "mailboxIds", "keywords"})
"""Properties the caller renders (they say where the message is, or are its flags)."""

_HEADER_CONVENIENCE: Final = {
    "messageId": ("message-id", "MessageIds"),
    "inReplyTo": ("in-reply-to", "MessageIds"),
    "references": ("references", "MessageIds"),
    "sender": ("sender", "Addresses"),
    "from": ("from", "Addresses"),
    "to": ("to", "Addresses"),
    "cc": ("cc", "Addresses"),
    "bcc": ("bcc", "Addresses"),
    "replyTo": ("reply-to", "Addresses"),
    "subject": ("subject", "Text"),
    "sentAt": ("date", "Date"),
}
_BODY: Final = frozenset({"bodyStructure", "bodyValues", "textBody", "htmlBody", "attachments",
                          "hasAttachment", "preview"})  # fmt: skip

EMAIL_PROPERTIES: Final = (
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
    *_HEADER_CONVENIENCE, "headers", "bodyStructure", "bodyValues", "textBody", "htmlBody",
    "attachments", "hasAttachment", "preview",
)  # fmt: skip
"""Every Email property (RFC 8621 §4.1), besides the ``header:…`` forms."""

DEFAULT_PROPERTIES: Final = (
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "messageId",
    "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo", "subject",
    "sentAt", "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody", "attachments",
)  # fmt: skip
"""Email/get's properties when the request names none (RFC 8621 §4.2)."""

BODY_PROPERTIES: Final = ("partId", "blobId", "size", "headers", "name", "type", "charset",
                          "disposition", "cid", "language", "location", "subParts")  # fmt: skip
"""Every EmailBodyPart property, besides the ``header:…`` forms."""

DEFAULT_BODY_PROPERTIES: Final = ("partId", "blobId", "size", "name", "type", "charset",
                                  "disposition", "cid", "language", "location")  # fmt: skip
"""``bodyProperties`` when the request names none (RFC 8621 §4.2)."""

class PropertyNames:
    """The property names a /get accepts: a fixed list plus every well-formed ``header:…``.

    A collection for :func:`switchboard.jmap.arguments.parse_get`, which only asks ``in``.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self._names = frozenset(names)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and (
            item in self._names or parse_header_property(item) is not None
        )

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names))

    def __len__(self) -> int:
        return len(self._names)


@dataclass(frozen=True, slots=True)
class BodyValueOptions:
    """Which body values Email/get returns, and how long they may be (RFC 8621 §4.2)."""

    text: bool = False
    html: bool = False
    all: bool = False
    max_bytes: int = 0  # 0: no limit


def _section(part_id: str, octets: int | None) -> BodySection:
    return BodySection(part_id, None if octets is None else (0, octets))


def _mime_section(node: Node) -> BodySection:
    return BodySection(f"{node.path}.MIME")


# -- the plan ---------------------------------------------------------------------------------


class EmailPlan:
    """What to fetch for an Email/get's properties, and how to render each message.

    Args:
        properties: the Email properties wanted (checked by the caller).
        body_properties: the EmailBodyPart properties wanted.
        values: which body values to return.

    Attributes:
        fetch: the reader's plan for every message of the call.
    """

    def __init__(
        self,
        properties: Iterable[str],
        body_properties: Iterable[str] = DEFAULT_BODY_PROPERTIES,
        values: BodyValueOptions = BodyValueOptions(),
    ) -> None:
        self.properties = tuple(dict.fromkeys(properties))
        self.body_properties = tuple(dict.fromkeys(body_properties))
        self.values = values
        wanted = set(self.properties)
        self._headers = {
            p: h for p in self.properties if (h := parse_header_property(p)) is not None
        }
        self._body_headers = {
            p: h for p in self.body_properties if (h := parse_header_property(p)) is not None
        }
        self._part_headers = bool(self._body_headers) or "headers" in self.body_properties
        structure_wanted = bool(wanted & _BODY)
        self._needs_header = bool(
            wanted & (set(_HEADER_CONVENIENCE) | {"headers"}) or self._headers
            or (self._part_headers and wanted & {"bodyStructure", "textBody", "htmlBody",
                                                 "attachments"})
        )  # fmt: skip
        self.fetch = FetchPlan(
            flags="keywords" in wanted,
            size="size" in wanted,
            internal_date="receivedAt" in wanted,
            body_structure=structure_wanted,
            sections=(BodySection("HEADER"),) if self._needs_header else (),
            second_stage=self._second_stage if structure_wanted else None,
        )

    # -- second stage ------------------------------------------------------------------------

    def _value_nodes(self, parts: BodyParts) -> list[Node]:
        chosen: dict[str, Node] = {}
        groups: list[Iterable[Node]] = []
        if "bodyValues" in self.properties:
            if self.values.all:
                groups += [parts.text, parts.html]
            else:
                if self.values.text:
                    groups.append(parts.text)
                if self.values.html:
                    groups.append(parts.html)
        for group in groups:
            for node in group:
                if node.part.maintype == "text" and node.part_id is not None:
                    chosen.setdefault(node.part_id, node)
        return list(chosen.values())

    def _wanted_parts(self, parts: BodyParts) -> dict[str, int | None]:
        """partId → octets to fetch from its start (``None``: all of it).

        One section per part: a value and the preview of the same part share it, since a
        server names every prefix of a part ``BODY[n]<0>`` in its answer.
        """
        wanted: dict[str, int | None] = {}

        def want(part_id: str, octets: int | None) -> None:
            if part_id in wanted:
                old = wanted[part_id]
                wanted[part_id] = None if old is None or octets is None else max(old, octets)
            else:
                wanted[part_id] = octets

        limit = self.values.max_bytes
        for node in self._value_nodes(parts):
            assert node.part_id is not None
            size = node.part.size
            # 3 octets of quoted-printable or 4/3 of base64 give at least one decoded octet.
            prefix = 3 * limit + 64
            want(node.part_id, prefix if limit and (size is None or size > prefix) else None)
        preview = self._preview_node(parts)
        if preview is not None and preview.part_id is not None:
            want(preview.part_id, _PREVIEW_SOURCE)
        return wanted

    def _preview_node(self, parts: BodyParts) -> Node | None:
        if "preview" not in self.properties:
            return None
        for group in (parts.text, parts.html):
            for node in group:
                if node.type in ("text/plain", "text/html"):
                    return node
        return None

    def _second_stage(self, first: FetchedMessage) -> tuple[BodySection, ...]:
        structure = first.body_structure
        if structure is None:
            return ()
        parts = body_parts(structure)
        sections: dict[BodySection, None] = {
            _section(part_id, octets): None
            for part_id, octets in self._wanted_parts(parts).items()
        }
        if self._part_headers:
            for node in all_nodes(parts.root):
                if node.path:
                    sections[_mime_section(node)] = None
        return tuple(sections)

    # -- rendering ---------------------------------------------------------------------------

    def render(
        self, message: FetchedMessage, part_blob_id: Callable[[str], str | None]
    ) -> dict[str, Any]:
        """The message-derived properties of one Email, in request order.

        Args:
            message: what the reader fetched with :attr:`fetch` (both stages).
            part_blob_id: the blobId of the part with this IMAP section.

        Returns:
            One key per wanted property except :data:`LOCATION_PROPERTIES`; ``null`` for what
            the server did not send. Never raises for any server data.
        """
        fields = header_fields(message.sections.get(BodySection("HEADER")))
        structure = message.body_structure
        parts = body_parts(structure) if structure is not None else None
        out: dict[str, Any] = {}
        for prop in self.properties:
            if prop in LOCATION_PROPERTIES:
                continue
            if prop == "size":
                out[prop] = message.size
            elif prop == "receivedAt":
                moment = parse_internal_date(message.internal_date)
                out[prop] = format_utc_date(moment) if moment is not None else None
            elif prop in _HEADER_CONVENIENCE:
                name, form = _HEADER_CONVENIENCE[prop]
                out[prop] = render_header(fields, HeaderProperty(name, form))
            elif prop == "headers":
                out[prop] = header_list(fields)
            elif prop in self._headers:
                out[prop] = render_header(fields, self._headers[prop])
            elif parts is None:
                out[prop] = None
            elif prop == "bodyStructure":
                out[prop] = self._part(parts.root, message, fields, part_blob_id, tree=True)
            elif prop in ("textBody", "htmlBody", "attachments"):
                nodes = {"textBody": parts.text, "htmlBody": parts.html,
                         "attachments": parts.attachments}[prop]  # fmt: skip
                out[prop] = [
                    self._part(node, message, fields, part_blob_id, tree=False) for node in nodes
                ]
            elif prop == "bodyValues":
                out[prop] = self._body_values(parts, message)
            elif prop == "hasAttachment":
                out[prop] = any(mime.is_attachment(node.part) for node in parts.attachments)
            elif prop == "preview":
                out[prop] = self._preview(parts, message)
        return out

    def _part(
        self,
        node: Node,
        message: FetchedMessage,
        message_fields: Sequence[tuple[bytes, bytes]],
        part_blob_id: Callable[[str], str | None],
        *,
        tree: bool,
    ) -> dict[str, Any]:
        part = node.part
        fields: Sequence[tuple[bytes, bytes]] = message_fields
        if node.path:
            fields = header_fields(message.sections.get(_mime_section(node)))
        out: dict[str, Any] = {}
        for prop in self.body_properties:
            if prop == "partId":
                out[prop] = node.part_id
            elif prop == "blobId":
                out[prop] = part_blob_id(node.part_id) if node.part_id is not None else None
            elif prop == "size":
                out[prop] = decoded_size(part)
            elif prop == "headers":
                out[prop] = header_list(fields)
            elif prop == "name":
                out[prop] = mime.part_filename(part)
            elif prop == "type":
                out[prop] = node.type
            elif prop == "charset":
                charset = part.params.get("charset")
                if charset is not None:
                    out[prop] = decode_lossless(charset).strip() or None
                else:
                    out[prop] = "us-ascii" if part.maintype == "text" else None
            elif prop == "disposition":
                out[prop] = node.disposition
            elif prop == "cid":
                cid = part.content_id
                out[prop] = decode_lossless(cid).strip().strip("<>") or None if cid else None
            elif prop == "language":
                out[prop] = list(part.language) if part.language else None
            elif prop == "location":
                out[prop] = decode_words(part.location) if part.location else None
            elif prop == "subParts":
                if tree and part.maintype == "multipart":
                    out[prop] = [
                        self._part(child, message, message_fields, part_blob_id, tree=True)
                        for child in node.children()
                    ]
                else:
                    out[prop] = None
            elif prop in self._body_headers:
                out[prop] = render_header(fields, self._body_headers[prop])
        if tree and part.maintype == "multipart" and "subParts" not in out:
            # The tree is not a tree without them, whatever bodyProperties says.
            out["subParts"] = [
                self._part(child, message, message_fields, part_blob_id, tree=True)
                for child in node.children()
            ]
        return out

    def _part_data(
        self, parts: BodyParts, part_id: str, message: FetchedMessage
    ) -> tuple[bytes, bool] | None:
        """A part's octets as fetched, and whether they are all of it."""
        wanted = self._wanted_parts(parts)
        if part_id not in wanted:
            return None
        octets = wanted[part_id]
        data = message.sections.get(_section(part_id, octets))
        if data is None:
            return None
        return data, octets is None or len(data) < octets

    def _part_text(
        self, parts: BodyParts, node: Node, message: FetchedMessage
    ) -> tuple[str, bool, bool] | None:
        """A text part's value, whether it is cut short, and whether decoding had problems."""
        assert node.part_id is not None
        found = self._part_data(parts, node.part_id, message)
        if found is None:
            return None
        data, complete = found
        text = mime.decode_part(node.part, data, complete=complete)
        problem = "\ufffd" in text and b"\xef\xbf\xbd" not in data
        return text, not complete, problem

    def _body_values(self, parts: BodyParts, message: FetchedMessage) -> dict[str, Any]:
        values: dict[str, Any] = {}
        limit = self.values.max_bytes
        for node in self._value_nodes(parts):
            found = self._part_text(parts, node, message)
            if found is None or node.part_id is None:
                continue
            text, truncated, problem = found
            text = text.replace("\r\n", "\n")  # RFC 8621 §4.1.4: CRLF becomes LF
            if limit and len(text.encode("utf-8")) > limit:
                text = text.encode("utf-8")[:limit].decode("utf-8", "ignore")
                truncated = True
            values[node.part_id] = {
                "value": text,
                "isEncodingProblem": problem,
                "isTruncated": truncated,
            }
        return values

    def _preview(self, parts: BodyParts, message: FetchedMessage) -> str:
        node = self._preview_node(parts)
        if node is None or node.part_id is None:
            return ""
        found = self._part_data(parts, node.part_id, message)
        if found is None:
            return ""
        data, complete = found
        if len(data) > 4 * _PREVIEW_SOURCE:  # a whole part fetched for its value
            data, complete = data[: 4 * _PREVIEW_SOURCE], False
        text = mime.decode_part(node.part, data, complete=complete)
        if node.part.subtype == "html":
            text = mime.html_to_text(text, max_chars=PREVIEW_CHARS * 4)
        return mime.collapse_whitespace(text)[:PREVIEW_CHARS]
