"""The webhook sender against a real local HTTP receiver: signing, retries, dead letter, order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from switchboard.workers.base import NewMail
from switchboard.workers.delivery import DeadLetterFile, DeliveryError, RetryPolicy
from switchboard.workers.webhook import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSender,
    event_body,
    sign,
    verify_signature,
)
from tests.support.fake_services.http import HANG_UP, FakeHttpServer, Reply, Request

SECRET = b"s3cret"
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)


def mail(account: str = "bob@example.com", event_id: int = 7, uid: int = 7) -> NewMail:
    return NewMail(
        account=account,
        message_id=f"INBOX!1?{uid}",
        event_id=event_id,
        mailbox_id="INBOX!1",
        properties={
            "from": [{"name": "=?utf-8?q?Ann?=", "decodedName": "Ann", "email": "ann@x.org"}],
            "to": [{"name": "", "email": account}],
            "subject": "=?utf-8?q?Hi?=",
            "subjectDecoded": "Hi",
            "date": "Tue, 03 Jun 2014 10:00:00 -0700",
            "size": 1234,
            "preview": "Hello there",
        },
    )


@pytest.fixture
async def receiver() -> AsyncIterator[FakeHttpServer]:
    async with FakeHttpServer() as srv:
        yield srv


def check_signed(request: Request) -> None:
    assert verify_signature(
        SECRET, request.body, request.headers[TIMESTAMP_HEADER.lower()],
        request.headers[SIGNATURE_HEADER.lower()],
    )


async def test_posts_a_signed_json_event(receiver: FakeHttpServer) -> None:
    sender = WebhookSender(receiver.url + "/hook", SECRET, retry=FAST)
    try:
        assert await sender.deliver(mail()) is True
    finally:
        await sender.aclose()
    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["content-type"] == "application/json"
    assert request.headers[EVENT_ID_HEADER.lower()] == "sb-7"
    check_signed(request)
    assert request.json() == {
        "type": "newMessage", "id": "sb-7", "eventId": 7, "account": "bob@example.com",
        "mailboxId": "INBOX!1", "messageId": "INBOX!1?7",
        "summary": {
            "from": [{"name": "Ann", "email": "ann@x.org"}],
            "to": [{"name": "", "email": "bob@example.com"}],
            "subject": "Hi", "date": "Tue, 03 Jun 2014 10:00:00 -0700", "size": 1234,
            "preview": "Hello there",
        },
    }


def test_signature_refuses_tampering_and_replays() -> None:
    body = b'{"a":1}'
    good = sign(SECRET, 1000, body)
    assert verify_signature(SECRET, body, "1000", good, now_s=1100)
    assert not verify_signature(SECRET, body + b" ", "1000", good, now_s=1100)
    assert not verify_signature(b"other", body, "1000", good, now_s=1100)
    assert not verify_signature(SECRET, body, "1000", good, now_s=1000 + 301)
    assert not verify_signature(SECRET, body, "x", good, now_s=1000)


async def test_retries_server_errors_and_hang_ups_then_delivers(
    receiver: FakeHttpServer,
) -> None:
    receiver.script.extend([Reply(503), HANG_UP])
    sender = WebhookSender(receiver.url, SECRET, retry=FAST, dead_letter=None)
    try:
        assert await sender.deliver(mail()) is True
    finally:
        await sender.aclose()
    assert len(receiver.requests) == 3
    assert {r.headers[EVENT_ID_HEADER.lower()] for r in receiver.requests} == {"sb-7"}
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        check_signed(request)


async def test_final_failure_is_dead_lettered(receiver: FakeHttpServer, tmp_path: Path) -> None:
    receiver.default = Reply(500)
    dead = DeadLetterFile(tmp_path / "dead" / "webhook.jsonl")
    sender = WebhookSender(receiver.url, SECRET, retry=FAST, dead_letter=dead)
    try:
        assert await sender.deliver(mail()) is False
    finally:
        await sender.aclose()
    assert len(receiver.requests) == FAST.max_attempts
    (record,) = dead.records()
    assert record["event"] == event_body(mail())
    assert "HTTP 500" in record["error"]
    assert sender.dead_lettered == 1 and sender.delivered == 0


async def test_client_errors_are_not_retried(receiver: FakeHttpServer, tmp_path: Path) -> None:
    receiver.default = Reply(400)
    dead = DeadLetterFile(tmp_path / "dead.jsonl")
    sender = WebhookSender(receiver.url, SECRET, retry=FAST, dead_letter=dead)
    try:
        assert await sender.deliver(mail()) is False
    finally:
        await sender.aclose()
    assert len(receiver.requests) == 1
    assert len(dead.records()) == 1


async def test_without_dead_letter_a_failure_raises_so_nothing_is_acked(
    receiver: FakeHttpServer,
) -> None:
    receiver.default = Reply(502)
    sender = WebhookSender(receiver.url, SECRET, retry=FAST)
    try:
        with pytest.raises(DeliveryError, match="HTTP 502"):
            await sender(mail())  # the runner's handler raises: no ack
    finally:
        await sender.aclose()


async def test_receiver_down_is_retried_then_raises() -> None:
    async with FakeHttpServer() as srv:
        url = srv.url  # a port that is closed once the block ends
    sender = WebhookSender(url, SECRET, retry=FAST)
    try:
        with pytest.raises(DeliveryError):
            await sender.deliver(mail())
    finally:
        await sender.aclose()


async def test_parallel_across_accounts_in_order_within_one() -> None:
    b_arrived = asyncio.Event()
    attempts: dict[str, int] = {}

    async def respond(request: Request) -> Reply | None:
        message = request.json()["messageId"]
        attempts[message] = attempts.get(message, 0) + 1
        if request.json()["account"] == "b":
            b_arrived.set()
        if message == "INBOX!1?1" and attempts[message] == 1:
            # Account a's first event waits for account b's: if deliveries were serial
            # across accounts this would time out.
            await asyncio.wait_for(b_arrived.wait(), 5)
            return Reply(503)
        return None

    async with FakeHttpServer(responder=respond) as srv:
        sender = WebhookSender(srv.url, SECRET, retry=FAST)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(sender(mail("a", 1, 1)))
                tg.create_task(sender(mail("a", 2, 2)))
                tg.create_task(sender(mail("b", 3, 3)))
        finally:
            await sender.aclose()
        order = [json.loads(r.body)["messageId"] for r in srv.requests
                 if json.loads(r.body)["account"] == "a"]
    assert order == ["INBOX!1?1", "INBOX!1?1", "INBOX!1?2"]
    assert sender.delivered == 3
