"""NewMail: one new message, answered from the fetched properties or else the push summary."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.protocol.replies import NewMessagePush, PushSummary
from switchboard.workers.mail import Address, NewMail, parse_address, parse_addresses

SUMMARY = PushSummary("Lunch?", "Ann Example <ann@example.org>", "Tue, 3 Jun 2014", 1234)


def test_built_from_a_push_with_its_summary() -> None:
    push = NewMessagePush("INBOX!1?7", "INBOX!1", "bob", 7, "g", SUMMARY)
    mail = NewMail.of(push)
    assert (mail.account, mail.message_id, mail.event_id, mail.mailbox_id, mail.group) == (
        "bob", "INBOX!1?7", 7, "INBOX!1", "g")
    assert mail.key == "sb-7"
    assert mail.subject == "Lunch?"
    assert mail.sender == (Address("Ann Example", "ann@example.org"),)
    assert (mail.date, mail.size) == ("Tue, 3 Jun 2014", 1234)
    assert (mail.recipients, mail.preview, mail.raw) == ((), None, None)  # not in a summary


def test_fetched_properties_win_over_the_summary() -> None:
    mail = NewMail.of(NewMessagePush("m", summary=SUMMARY), {
        "subject": "raw", "subjectDecoded": "Decoded",
        "from": [{"name": "A", "email": "a@x"}, {"name": "B", "email": "b@x"}],
        "to": [{"name": "", "email": "c@x"}], "date": None, "size": True, "preview": "Hi",
        "raw": "Subject: x\r\n\r\n"})
    assert mail.subject == "Decoded"
    assert mail.sender == (Address("A", "a@x"), Address("B", "b@x"))
    assert mail.recipients == (Address("", "c@x"),)
    assert (mail.date, mail.size, mail.preview) == (None, None, "Hi")  # ill-typed: absent
    assert mail.raw == "Subject: x\r\n\r\n"


def test_without_summary_or_properties() -> None:
    mail = NewMail("a", "m")
    assert mail.key == "sb-a-m"
    assert (mail.subject, mail.sender, mail.date, mail.size) == (None, (), None, None)
    assert NewMail.of(NewMessagePush("m", summary=PushSummary())).sender == ()


@pytest.mark.parametrize(("text", "expected"), [
    ("Ann Example <ann@example.org>", Address("Ann Example", "ann@example.org")),
    ("ann@example.org", Address("", "ann@example.org")),
    ("<ann@example.org>", Address("", "ann@example.org")),
    ("Doe, John <j@x.org>", Address("Doe, John", "j@x.org")),
    ("A <b> <c@x.org>", Address("A <b>", "c@x.org")),
])
def test_parse_address_reads_the_servers_rendering(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


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
