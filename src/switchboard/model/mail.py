"""The mail the engine's reader returns and takes: mailboxes, fetched messages, what to fetch.

Neutral data, no IMAP syntax: the engine (``switchboard.engine.reader``) turns a :class:`FetchPlan`
into IMAP FETCH items and the server's responses into :class:`FetchedMessage` values, and the pure
mail package (``switchboard.mail``) reads those. Byte strings stay bytes wherever the message may
hold 8-bit data or RFC 2047 words (header blocks, body parameters): decoding them is
``switchboard.mail``'s job, done one way for everyone.

- :class:`MailboxInfo`: one mailbox of a LIST, with its UIDVALIDITY.
- :class:`BodyPart`: a message's MIME structure (IMAP's BODYSTRUCTURE as a tree).
- :class:`BodySection`: a part of a message to fetch: all of it, its header, its text, a MIME
  part, or a prefix of one.
- :class:`FetchPlan`: what to fetch of each message, with an optional second stage decided from
  the first result (parts that can only be named once the structure is known).
- :class:`FetchedMessage`: what came back for one message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["BodyPart", "BodySection", "FetchPlan", "FetchedMessage", "MailboxInfo"]


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    """One mailbox as the account's LIST shows it.

    Attributes:
        name: the raw name, exactly as the server lists it (modified UTF-7, RFC 3501 §5.1.3):
            what every command must send back.
        display_name: the name for people (modified UTF-7 decoded; the raw name when it is not
            valid modified UTF-7).
        uidvalidity: the mailbox's UIDVALIDITY, ``None`` for one that cannot be selected.
        flags: the LIST attributes as sent (``\\HasNoChildren``, ``\\Noselect``, special-use
            ``\\Sent``…); compare them case-insensitively.
        delimiter: the hierarchy delimiter, ``None`` for a flat namespace.
    """

    name: str
    display_name: str
    uidvalidity: int | None
    flags: tuple[str, ...] = ()
    delimiter: str | None = None

    @property
    def selectable(self) -> bool:
        """Whether the mailbox can be opened (not ``\\Noselect`` nor ``\\NonExistent``)."""
        return self.uidvalidity is not None


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One node of a message's MIME structure (IMAP BODYSTRUCTURE, RFC 3501 §7.4.2).

    For a multipart node ``maintype == "multipart"`` and ``parts`` holds the children; the
    single-part fields keep their defaults. For ``message/rfc822`` ``body`` is the enclosed
    message's structure. Type, subtype and parameter names are lower-cased, parameter values kept
    as sent. ``disposition`` is e.g. ``("attachment", {"filename": b"a.bin"})``. What the server
    did not send stays ``None``.
    """

    maintype: str
    subtype: str
    params: Mapping[str, bytes] = field(default_factory=dict)
    parts: tuple[BodyPart, ...] = ()
    content_id: bytes | None = None
    description: bytes | None = None
    encoding: str | None = None
    size: int | None = None
    lines: int | None = None
    body: BodyPart | None = None
    md5: bytes | None = None
    disposition: tuple[str, Mapping[str, bytes]] | None = None
    language: tuple[str, ...] | None = None
    location: bytes | None = None


class BodySection(NamedTuple):
    """A section of a message to fetch (RFC 3501 §6.4.5), optionally only a range of it.

    A named tuple, not a dataclass: it keys :attr:`FetchedMessage.sections`, looked up for every
    message fetched, and a tuple hashes without a Python-level ``__hash__``.

    Attributes:
        part: ``""`` for the whole message, ``"HEADER"``, ``"TEXT"``, or a MIME part number
            such as ``"1"`` or ``"2.1"``.
        partial: ``(first octet, octets)`` to fetch only that range; ``None`` for all of it.
    """

    part: str = ""
    partial: tuple[int, int] | None = None


SecondStage = Callable[["FetchedMessage"], tuple[BodySection, ...]]
"""Given a message's first result, the sections to fetch next (empty: nothing more)."""


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """What to fetch of each message. Every message is fetched with its UID.

    Attributes:
        flags: its flags.
        size: its size in octets (RFC822.SIZE).
        internal_date: the date the server received it.
        header_fields: names of header fields to fetch as one block, e.g. ``("SUBJECT",
            "FROM")``; empty for none. The block is :attr:`FetchedMessage.headers`.
        body_structure: its MIME structure.
        sections: sections to fetch, e.g. ``(BodySection("TEXT"),)``.
        second_stage: called with each message's first result; the sections it names are then
            fetched for that message and added to its :attr:`FetchedMessage.sections`.
    """

    flags: bool = False
    size: bool = False
    internal_date: bool = False
    header_fields: tuple[str, ...] = ()
    body_structure: bool = False
    sections: tuple[BodySection, ...] = ()
    second_stage: SecondStage | None = None


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """What the server returned for one message; ``None`` for what was not asked or not sent.

    Attributes:
        uid: the message's UID.
        flags: its flags as sent (``\\Seen``…).
        size: its size in octets.
        internal_date: the server's INTERNALDATE text.
        headers: the block of the plan's header fields (RFC 5322 header lines, each ending in
            CRLF, in message order, then an empty line).
        body_structure: its MIME structure.
        sections: the octets of each section fetched, by the section as the plan named it
            (``None``: the server sent NIL).
    """

    uid: int
    flags: tuple[str, ...] | None = None
    size: int | None = None
    internal_date: str | None = None
    headers: bytes | None = None
    body_structure: BodyPart | None = None
    sections: Mapping[BodySection, bytes | None] = field(default_factory=dict)
