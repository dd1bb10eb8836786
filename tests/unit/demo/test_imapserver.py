"""Unit tests for the pure parts of switchboard.demo.imapserver (the sample message)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from switchboard.demo.imapserver import DEMO_RECIPIENT, DEMO_SENDER, build_message


def test_build_message_has_headers_body_and_crlf() -> None:
    raw = build_message("Order #42 shipped", "It is on its way.\nSee you.")
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "Order #42 shipped"
    assert msg["From"] == DEMO_SENDER
    assert msg["To"] == DEMO_RECIPIENT
    assert msg["Message-ID"].endswith("@switchboard.demo>")
    body = msg.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "It is on its way.\nSee you.\n"


def test_build_message_encodes_non_ascii_and_honours_arguments() -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    raw = build_message(
        "Grüße", "Körper", sender="Zoë <z@example.org>", recipient="a@example.net", date=when
    )
    header_block, _, _ = raw.partition(b"\r\n\r\n")
    header_block.decode("ascii")  # non-ASCII headers become RFC 2047 encoded-words
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "Grüße"
    assert msg["From"] == "Zoë <z@example.org>"
    assert msg["To"] == "a@example.net"
    assert msg["Date"] == "Mon, 06 May 2024 07:08:09 +0000"
    body = msg.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == "Körper\n"


def test_each_message_gets_its_own_message_id() -> None:
    first = email.message_from_bytes(build_message("a", "b"))
    second = email.message_from_bytes(build_message("a", "b"))
    assert first["Message-ID"] != second["Message-ID"]
