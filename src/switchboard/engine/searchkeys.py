"""Write a neutral search tree (:mod:`switchboard.jmap.search`) as IMAP ``UID SEARCH`` criteria.

Pure (no I/O). :func:`imap_search` returns the criteria text and the exact instant bounds the
reader must still check against each message's INTERNALDATE:

* IMAP's ``BEFORE``/``SINCE`` compare dates only, in the time zone of each message's
  INTERNALDATE, where JMAP's ``before``/``after`` compare instants. A top-level date term is
  sent widened by two days on its open side (so no time zone can push a matching message out)
  and the reader keeps only the messages whose INTERNALDATE really is in range. A date term
  under ``NOT`` or ``OR`` cannot be widened that way (a widened term under ``NOT`` narrows):
  it is :class:`UnsupportedSearchError`.
* Strings travel as quoted strings, so they must be printable ASCII: the command connection
  sends criteria as one line and has no literal for them. A top-level non-ASCII ``subject``,
  ``from``, ``to``, ``cc`` or ``bcc`` is matched by the reader instead, against the decoded
  header field (:attr:`ImapSearch.header_checks`, :func:`header_matches`); any other
  non-ASCII search text is :class:`UnsupportedSearchError` (the server answers
  ``unsupportedFilter``).
* Mailbox terms are scope, lifted out before (:func:`switchboard.jmap.search.mailbox_scope`);
  one left in the tree is :class:`UnsupportedSearchError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from switchboard.jmap.search import (
    All,
    And,
    Contains,
    HasFlag,
    Header,
    InMailbox,
    InMailboxOtherThan,
    Larger,
    Not,
    Or,
    ReceivedBefore,
    ReceivedSince,
    SearchTerm,
    Smaller,
    TextField,
)
from switchboard.mail.headers import decoded_text, field_values

__all__ = ["ImapSearch", "UnsupportedSearchError", "header_matches", "imap_search"]

_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip
_SYSTEM: Final = {"\\seen": "SEEN", "\\flagged": "FLAGGED", "\\answered": "ANSWERED",
                  "\\draft": "DRAFT", "\\deleted": "DELETED"}  # fmt: skip
_PRINTABLE: Final = re.compile(r"[\x20-\x7e]*")
# A keyword as IMAP SEARCH KEYWORD takes it: an atom (jmap.keywords already checked the grammar).
_ATOM: Final = re.compile(r"[!#$&'+-\[^-z|}~]+")
# Date terms are widened by this much: more than any time zone offset (±14 h) in either direction.
_WIDEN: Final = timedelta(days=2)
_HEADER_FIELDS: Final = frozenset(
    {TextField.SUBJECT, TextField.FROM, TextField.TO, TextField.CC, TextField.BCC}
)


class UnsupportedSearchError(ValueError):
    """The tree holds a term IMAP SEARCH cannot be asked here; the message says which."""


@dataclass(frozen=True, slots=True)
class ImapSearch:
    """A search as the reader runs it.

    Attributes:
        criteria: the ``UID SEARCH`` criteria, printable ASCII.
        since: keep only messages whose INTERNALDATE is at or after this instant.
        before: keep only messages whose INTERNALDATE is strictly before this instant.
        header_checks: ``(field, text)``: keep only messages whose decoded header field
            (``SUBJECT``, ``FROM``…) contains the text, case-insensitively.
    """

    criteria: str
    since: datetime | None = None
    before: datetime | None = None
    header_checks: tuple[tuple[str, str], ...] = ()

    def admits(self, internal_date: datetime | None) -> bool:
        """Whether a message received at ``internal_date`` is within the exact bounds."""
        if self.since is None and self.before is None:
            return True
        if internal_date is None:
            return False
        if self.since is not None and internal_date < self.since:
            return False
        return self.before is None or internal_date < self.before


def _imap_date(day: date) -> str:
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


def _quoted(text: str) -> str:
    if _PRINTABLE.fullmatch(text) is None:
        raise UnsupportedSearchError("search text must be printable ASCII here")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key(term: SearchTerm) -> str:
    if isinstance(term, All):
        return "ALL"
    if isinstance(term, And):
        return "(" + " ".join(_key(t) for t in term.terms) + ")"
    if isinstance(term, Or):
        # OR takes two keys: OR a OR b c
        keys = [_key(t) for t in term.terms]
        text = keys[-1]
        for key in reversed(keys[:-1]):
            text = f"OR {key} {text}"
        return text
    if isinstance(term, Not):
        return f"NOT {_key(term.term)}"
    if isinstance(term, Larger):
        return f"LARGER {term.size}"
    if isinstance(term, Smaller):
        return f"SMALLER {term.size}"
    if isinstance(term, HasFlag):
        system = _SYSTEM.get(term.flag.lower())
        if system is not None:
            return system
        if term.flag.startswith("\\") or _ATOM.fullmatch(term.flag) is None:
            raise UnsupportedSearchError(f"cannot search for the flag {term.flag[:60]!r}")
        return f"KEYWORD {term.flag}"
    if isinstance(term, Contains):
        return f"{term.field.value} {_quoted(term.value)}"
    if isinstance(term, Header):
        return f"HEADER {_quoted(term.name)} {_quoted(term.value)}"
    if isinstance(term, ReceivedBefore | ReceivedSince):
        raise UnsupportedSearchError("before/after can only be combined with AND")
    if isinstance(term, InMailbox | InMailboxOtherThan):
        raise UnsupportedSearchError("inMailbox/inMailboxOtherThan can only be combined with AND")
    raise UnsupportedSearchError(f"unknown search term {type(term).__name__}")


def imap_search(term: SearchTerm) -> ImapSearch:
    """The ``UID SEARCH`` criteria for ``term`` and the exact date bounds to check after.

    Raises:
        UnsupportedSearchError: the tree holds a term that cannot be sent (see the module doc).
    """
    parts = list(term.terms) if isinstance(term, And) else [term]
    since: datetime | None = None
    before: datetime | None = None
    keys: list[str] = []
    checks: list[tuple[str, str]] = []
    for part in parts:
        if (
            isinstance(part, Contains)
            and part.field in _HEADER_FIELDS
            and _PRINTABLE.fullmatch(part.value) is None
        ):
            checks.append((part.field.value, part.value))
        elif isinstance(part, ReceivedSince):
            moment = part.moment.astimezone(UTC)
            since = moment if since is None else max(since, moment)
        elif isinstance(part, ReceivedBefore):
            moment = part.moment.astimezone(UTC)
            before = moment if before is None else min(before, moment)
        elif not isinstance(part, All):
            keys.append(_key(part))
    if since is not None:
        keys.append(f"SINCE {_imap_date((since - _WIDEN).date())}")
    if before is not None:
        keys.append(f"BEFORE {_imap_date((before + _WIDEN).date())}")
    return ImapSearch(" ".join(keys) or "ALL", since, before, tuple(checks))


def header_matches(headers: bytes | None, checks: tuple[tuple[str, str], ...]) -> bool:
    """Whether a header block passes every ``(field, text)`` check (decoded, casefolded)."""
    if not checks:
        return True
    values = field_values(headers or b"")
    for name, text in checks:
        wanted = text.casefold()
        found = values.get(name.lower().encode("ascii"), [])
        if not any(wanted in decoded_text(value).casefold() for value in found):
            return False
    return True
