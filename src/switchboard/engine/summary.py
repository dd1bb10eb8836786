"""Turn a FETCH's ENVELOPE and RFC822.SIZE into the decoded ``MessageSummary`` pushed with events.

Header values arrive as raw bytes: RFC 2047 encoded words, plain ASCII, or undeclared 8-bit
text (which real mail has). Decoding never fails: an undecodable word or byte becomes U+FFFD,
so a message with odd headers is announced like any other.
"""

from __future__ import annotations

import email.header

from switchboard.imap.responses import Address, Fetch
from switchboard.model.events import MessageSummary

__all__ = ["decode_header_value", "format_address", "summarize"]

# Bound what one header contributes to an event: the log keeps every event.
MAX_FIELD_CHARS = 998  # RFC 5322 §2.1.1 line limit


def _bytes_to_str(raw: bytes) -> str:
    # Undeclared 8-bit header bytes are UTF-8 far more often than anything else today.
    return raw.decode("utf-8", "replace")


def decode_header_value(raw: bytes | None) -> str | None:
    """Decode an unstructured header value (RFC 2047 words, UTF-8 or stray 8-bit bytes).

    Returns:
        The text, at most :data:`MAX_FIELD_CHARS` characters, or ``None`` for NIL.
    """
    if raw is None:
        return None
    text = _bytes_to_str(raw)
    if "=?" in text:
        try:
            parts = email.header.decode_header(text)
            text = "".join(
                part.decode(charset or "utf-8", "replace") if isinstance(part, bytes) else part
                for part, charset in parts
            )
        except (LookupError, ValueError):
            pass  # unknown charset or a broken word: the raw text is the best we have
    return " ".join(text.split())[:MAX_FIELD_CHARS]


def format_address(address: Address) -> str | None:
    """Render one envelope address as ``Name <mailbox@host>`` (or just the address).

    Returns:
        The text, or ``None`` for a group marker.
    """
    if address.mailbox is None or address.host is None:
        return None
    addr = f"{_bytes_to_str(address.mailbox)}@{_bytes_to_str(address.host)}"
    name = decode_header_value(address.name)
    return f"{name} <{addr}>" if name else addr


def summarize(fetch: Fetch) -> MessageSummary:
    """Build the summary of one fetched message; missing items stay ``None``."""
    envelope = fetch.envelope
    if envelope is None:
        return MessageSummary(size=fetch.size)
    sender = None
    for address in envelope.from_ or ():
        sender = format_address(address)
        if sender is not None:
            break
    return MessageSummary(
        subject=decode_header_value(envelope.subject),
        from_=sender,
        date=decode_header_value(envelope.date),
        size=fetch.size,
    )
