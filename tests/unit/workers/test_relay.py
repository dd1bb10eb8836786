"""The SMTP relay against a real local aiosmtpd server: envelope rules, retries, dead letter."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.workers.base import NewMail
from switchboard.workers.delivery import DeadLetterFile, DeliveryError, PermanentError, RetryPolicy
from switchboard.workers.relay import Envelope, EnvelopeRewrite, SmtpRelay
from tests.support.fake_services.smtp import FakeSmtpServer

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
RAW = (
    "Return-Path: <bounce@lists.example.org>\r\n"
    "From: Ann <ann@example.org>\r\n"
    "To: Bob <bob@example.com>, carol@example.com\r\n"
    "Cc: dave@example.com\r\n"
    "Subject: Grüße\r\n"
    "\r\n"
    "body line\r\n"
)


def mail(raw: str = RAW, account: str = "bob@example.com") -> NewMail:
    return NewMail(account, "INBOX!1?3", 3, "INBOX!1", {"raw": raw})


def test_envelope_rules() -> None:
    raw = RAW.encode()
    fixed = EnvelopeRewrite(sender="relay@me.org", recipients=("archive@me.org",))
    assert fixed.envelope("x", raw) == Envelope("relay@me.org", ("archive@me.org",))
    mapped = EnvelopeRewrite(recipients=("default@me.org",),
                             recipient_map={"bob@example.com": ("b1@me.org", "b2@me.org")})
    assert mapped.envelope("bob@example.com", raw) == Envelope(
        "bounce@lists.example.org", ("b1@me.org", "b2@me.org"))
    assert mapped.envelope("other", raw).recipients == ("default@me.org",)
    keep = EnvelopeRewrite(keep_recipients=True, sender="")
    assert keep.envelope("x", raw) == Envelope(
        "", ("bob@example.com", "carol@example.com", "dave@example.com"))
    no_return_path = RAW.split("\r\n", 1)[1].encode()
    assert keep.envelope("x", no_return_path).recipients[0] == "bob@example.com"
    assert EnvelopeRewrite(recipients=("r@x.org",)).envelope(
        "x", no_return_path).sender == "ann@example.org"
    with pytest.raises(PermanentError):
        EnvelopeRewrite().envelope("x", raw)


async def test_relays_the_message_unchanged() -> None:
    async with FakeSmtpServer() as smtp:
        relay = SmtpRelay("127.0.0.1", smtp.port,
                          rewrite=EnvelopeRewrite(recipients=("archive@me.org",)), retry=FAST)
        assert await relay.deliver(mail()) is True
        (got,) = smtp.messages
    assert got.sender == "bounce@lists.example.org"
    assert got.recipients == ("archive@me.org",)
    assert got.data == RAW.encode()


async def test_temporary_failure_is_retried() -> None:
    async with FakeSmtpServer() as smtp:
        smtp.replies.extend(["451 4.3.0 try later", "421 4.3.2 busy"])
        relay = SmtpRelay("127.0.0.1", smtp.port,
                          rewrite=EnvelopeRewrite(recipients=("a@me.org",)), retry=FAST)
        await relay(mail())
        assert smtp.attempts == 3 and len(smtp.messages) == 1


async def test_permanent_failure_is_dead_lettered_with_its_source(tmp_path: Path) -> None:
    dead = DeadLetterFile(tmp_path / "relay.jsonl")
    async with FakeSmtpServer() as smtp:
        smtp.replies.append("554 5.7.1 relaying denied")
        relay = SmtpRelay("127.0.0.1", smtp.port, retry=FAST, dead_letter=dead,
                          rewrite=EnvelopeRewrite(recipients=("a@me.org",)))
        assert await relay.deliver(mail()) is False
        assert smtp.attempts == 1
    (record,) = dead.records()
    assert record["event"]["raw"] == RAW and record["event"]["eventId"] == 3
    assert "554" in record["error"]


async def test_server_down_raises_without_dead_letter() -> None:
    async with FakeSmtpServer() as smtp:
        port = smtp.port
    relay = SmtpRelay("127.0.0.1", port, retry=FAST, timeout_s=2,
                      rewrite=EnvelopeRewrite(recipients=("a@me.org",)))
    with pytest.raises(DeliveryError):
        await relay(mail())


async def test_a_message_fetched_without_raw_is_refused() -> None:
    relay = SmtpRelay("127.0.0.1", 1, rewrite=EnvelopeRewrite(recipients=("a@me.org",)))
    with pytest.raises(ValueError, match="raw"):
        await relay.deliver(NewMail("a", "INBOX!1?1"))


@pytest.mark.parametrize("start_tls", [None, False])
async def test_null_reverse_path(start_tls: bool | None) -> None:
    # start_tls=False: no STARTTLS probe, so the relay itself must greet (EHLO) before MAIL.
    async with FakeSmtpServer() as smtp:
        relay = SmtpRelay("127.0.0.1", smtp.port, retry=FAST, start_tls=start_tls,
                          rewrite=EnvelopeRewrite(sender="", recipients=("a@me.org",)))
        await relay(mail())
    assert smtp.messages[0].sender == "<>"  # aiosmtpd records the null reverse-path as "<>"
