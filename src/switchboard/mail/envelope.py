"""A message's envelope — subject, date, addresses, Message-ID — read from its header bytes.

IMAP's ENVELOPE (RFC 3501 §7.4.2) is the server's reading of the same header fields; reading
the bytes ourselves gives every server the same result, including one that drops 8-bit bytes
from its ENVELOPE (Courier does). The rules follow the RFC where it speaks and Dovecot, the
reference the wire was pinned against, where it does not:

* :data:`ENVELOPE_FIELDS` are the fields ``getMessages`` fetches
  (``BODY.PEEK[HEADER.FIELDS (…)]``); the push summary fetches those of them it reads.
* A field that occurs more than once: the last Subject, Date and Message-ID count; the address
  lists of repeated From, To… fields are joined.
* ``subject`` is humanized (:func:`~switchboard.mail.headers.humanize`); ``date`` and
  ``message_id`` are unfolded and trimmed. An absent field is ``None``; a present, empty one
  ``b""``.
* Reply-To and Sender, when absent or without any address, are From (RFC 3501 §7.4.2).
"""

from __future__ import annotations

from typing import Final

from switchboard.mail.addresses import Address, first_address, parse_address_list
from switchboard.mail.headers import field_values, humanize

__all__ = ["ADDRESS_FIELDS", "ENVELOPE_FIELDS", "Envelope"]

ENVELOPE_FIELDS: Final = (
    "DATE", "SUBJECT", "FROM", "SENDER", "REPLY-TO", "TO", "CC", "BCC", "MESSAGE-ID",
)  # fmt: skip
"""The header fields an envelope is read from: ENVELOPE's, without In-Reply-To."""

ADDRESS_FIELDS: Final = frozenset({"from", "sender", "reply-to", "to", "cc", "bcc"})
"""The address list fields, lower-cased, as :meth:`Envelope.addresses` takes them."""

_KEY: Final = {field: field.encode() for field in ADDRESS_FIELDS}

_WSP: Final = b" \t\r\n"


class Envelope:
    """The envelope fields of one message, parsed from its header block on demand.

    Args:
        block: header lines (a whole header, or only some fields of it); ``None`` when the
            message's header was not fetched — every field is then ``None``.
    """

    __slots__ = ("_fields", "_present")

    def __init__(self, block: bytes | None) -> None:
        self._present = block is not None
        self._fields = field_values(block) if block is not None else {}

    @property
    def present(self) -> bool:
        """Whether a header block was given (else every field is ``None``)."""
        return self._present

    def _last(self, name: bytes) -> bytes | None:
        values = self._fields.get(name)
        return values[-1] if values else None

    @property
    def subject(self) -> bytes | None:
        """The Subject, humanized; ``None`` when the message has none."""
        value = self._last(b"subject")
        return humanize(value) if value is not None else None

    @property
    def date(self) -> bytes | None:
        """The Date header's value, unfolded and trimmed; ``None`` when absent."""
        value = self._last(b"date")
        return value.strip(_WSP) if value is not None else None

    @property
    def message_id(self) -> bytes | None:
        """The Message-ID header's value, unfolded and trimmed; ``None`` when absent."""
        value = self._last(b"message-id")
        return value.strip(_WSP) if value is not None else None

    def first_address(self, field: str) -> Address | None:
        """The first address of :meth:`addresses`, read no further than needed; ``None``: none.

        Raises:
            ValueError: ``field`` is not one of :data:`ADDRESS_FIELDS`.
        """
        key = _KEY.get(field)
        if key is None:
            raise ValueError(f"{field!r} is not an address field")
        for value in self._fields.get(key, ()):
            address = first_address(value)
            if address is not None:
                return address
        found = self.addresses(field)  # Reply-To and Sender may fall back to From
        return found[0] if found else None

    def addresses(self, field: str) -> tuple[Address, ...] | None:
        """The addresses of an address field (``"from"``, ``"reply-to"``…), groups flattened.

        Returns:
            ``None`` when the field is absent (for Reply-To and Sender: when From is too),
            else its addresses, possibly none (an empty group).

        Raises:
            ValueError: ``field`` is not one of :data:`ADDRESS_FIELDS`.
        """
        key = _KEY.get(field)
        if key is None:
            raise ValueError(f"{field!r} is not an address field")
        values = self._fields.get(key)
        found: list[Address] = []
        grouped = False
        for value in values or ():
            addresses, group = parse_address_list(value)
            found.extend(addresses)
            grouped |= group
        if field in ("reply-to", "sender") and not found and not grouped:
            # RFC 3501 §7.4.2: absent or empty, the server sets them to From.
            return self.addresses("from")
        return tuple(found) if values else None
