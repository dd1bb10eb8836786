"""Unit tests for the pure parts of switchboard.workers.listener (reading and formatting)."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.workers.listener import (
    Address,
    ReceivedMessage,
    format_message,
    message_from_reply,
    parse_addresses,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ([], ()),
        ("a@example.com", ()),
        ([{"name": "Ann", "email": "ann@example.com"}], (Address("Ann", "ann@example.com"),)),
        ([{"name": "", "email": "b@example.com"}], (Address("", "b@example.com"),)),
        (
            [{"name": "=?utf-8?q?Zo=C3=AB?=", "decodedName": "Zoë", "email": "z@example.org"}],
            (Address("Zoë", "z@example.org"),),
        ),
        # Malformed entries are skipped, well-formed neighbours kept.
        (
            [42, {"name": "x"}, {"name": None, "email": "c@example.com"}],
            (Address("", "c@example.com"),),
        ),
    ],
)
def test_parse_addresses(value: Any, expected: tuple[Address, ...]) -> None:
    assert parse_addresses(value) == expected


def test_address_str() -> None:
    assert str(Address("Ann", "ann@example.com")) == "Ann <ann@example.com>"
    assert str(Address("", "ann@example.com")) == "ann@example.com"


def test_message_from_worker_push_prefers_decoded_subject() -> None:
    push = {"mailboxId": "INBOX!7", "messageId": "INBOX!7?3", "account": "bob", "eventId": 12}
    item = {
        "subject": "=?utf-8?q?Gr=C3=BC=C3=9Fe?=",
        "subjectDecoded": "Grüße",
        "from": [{"name": "Ann", "email": "ann@example.com"}],
        "to": None,
    }
    assert message_from_reply(push, item) == ReceivedMessage(
        account="bob",
        message_id="INBOX!7?3",
        subject="Grüße",
        sender=(Address("Ann", "ann@example.com"),),
        recipients=(),
        event_id=12,
    )


def test_message_from_client_push_without_account_or_subject() -> None:
    push = {"mailboxId": "INBOX!7", "messageId": "INBOX!7?4"}
    message = message_from_reply(push, {"subject": None, "from": None, "to": None})
    assert message == ReceivedMessage(None, "INBOX!7?4", None, (), (), None)


def test_format_message() -> None:
    message = ReceivedMessage(
        account="bob",
        message_id="INBOX!7?3",
        subject="Hi 'there'",
        sender=(Address("Ann", "ann@example.com"),),
        recipients=(Address("", "bob@example.com"), Address("Cy", "cy@example.com")),
    )
    assert format_message(message) == (
        "bob: \"Hi 'there'\" from Ann <ann@example.com> to bob@example.com, Cy <cy@example.com>"
    )


def test_format_message_without_account_subject_or_addresses() -> None:
    message = ReceivedMessage(None, "INBOX!7?4", None, (), ())
    assert format_message(message) == "(no subject) from (nobody) to (nobody)"
