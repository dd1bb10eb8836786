"""The envelope read from header bytes: the same values as an IMAP server's ENVELOPE.

The first test reads Dovecot's own ENVELOPE of the fixture messages (``dovecot_fetch``) and the
header fields Dovecot returned for them, and checks that both say the same; the rest pin the
field rules (repeated fields, Reply-To and Sender falling back to From, absent and empty).
"""

from __future__ import annotations

import pytest

from switchboard.imap import responses
from switchboard.imap.parser import ResponseParser
from switchboard.mail.addresses import Address
from switchboard.mail.envelope import ADDRESS_FIELDS, ENVELOPE_FIELDS, Envelope

from . import dovecot_fetch


def _parse(data: bytes) -> dict[int, responses.Fetch]:
    parser = ResponseParser()
    parser.receive_data(data)
    found: dict[int, responses.Fetch] = {}
    while (response := parser.next_response()) is not None:
        if isinstance(response, responses.Fetch) and response.uid is not None:
            found[response.uid] = response
    return found


DOVECOT = _parse(dovecot_fetch.FETCH_ALL)
HEADER_FIELDS = _parse(dovecot_fetch.HEADER_FIELDS)


def _flattened(addresses: tuple[responses.Address, ...] | None) -> tuple[Address, ...] | None:
    """An ENVELOPE address list as header parsing gives it: groups flattened, no fake domain."""
    if addresses is None:
        return None
    out = []
    for address in addresses:
        if address.host is None:
            continue  # a group's start or end marker (RFC 3501 §7.4.2)
        host = None if address.host == b"MISSING_DOMAIN" else address.host  # Dovecot's filler
        out.append(Address(address.name, address.mailbox, host))
    return tuple(out)


@pytest.mark.parametrize("uid", sorted(DOVECOT))
def test_header_bytes_say_what_dovecots_envelope_says(uid: int) -> None:
    envelope = DOVECOT[uid].envelope
    assert envelope is not None
    [block] = HEADER_FIELDS[uid].sections.values()
    ours = Envelope(block)
    assert ours.subject == envelope.subject
    assert ours.date == envelope.date
    assert ours.message_id == envelope.message_id
    for field, theirs in [
        ("from", envelope.from_),
        ("sender", envelope.sender),
        ("reply-to", envelope.reply_to),
        ("to", envelope.to),
        ("cc", envelope.cc),
        ("bcc", envelope.bcc),
    ]:
        # None (absent) and () (no address) are both null on the wire; Dovecot says NIL for
        # "To: " and an empty group for "To: list:;", header parsing () for both.
        assert (ours.addresses(field) or None) == (_flattened(theirs) or None), field


def test_fields_fetched_are_envelopes() -> None:
    assert ENVELOPE_FIELDS == (
        "DATE", "SUBJECT", "FROM", "SENDER", "REPLY-TO", "TO", "CC", "BCC", "MESSAGE-ID",
    )  # fmt: skip
    assert {name.lower() for name in ENVELOPE_FIELDS} >= ADDRESS_FIELDS


ALICE = (Address(None, b"a", b"x.y"),)


@pytest.mark.parametrize(
    ("block", "field", "expected"),
    [
        # Subject: humanized as an ENVELOPE's (Dovecot); the last of several counts.
        (b"Subject: Hello\r\n\tfolded   tab  \r\n\r\n", "subject", b"Hello folded tab"),
        (b"Subject: \r\n\ttabbed\r\n\r\n", "subject", b"tabbed"),
        (b"subject: lower\r\nSubject: second\r\n\r\n", "subject", b"second"),
        (b"Subject:\r\n\r\n", "subject", b""),
        (b"From: a@x.y\r\n\r\n", "subject", None),
        # Date and Message-ID: unfolded and trimmed, inner whitespace kept.
        (b"Date:\tMon,  02 Jan\t2017\r\n 10:00:00 +0000 \r\n\r\n", "date",
         b"Mon,  02 Jan\t2017 10:00:00 +0000"),
        (b"Date: d1\r\nDate: d2\r\n\r\n", "date", b"d2"),
        (b"Message-ID:\r\n <id@x>\r\n\r\n", "message_id", b"<id@x>"),
    ],
)  # fmt: skip
def test_unstructured_fields(block: bytes, field: str, expected: bytes | None) -> None:
    assert getattr(Envelope(block), field) == expected


@pytest.mark.parametrize(
    ("block", "field", "expected"),
    [
        (b"From: a@x.y\r\nFrom: b@x.y\r\n\r\n", "from",
         (Address(None, b"a", b"x.y"), Address(None, b"b", b"x.y"))),  # repeated: joined
        (b"From: a@x.y\r\n\r\n", "to", None),  # absent
        (b"To: \r\n\r\n", "to", ()),  # present, no address
        # RFC 3501 §7.4.2: Reply-To and Sender absent or empty are From.
        (b"From: a@x.y\r\n\r\n", "reply-to", ALICE),
        (b"From: a@x.y\r\nReply-To:  \r\n\r\n", "reply-to", ALICE),
        (b"From: a@x.y\r\nReply-To: (only a comment)\r\n\r\n", "reply-to", ALICE),
        (b"From: a@x.y\r\nSender:\r\n\r\n", "sender", ALICE),
        (b"From: a@x.y\r\nReply-To: r@x.y\r\n\r\n", "reply-to", (Address(None, b"r", b"x.y"),)),
        # A group, even an empty one, is an answer of its own (Dovecot does not fall back).
        (b"From: a@x.y\r\nReply-To: list:;\r\n\r\n", "reply-to", ()),
        (b"Subject: x\r\n\r\n", "reply-to", None),  # no From either
    ],
)  # fmt: skip
def test_address_fields(block: bytes, field: str, expected: tuple[Address, ...] | None) -> None:
    assert Envelope(block).addresses(field) == expected


def test_without_a_header_block_every_field_is_none() -> None:
    envelope = Envelope(None)
    assert not envelope.present
    assert (envelope.subject, envelope.date, envelope.message_id) == (None, None, None)
    assert all(envelope.addresses(field) is None for field in ADDRESS_FIELDS)
    assert Envelope(b"\r\n").present


def test_only_address_fields_have_addresses() -> None:
    with pytest.raises(ValueError, match="subject"):
        Envelope(b"").addresses("subject")


@pytest.mark.parametrize(
    "block",
    [
        b"From: a@x.y, b@x.y\r\nFrom: c@x.y\r\n\r\n",
        b"From: undisclosed:;\r\nFrom: Ann <ann@x.org>\r\n\r\n",
        b"From: \r\nReply-To: r@x.y\r\n\r\n",
        b"Subject: x\r\n\r\n",
    ],
)
def test_first_address_is_the_first_of_addresses(block: bytes) -> None:
    envelope = Envelope(block)
    for field in sorted(ADDRESS_FIELDS):
        found = envelope.addresses(field)
        assert envelope.first_address(field) == (found[0] if found else None)
    with pytest.raises(ValueError, match="date"):
        envelope.first_address("date")
