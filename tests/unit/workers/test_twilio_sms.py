"""The Twilio SMS worker through the official SDK against a local HTTP server speaking its API."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from switchboard.workers.base import NewMail
from switchboard.workers.delivery import DeadLetterFile, DeliveryError, RetryPolicy
from switchboard.workers.twilio_sms import TwilioSms, is_gsm7, sms_text, twilio_client
from tests.support.fake_services.http import FakeHttpServer, Reply

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio")

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "tok3n"
CREATED = Reply(201, json.dumps({"sid": "SM1", "status": "queued"}).encode())


def mail(subject: str = "Lunch?", account: str = "bob@example.com") -> NewMail:
    return NewMail(account, "INBOX!1?7", 7, "INBOX!1", {
        "from": [{"name": "Ann Example", "email": "ann@example.org"}], "subjectDecoded": subject,
    })


def test_text_and_truncation() -> None:
    assert sms_text(mail()) == "Ann Example - Lunch?"
    long = sms_text(mail("word " * 60))
    assert len(long) <= 160 and long.endswith("...") and is_gsm7(long)
    unicode = sms_text(mail("Grüße 😀 " * 20))
    assert len(unicode) <= 70 and unicode.endswith("…")
    assert len(sms_text(mail("x" * 500), max_chars=300)) == 300
    assert sms_text(NewMail("a", "m")) == "(unknown sender) - (no subject)"


async def test_sends_to_every_number_with_the_exact_api_request() -> None:
    async with FakeHttpServer(default=CREATED) as srv:
        sms = TwilioSms(twilio_client(SID, TOKEN, base_url=srv.url), "+15005550006",
                        {"bob@example.com": ("+15551230001", "+15551230002")}, retry=FAST)
        try:
            assert await sms.deliver(mail()) == 2
        finally:
            await sms.aclose()
    first, second = srv.requests
    assert (first.method, first.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json")
    assert first.headers["authorization"] == "Basic " + base64.b64encode(
        f"{SID}:{TOKEN}".encode()).decode()
    assert first.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert first.form() == {"To": ["+15551230001"], "From": ["+15005550006"],
                            "Body": ["Ann Example - Lunch?"]}
    assert second.form()["To"] == ["+15551230002"]


async def test_messaging_service_sid_is_sent_as_such() -> None:
    async with FakeHttpServer(default=CREATED) as srv:
        sms = TwilioSms(twilio_client(SID, TOKEN, base_url=srv.url), "MG123", {"*": ("+1555",)})
        try:
            await sms(mail())
        finally:
            await sms.aclose()
    assert srv.requests[0].form()["MessagingServiceSid"] == ["MG123"]


async def test_retries_rate_limits_without_texting_twice() -> None:
    async with FakeHttpServer(default=CREATED) as srv:
        # Number 1 accepted; number 2 rate-limited once, then accepted.
        srv.script.extend([CREATED, Reply(429, b'{"code": 20429, "message": "Too Many"}')])
        sms = TwilioSms(twilio_client(SID, TOKEN, base_url=srv.url), "+1500",
                        {"*": ("+1001", "+1002")}, retry=FAST)
        try:
            assert await sms.deliver(mail()) == 2
        finally:
            await sms.aclose()
    assert [r.form()["To"][0] for r in srv.requests] == ["+1001", "+1002", "+1002"]


async def test_invalid_number_is_permanent_and_service_down_dead_letters(
    tmp_path: Path,
) -> None:
    async with FakeHttpServer(default=Reply(400, b'{"code": 21211, "message": "bad To"}')) as srv:
        sms = TwilioSms(twilio_client(SID, TOKEN, base_url=srv.url), "+1500", {"*": ("+1",)},
                        retry=FAST)
        try:
            assert await sms.deliver(mail()) == 0
        finally:
            await sms.aclose()
        assert len(srv.requests) == 1
        url = srv.url
    dead = DeadLetterFile(tmp_path / "sms.jsonl")
    down = TwilioSms(twilio_client(SID, TOKEN, base_url=url), "+1500", {"*": ("+1",)},
                     retry=FAST, dead_letter=dead)
    try:
        assert await down.deliver(mail()) == 0
        down.dead_letter = None
        with pytest.raises(DeliveryError):
            await down(mail())
    finally:
        await down.aclose()
    (record,) = dead.records()
    assert record["event"] == {"id": "sb-7", "numbers": ["+1"], "body": "Ann Example - Lunch?"}
