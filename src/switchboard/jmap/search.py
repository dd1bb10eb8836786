"""A neutral model of IMAP SEARCH keys and SORT criteria, for the engine to serialise.

How it works: :mod:`~switchboard.jmap.emailquery` translates a JMAP filter into a tree of
these terms and a JMAP sort into :class:`SortCriterion` values. Each term says what it matches
in IMAP terms (RFC 9051 §6.4.4, RFC 5256 §3) without being IMAP bytes, so the engine decides
how to write it for the server at hand (quoting, charset, literal+, extensions):

===================  ================================  ==================================
term                 matches                           IMAP key
===================  ================================  ==================================
All                  every message                     ``ALL``
And(a, b, …)         all of the terms                  ``a b …`` (juxtaposition)
Or(a, b, …)          any of the terms                  nested ``OR a OR b …``
Not(a)               what ``a`` does not               ``NOT a``
InMailbox(id)        messages in that mailbox          (scope: which mailbox to SEARCH)
InMailboxOtherThan   messages in a mailbox not listed  (scope: which mailboxes to SEARCH)
ReceivedBefore(t)    INTERNALDATE < t                  ``BEFORE`` (date) + exact check †
ReceivedSince(t)     INTERNALDATE ≥ t                  ``SINCE`` (date) + exact check †
Larger(n)            RFC822.SIZE > n                   ``LARGER n``
Smaller(n)           RFC822.SIZE < n                   ``SMALLER n``
HasFlag(f)           FLAGS contain ``f``               ``SEEN``/… or ``KEYWORD f``
Contains(field, s)   the field contains ``s``          ``TEXT``/``BODY``/``SUBJECT``/…
Header(name, s)      the header field contains ``s``   ``HEADER name s`` (``""``: present)
===================  ================================  ==================================

† IMAP's BEFORE and SINCE compare dates only, in the server's time zone, while JMAP compares
instants: the engine searches with the widened date range (or RFC 5032 OLDER/YOUNGER when the
server has WITHIN) and then keeps the messages whose INTERNALDATE really is in range.

The mailbox terms are not SEARCH keys: IMAP searches one selected mailbox at a time.
:func:`mailbox_scope` lifts the common case (a filter that is, or is ANDed with, one
``inMailbox``) out of the tree.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from switchboard.jmap.datatypes import is_unsigned_int

__all__ = [
    "All",
    "And",
    "Contains",
    "HasFlag",
    "Header",
    "InMailbox",
    "InMailboxOtherThan",
    "Larger",
    "Not",
    "Or",
    "ReceivedBefore",
    "ReceivedSince",
    "SearchTerm",
    "Smaller",
    "SortCriterion",
    "SortKey",
    "TextField",
    "conjunction",
    "disjunction",
    "mailbox_scope",
]


class TextField(enum.Enum):
    """The text a :class:`Contains` term searches, named by its IMAP SEARCH key."""

    TEXT = "TEXT"
    BODY = "BODY"
    SUBJECT = "SUBJECT"
    FROM = "FROM"
    TO = "TO"
    CC = "CC"
    BCC = "BCC"


@dataclass(frozen=True, slots=True)
class All:
    """Every message."""


@dataclass(frozen=True, slots=True)
class And:
    """Messages matching every term. Build with :func:`conjunction` to keep trees flat."""

    terms: tuple[SearchTerm, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Messages matching at least one term. Build with :func:`disjunction`."""

    terms: tuple[SearchTerm, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Messages not matching ``term``."""

    term: SearchTerm


@dataclass(frozen=True, slots=True)
class InMailbox:
    """Messages in the mailbox with this JMAP id (scope, not a SEARCH key)."""

    mailbox_id: str


@dataclass(frozen=True, slots=True)
class InMailboxOtherThan:
    """Messages in at least one mailbox not in ``mailbox_ids`` (scope, not a SEARCH key)."""

    mailbox_ids: tuple[str, ...]


def _check_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a search instant must be an aware datetime")


@dataclass(frozen=True, slots=True)
class ReceivedBefore:
    """INTERNALDATE strictly before ``moment``.

    Raises:
        ValueError: ``moment`` is naive.
    """

    moment: datetime

    def __post_init__(self) -> None:
        _check_aware(self.moment)


@dataclass(frozen=True, slots=True)
class ReceivedSince:
    """INTERNALDATE at or after ``moment``.

    Raises:
        ValueError: ``moment`` is naive.
    """

    moment: datetime

    def __post_init__(self) -> None:
        _check_aware(self.moment)


@dataclass(frozen=True, slots=True)
class Larger:
    """RFC822.SIZE strictly greater than ``size`` octets.

    Raises:
        ValueError: ``size`` is not an UnsignedInt.
    """

    size: int

    def __post_init__(self) -> None:
        if not is_unsigned_int(self.size):
            raise ValueError(f"size must be an UnsignedInt, not {self.size!r}")


@dataclass(frozen=True, slots=True)
class Smaller:
    """RFC822.SIZE strictly less than ``size`` octets.

    Raises:
        ValueError: ``size`` is not an UnsignedInt.
    """

    size: int

    def __post_init__(self) -> None:
        if not is_unsigned_int(self.size):
            raise ValueError(f"size must be an UnsignedInt, not {self.size!r}")


@dataclass(frozen=True, slots=True)
class HasFlag:
    """The message has the IMAP flag ``flag`` (``\\Seen`` or a keyword such as ``$junk``)."""

    flag: str


@dataclass(frozen=True, slots=True)
class Contains:
    """The message's ``field`` contains ``value`` (IMAP: case-insensitive substring)."""

    field: TextField
    value: str


@dataclass(frozen=True, slots=True)
class Header:
    """The header field ``name`` contains ``value``; ``""`` matches any message with the field.

    Raises:
        ValueError: ``name`` is not a header field name (RFC 5322 §3.6.8: printable ASCII
            without colon or space).
    """

    name: str
    value: str

    def __post_init__(self) -> None:
        if not self.name or not all(33 <= ord(c) <= 126 and c != ":" for c in self.name):
            raise ValueError(f"{self.name[:60]!r} is not a header field name")


SearchTerm: TypeAlias = (
    All
    | And
    | Or
    | Not
    | InMailbox
    | InMailboxOtherThan
    | ReceivedBefore
    | ReceivedSince
    | Larger
    | Smaller
    | HasFlag
    | Contains
    | Header
)
"""Any node of a search tree."""


class SortKey(enum.Enum):
    """An IMAP SORT key (RFC 5256 §3; DISPLAYFROM/DISPLAYTO from RFC 5957).

    JMAP sorts ``from``/``to`` by the first address's display name, else its address
    (RFC 8621 §4.4.2), which is DISPLAYFROM/DISPLAYTO; on a server without RFC 5957 the engine
    falls back to FROM/TO (the address's mailbox part).
    """

    ARRIVAL = "ARRIVAL"
    DATE = "DATE"
    SIZE = "SIZE"
    DISPLAYFROM = "DISPLAYFROM"
    DISPLAYTO = "DISPLAYTO"
    SUBJECT = "SUBJECT"


@dataclass(frozen=True, slots=True)
class SortCriterion:
    """One SORT criterion: the key, and ``reverse`` for descending order (IMAP REVERSE)."""

    key: SortKey
    reverse: bool = False


def conjunction(terms: Iterable[SearchTerm]) -> SearchTerm:
    """AND terms together: nested Ands are flattened, ``All`` dropped, one term returned bare.

    An empty conjunction is ``All`` (the empty AND is true, RFC 8620 §5.5).
    """
    flat: list[SearchTerm] = []
    for term in terms:
        if isinstance(term, And):
            flat.extend(term.terms)
        elif not isinstance(term, All):
            flat.append(term)
    if not flat:
        return All()
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def disjunction(terms: Iterable[SearchTerm]) -> SearchTerm:
    """OR terms together: nested Ors flattened, one term returned bare, ``All`` absorbs.

    An empty disjunction matches nothing, written ``Not(All())``.
    """
    flat: list[SearchTerm] = []
    for term in terms:
        if isinstance(term, All):
            return All()
        flat.extend(term.terms if isinstance(term, Or) else (term,))
    if not flat:
        return Not(All())
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def mailbox_scope(term: SearchTerm) -> tuple[str | None, SearchTerm]:
    """Lift a single top-level ``InMailbox`` out of a search tree.

    Returns:
        ``(mailbox_id, rest)`` when ``term`` is an InMailbox, or an And with exactly one
        InMailbox among its terms; ``(None, term)`` otherwise (the engine must then search
        several mailboxes, or refuse).
    """
    if isinstance(term, InMailbox):
        return term.mailbox_id, All()
    if isinstance(term, And):
        scopes = [t for t in term.terms if isinstance(t, InMailbox)]
        if len(scopes) == 1:
            return scopes[0].mailbox_id, conjunction(t for t in term.terms if t is not scopes[0])
    return None, term
