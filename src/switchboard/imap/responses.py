"""Typed IMAP server responses: what the sans-I/O parser produces and the connection consumes.

Every value is a frozen, slotted dataclass, so a parsed response and one written by hand in a
test compare equal. Strings the server sends as IMAP ``string``/``nstring`` (envelope fields,
body parameters) stay ``bytes``: they may hold 8-bit data or RFC 2047 words, and decoding them is
the job of the layer that knows what they mean. Atoms and mailbox names, which RFC 3501 keeps to
7-bit, are ``str`` (mailbox names in their raw modified UTF-7 form; see ``mail.utf7``).

See Also:
    RFC 3501 §7 (server responses), RFC 2177 (IDLE), RFC 5161 (ENABLE).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "Address",
    "BodyPart",
    "Capability",
    "Continuation",
    "Enabled",
    "Envelope",
    "Exists",
    "Expunge",
    "Fetch",
    "Flags",
    "ListItem",
    "MailboxStatus",
    "Recent",
    "Response",
    "ResponseCode",
    "Search",
    "Status",
    "StatusResponse",
    "TaggedResponse",
    "Unknown",
    "UntaggedResponse",
]


class Status(enum.Enum):
    """The condition of a status response (RFC 3501 §7.1)."""

    OK = "OK"
    NO = "NO"
    BAD = "BAD"
    PREAUTH = "PREAUTH"
    BYE = "BYE"


@dataclass(frozen=True, slots=True)
class ResponseCode:
    """A bracketed response code such as ``[UIDVALIDITY 3857529045]``.

    ``name`` is upper-cased. ``value`` is typed by code: an ``int`` for UIDVALIDITY, UIDNEXT,
    UNSEEN and HIGHESTMODSEQ; a tuple of upper-cased atoms for CAPABILITY and a tuple of flags
    for PERMANENTFLAGS; the raw remaining text for any other code that carries one; ``None``
    for bare codes such as ``[READ-WRITE]``, ``[CLOSED]`` or ``[ALERT]``.
    """

    name: str
    value: int | tuple[str, ...] | str | None = None


@dataclass(frozen=True, slots=True)
class Continuation:
    """A ``+ text`` continuation request; ``text`` may be base64 data during AUTHENTICATE."""

    text: str


@dataclass(frozen=True, slots=True)
class TaggedResponse:
    """The completion of a command: ``<tag> OK|NO|BAD [code] text``."""

    tag: str
    status: Status
    code: ResponseCode | None
    text: str


@dataclass(frozen=True, slots=True)
class StatusResponse:
    """An untagged ``* OK/NO/BAD/PREAUTH/BYE [code] text``, e.g. ``* OK Still here``."""

    status: Status
    code: ResponseCode | None
    text: str


@dataclass(frozen=True, slots=True)
class Capability:
    """``* CAPABILITY ...``; atoms upper-cased (``IMAP4REV1``, ``IDLE``, ``AUTH=PLAIN``)."""

    capabilities: frozenset[str]


@dataclass(frozen=True, slots=True)
class Enabled:
    """``* ENABLED ...`` (RFC 5161); atoms upper-cased."""

    capabilities: frozenset[str]


@dataclass(frozen=True, slots=True)
class Exists:
    """``* n EXISTS``: the mailbox now holds ``count`` messages."""

    count: int


@dataclass(frozen=True, slots=True)
class Recent:
    """``* n RECENT``."""

    count: int


@dataclass(frozen=True, slots=True)
class Expunge:
    """``* n EXPUNGE``: message sequence number ``seq`` is gone."""

    seq: int


@dataclass(frozen=True, slots=True)
class Flags:
    """``* FLAGS (...)``: the flags defined in the selected mailbox."""

    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListItem:
    """One ``* LIST`` or ``* LSUB`` line.

    ``name`` is the raw mailbox name as sent (modified UTF-7), whether the server sent it as an
    atom, a quoted string or a literal. ``flags`` keep their case as sent (``\\Noselect``);
    compare them case-insensitively. ``delimiter`` is ``None`` for ``NIL``.
    """

    command: str  # "LIST" or "LSUB"
    flags: tuple[str, ...]
    delimiter: str | None
    name: str


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    """``* STATUS name (MESSAGES n UIDNEXT n ...)``; item names upper-cased."""

    name: str
    items: dict[str, int]


@dataclass(frozen=True, slots=True)
class Search:
    """``* SEARCH n n ...`` (sequence numbers, or UIDs after UID SEARCH)."""

    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Address:
    """One address of an envelope (RFC 3501 §7.4.2): name, source route, mailbox, host.

    A group start has ``host is None`` and the group name in ``mailbox``; a group end has
    ``mailbox is None`` and ``host is None``.
    """

    name: bytes | None
    route: bytes | None
    mailbox: bytes | None
    host: bytes | None


@dataclass(frozen=True, slots=True)
class Envelope:
    """The ENVELOPE fetch item. Fields are raw header values; ``None`` stands for NIL.

    Address lists are ``None`` for NIL (absent header), never an empty tuple.
    """

    date: bytes | None
    subject: bytes | None
    from_: tuple[Address, ...] | None
    sender: tuple[Address, ...] | None
    reply_to: tuple[Address, ...] | None
    to: tuple[Address, ...] | None
    cc: tuple[Address, ...] | None
    bcc: tuple[Address, ...] | None
    in_reply_to: bytes | None
    message_id: bytes | None


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One node of a BODYSTRUCTURE (or BODY) tree.

    For a multipart node ``maintype == "multipart"``, ``parts`` holds the children and the
    single-part fields stay at their defaults. For ``message/rfc822`` ``envelope`` and ``body``
    describe the enclosed message. Type and subtype are lower-cased; parameter names are
    lower-cased, values kept as sent. ``disposition`` is e.g. ``("attachment", {"filename":
    b"a.bin"})``. Extension data the server omits stays ``None``.
    """

    maintype: str
    subtype: str
    params: dict[str, bytes] = field(default_factory=dict)
    parts: tuple[BodyPart, ...] = ()
    content_id: bytes | None = None
    description: bytes | None = None
    encoding: str | None = None
    size: int | None = None
    lines: int | None = None
    envelope: Envelope | None = None
    body: BodyPart | None = None
    md5: bytes | None = None
    disposition: tuple[str, dict[str, bytes]] | None = None
    language: tuple[str, ...] | None = None
    location: bytes | None = None


@dataclass(frozen=True, slots=True)
class Fetch:
    """``* n FETCH (...)``: the items the server sent for message sequence number ``seq``.

    ``sections`` maps the section spec as the server named it, upper-cased and without
    ``.PEEK`` (``"BODY[]"``, ``"BODY[TEXT]"``, ``"BODY[HEADER.FIELDS (SUBJECT)]"``,
    ``"BODY[1.2]"``, ``"BODY[]<0>"``) to its bytes, or ``None`` for NIL.
    """

    seq: int
    uid: int | None = None
    flags: tuple[str, ...] | None = None
    size: int | None = None
    internaldate: str | None = None
    envelope: Envelope | None = None
    bodystructure: BodyPart | None = None
    modseq: int | None = None
    sections: dict[str, bytes | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unknown:
    """An untagged response the parser does not model; kept whole so nothing is lost."""

    line: bytes


UntaggedResponse = (
    StatusResponse
    | Capability
    | Enabled
    | Exists
    | Recent
    | Expunge
    | Flags
    | ListItem
    | MailboxStatus
    | Search
    | Fetch
    | Unknown
)
Response = TaggedResponse | Continuation | UntaggedResponse
