"""A message's body as RFC 8621 §4.1.4 sees it: parts, ``textBody``, ``htmlBody``, attachments.

Pure, over IMAP's BODYSTRUCTURE (:class:`~switchboard.model.mail.BodyPart`). A :class:`Node`
is a part with its IMAP section path; ``partId`` is that section for a leaf, none for a
multipart; ``message/rfc822`` parts are leaves. :func:`body_parts` runs the RFC's
parseStructure algorithm exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from switchboard.mail import mime
from switchboard.model.mail import BodyPart

__all__ = ["BodyParts", "Node", "all_nodes", "body_parts", "decoded_size"]

@dataclass(frozen=True, slots=True)
class Node:
    """One part of the structure with its IMAP section path (``""`` for the root)."""

    path: str
    part: BodyPart

    @property
    def part_id(self) -> str | None:
        """The JMAP partId: the IMAP section of a leaf; ``None`` for a multipart."""
        if self.part.maintype == "multipart":
            return None
        return self.path or "1"

    @property
    def type(self) -> str:
        """``maintype/subtype``."""
        return f"{self.part.maintype}/{self.part.subtype}"

    @property
    def disposition(self) -> str | None:
        """The Content-Disposition type, lower-cased, or ``None``."""
        return self.part.disposition[0].lower() if self.part.disposition else None

    def children(self) -> list[Node]:
        """The parts of a multipart, with their sections; none for a leaf."""
        prefix = f"{self.path}." if self.path else ""
        return [Node(f"{prefix}{i}", child) for i, child in enumerate(self.part.parts, 1)]


def _inline_media(node: Node) -> bool:
    return node.part.maintype in ("image", "audio", "video")


def _parse_structure(
    parts: Sequence[Node],
    multipart_type: str,
    in_alternative: bool,
    html_body: list[Node] | None,
    text_body: list[Node] | None,
    attachments: list[Node],
) -> None:
    """RFC 8621 §4.1.4's parseStructure, as written there."""
    text_length = len(text_body) if text_body is not None else -1
    html_length = len(html_body) if html_body is not None else -1
    for index, node in enumerate(parts):
        is_multipart = node.part.maintype == "multipart"
        is_inline = (
            node.disposition != "attachment"
            and (node.type in ("text/plain", "text/html") or _inline_media(node))
            and (
                index == 0
                or (
                    multipart_type != "related"
                    and (_inline_media(node) or mime.part_filename(node.part) is None)
                )
            )
        )
        if is_multipart:
            sub = node.part.subtype
            _parse_structure(
                node.children(), sub, in_alternative or sub == "alternative",
                html_body, text_body, attachments,
            )  # fmt: skip
        elif is_inline:
            if multipart_type == "alternative":
                if node.type == "text/plain" and text_body is not None:
                    text_body.append(node)
                elif node.type == "text/html" and html_body is not None:
                    html_body.append(node)
                elif node.type not in ("text/plain", "text/html"):
                    attachments.append(node)
                continue
            if in_alternative:
                if node.type == "text/plain":
                    html_body = None
                if node.type == "text/html":
                    text_body = None
            if text_body is not None:
                text_body.append(node)
            if html_body is not None:
                html_body.append(node)
            if (text_body is None or html_body is None) and _inline_media(node):
                attachments.append(node)
        else:
            attachments.append(node)
    if multipart_type == "alternative" and text_body is not None and html_body is not None:
        if text_length == len(text_body) and html_length != len(html_body):
            text_body.extend(html_body[html_length:])
        if html_length == len(html_body) and text_length != len(text_body):
            html_body.extend(text_body[text_length:])


@dataclass(frozen=True, slots=True)
class BodyParts:
    """A message's body as RFC 8621 sees it."""

    root: Node
    text: tuple[Node, ...]
    html: tuple[Node, ...]
    attachments: tuple[Node, ...]


def body_parts(structure: BodyPart) -> BodyParts:
    """``textBody``, ``htmlBody`` and ``attachments`` of a structure (RFC 8621 §4.1.4)."""
    root = Node("", structure)
    text: list[Node] = []
    html: list[Node] = []
    attachments: list[Node] = []
    if structure.maintype == "multipart":
        _parse_structure(
            root.children(), structure.subtype, structure.subtype == "alternative",
            html, text, attachments,
        )  # fmt: skip
    else:
        _parse_structure([root], "mixed", False, html, text, attachments)
    return BodyParts(root, tuple(text), tuple(html), tuple(attachments))


def all_nodes(node: Node) -> Iterator[Node]:
    """``node`` and every part below it, depth first."""
    yield node
    for child in node.children():
        yield from all_nodes(child)


def decoded_size(part: BodyPart) -> int:
    """A part's size after transfer decoding: exact but for base64 (estimated, see below)."""
    size = part.size or 0
    if (part.encoding or "").upper() == "BASE64":
        # Lines of at most 76 characters and CRLF (RFC 2045 §6.8); the padding is unknown,
        # so this may be up to 2 octets over.
        line_ends = -(-size // 78)
        return max(0, (size - 2 * line_ends) * 3 // 4)
    return size
