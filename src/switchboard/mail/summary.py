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

from typing import Final

from switchboard.mail.addresses import format_address
from switchboard.mail.envelope import ENVELOPE_FIELDS, Envelope
from switchboard.mail.headers import decoded_text, raw_text
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


def summarize(message: FetchedMessage) -> MessageSummary:
    """The summary of one message fetched with :data:`SUMMARY_PLAN`; what is missing is ``None``."""
    return summary_of(message.headers, message.size)


def summary_of(headers: bytes | None, size: int | None) -> MessageSummary:
    """The summary of a message from its header fields block and its size (``None``: unknown)."""
    envelope = Envelope(headers)
    subject = envelope.subject
    date = envelope.date
    senders = envelope.addresses("from")
    return MessageSummary(
        subject=decoded_text(subject)[:MAX_FIELD_CHARS] if subject is not None else None,
        from_=format_address(senders[0])[:MAX_FIELD_CHARS] if senders else None,
        date=raw_text(date)[:MAX_FIELD_CHARS] if date is not None else None,
        size=size,
    )
