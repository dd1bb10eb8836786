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

__all__ = ["MAX_FIELD_CHARS", "SUMMARY_PLAN", "summarize"]

MAX_FIELD_CHARS: Final = 998
"""The most characters one header gives a summary (RFC 5322 §2.1.1's line limit)."""

SUMMARY_PLAN: Final = FetchPlan(size=True, header_fields=ENVELOPE_FIELDS)
"""What the engine fetches of each new message to summarize it: the same header fields as
``getMessages``' header properties, and the size."""


def summarize(message: FetchedMessage) -> MessageSummary:
    """The summary of one message fetched with :data:`SUMMARY_PLAN`; what is missing is ``None``."""
    envelope = Envelope(message.headers)
    subject = envelope.subject
    date = envelope.date
    senders = envelope.addresses("from")
    return MessageSummary(
        subject=decoded_text(subject)[:MAX_FIELD_CHARS] if subject is not None else None,
        from_=format_address(senders[0])[:MAX_FIELD_CHARS] if senders else None,
        date=raw_text(date)[:MAX_FIELD_CHARS] if date is not None else None,
        size=message.size,
    )
