"""The summary a ``newMessage`` push carries: decoded subject, first sender, date, size.

Read from the message's header bytes with the same functions as ``getMessages``
(:mod:`switchboard.mail.render`), so for one message:

- ``subject`` is ``getMessages``' ``subjectDecoded``;
- ``from`` is its first ``from`` address as ``decodedName <email>`` (or ``email``);
- ``date`` is its ``date``;

each cut to :data:`MAX_FIELD_CHARS` characters, because the event log keeps every summary (a
header of a megabyte would otherwise be stored and pushed with every copy of the event).
Decoding never fails: a message with odd headers is announced like any other.
"""

from __future__ import annotations

import re
from typing import Final

from switchboard.mail.addresses import first_address, format_address
from switchboard.mail.envelope import ENVELOPE_FIELDS, Envelope
from switchboard.mail.headers import decoded_text, humanize, raw_text
from switchboard.model.events import MessageSummary
from switchboard.model.mail import FetchedMessage, FetchPlan

__all__ = ["MAX_FIELD_CHARS", "SUMMARY_FIELDS", "SUMMARY_PLAN", "summarize", "summary_of"]

MAX_FIELD_CHARS: Final = 998
"""The most characters one header gives a summary (RFC 5322 §2.1.1's line limit)."""

SUMMARY_FIELDS: Final = tuple(n for n in ENVELOPE_FIELDS if n in ("DATE", "SUBJECT", "FROM"))
"""The header fields a summary reads: those of ``getMessages``' ``date``, ``subject`` and
``from`` — the same bytes, read by the same functions — and no others (a long To or Cc list
would be fetched and parsed for nothing with every new message)."""

SUMMARY_PLAN: Final = FetchPlan(size=True, header_fields=SUMMARY_FIELDS)
"""What the engine fetches of each new message to summarize it."""


# The block nearly every IMAP server answers SUMMARY_PLAN with: one to three of the fields, each
# "Name: value" on one CRLF line (no folding), then the empty line. Read in one match; the same
# values as the general reading (a test compares the two), which takes every other block.
_TYPICAL_LINE: Final = rb"(date|subject|from)[ \t]*:([^\r\n]*)\r\n"
_TYPICAL: Final = re.compile(
    _TYPICAL_LINE + b"(?:" + _TYPICAL_LINE + b"(?:" + _TYPICAL_LINE + rb")?)?\r\n",
    re.IGNORECASE,
)
_WSP: Final = b" \t\r\n"


def summarize(message: FetchedMessage) -> MessageSummary:
    """The summary of one message fetched with :data:`SUMMARY_PLAN`; what is missing is ``None``."""
    return summary_of(message.headers, message.size)


def summary_of(headers: bytes | None, size: int | None) -> MessageSummary:
    """The summary of a message from its header fields block and its size (``None``: unknown)."""
    if headers is None:
        return MessageSummary(size=size)
    typical = _TYPICAL.fullmatch(headers)
    if typical is not None:
        found = _typical_summary(typical.groups(), size)
        if found is not None:
            return found
    return _general_summary(headers, size)


def _general_summary(headers: bytes, size: int | None) -> MessageSummary:
    """The summary of any header block, through :class:`~switchboard.mail.envelope.Envelope`."""
    envelope = Envelope(headers)
    subject = envelope.subject
    date = envelope.date
    sender = envelope.first_address("from")
    return MessageSummary(
        subject=decoded_text(subject)[:MAX_FIELD_CHARS] if subject is not None else None,
        from_=format_address(sender)[:MAX_FIELD_CHARS] if sender is not None else None,
        date=raw_text(date)[:MAX_FIELD_CHARS] if date is not None else None,
        size=size,
    )


def _typical_summary(groups: tuple[bytes | None, ...], size: int | None) -> MessageSummary | None:
    """The summary of a :data:`_TYPICAL` block; ``None`` when a field repeats (rare)."""
    subject = date = sender = None
    for index in range(0, 6, 2):
        name, value = groups[index], groups[index + 1]
        if name is None or value is None:
            break
        key = name.lower()
        if key == b"subject":
            if subject is not None:
                return None
            subject = value
        elif key == b"date":
            if date is not None:
                return None
            date = value
        elif sender is not None:
            return None
        else:
            sender = value
    # Envelope's rules (mail.envelope), applied to single fields.
    first = first_address(sender) if sender is not None else None
    return MessageSummary(
        subject=(
            decoded_text(humanize(subject))[:MAX_FIELD_CHARS] if subject is not None else None
        ),
        from_=format_address(first)[:MAX_FIELD_CHARS] if first is not None else None,
        date=raw_text(date.strip(_WSP))[:MAX_FIELD_CHARS] if date is not None else None,
        size=size,
    )
