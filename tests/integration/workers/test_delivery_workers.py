"""Each delivering worker end to end: Dovecot, the real server, the runner, a real local service.

APPEND mail to a fresh Dovecot account; the worker (the real runner with the worker's handler)
must make exactly the right request to the local stand-in for the outside service. Failure
paths: a service that fails is retried; one that keeps failing is dead-lettered; with no dead
letter the event is not acknowledged, so a restarted worker delivers it.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from email.message import EmailMessage
from pathlib import Path

from switchboard.server.app import SwitchboardServer
from switchboard.workers.apns import APNS_PROPERTIES, ApnsNotifier, apns_client
from switchboard.workers.attachments import (
    ATTACHMENT_PROPERTIES,
    AttachmentSaver,
    DirectoryStorage,
)
from switchboard.workers.delivery import DeadLetterFile, RetryPolicy
from switchboard.workers.relay import RELAY_PROPERTIES, EnvelopeRewrite, SmtpRelay
from switchboard.workers.runner import read_state
from switchboard.workers.twilio_sms import SMS_PROPERTIES, TwilioSms, twilio_client
from switchboard.workers.webhook import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_PROPERTIES,
    WebhookSender,
    verify_signature,
)
from tests.integration.workers.conftest import (
    FrameRecorder,
    append,
    running_worker,
    workers_url,
)
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.fake_services.apns import FakeApns
from tests.support.fake_services.http import HANG_UP, FakeHttpServer, Reply, Request
from tests.support.fake_services.smtp import FakeSmtpServer
from tests.support.switchboard import message

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)
SECRET = b"integration-secret"


async def test_webhook_posts_signed_events_in_order(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser,
) -> None:
    async with FakeHttpServer() as hook:
        hook.script.extend([Reply(503), HANG_UP])  # the first event needs three attempts
        sender = WebhookSender(hook.url + "/in", SECRET, retry=FAST)
        async with running_worker(sender, server, dovecot, imap_user, WEBHOOK_PROPERTIES,
                                  concurrency=4):
            await append(dovecot, imap_user, message("First", "hello one\r\n"))
            await append(dovecot, imap_user, message("Second", "hello two\r\n"))
            requests = await hook.wait_requests(4)
        await sender.aclose()
    bodies = [json.loads(r.body) for r in requests]
    assert [b["summary"]["subject"] for b in bodies] == ["First", "First", "First", "Second"]
    for request in requests:
        assert request.path == "/in"
        assert verify_signature(SECRET, request.body, request.headers[TIMESTAMP_HEADER.lower()],
                                request.headers[SIGNATURE_HEADER.lower()])
        assert request.headers[EVENT_ID_HEADER.lower()] == json.loads(request.body)["id"]
    last = bodies[-1]
    assert last["account"] == imap_user.username
    assert last["summary"]["from"] == [{"name": "Alice Example", "email": "alice@example.com"}]
    assert last["summary"]["to"] == [{"name": "", "email": "bob@example.com"}]
    assert last["summary"]["preview"] == "hello two"
    assert isinstance(last["eventId"], int) and last["eventId"] > bodies[0]["eventId"]


async def test_webhook_failure_is_not_acked_until_delivered_or_dead_lettered(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path,
) -> None:
    # With concurrency 1 the runner handles events one after the other and persists each
    # position before taking the next event, so once the receiver sees event N+1, the state
    # file holds N (or later): the tests below wait on requests, never on the clock.
    state = tmp_path / "webhook.state"
    healthy = True

    async def respond(request: Request) -> Reply:
        return Reply(200) if healthy else Reply(500)

    async with FakeHttpServer(responder=respond) as hook:
        sender = WebhookSender(hook.url, SECRET, retry=FAST)
        async with running_worker(sender, server, dovecot, imap_user, WEBHOOK_PROPERTIES,
                                  state_file=state):
            await append(dovecot, imap_user, message("Warm"))
            (warm,) = await hook.wait_requests(1)
            # The receiver now fails for good and there is no dead letter: the handler
            # raises, the event stays unacknowledged, the position does not move past it.
            healthy = False
            await append(dovecot, imap_user, message("Kept"))
            await hook.wait_requests(1 + FAST.max_attempts)
        warm_id = warm.json()["eventId"]
        assert read_state(state) == warm_id
        # The worker restarts from its state file with the receiver healthy: the same event
        # is delivered now, and the position moves past it.
        healthy = True
        async with running_worker(sender, server, dovecot, imap_user, WEBHOOK_PROPERTIES,
                                  state_file=state):
            requests = await hook.wait_requests(2 + FAST.max_attempts)
            kept = requests[-1].json()
            await append(dovecot, imap_user, message("Marker"))
            await hook.wait_requests(3 + FAST.max_attempts)
        await sender.aclose()
    assert kept["summary"]["subject"] == "Kept"
    assert {r.json()["eventId"] for r in requests[1:]} == {kept["eventId"]}
    assert (read_state(state) or 0) >= kept["eventId"] > warm_id
    # With a dead-letter file, a final failure is recorded and then acknowledged. (The
    # marker may come again first: its position may not have been written before the stop.)
    dead = DeadLetterFile(tmp_path / "dead.jsonl")
    last_seen = asyncio.Event()

    async def refuse(request: Request) -> Reply:
        if request.json()["summary"]["subject"] == "Refused too":
            last_seen.set()
        return Reply(400)

    async with FakeHttpServer(responder=refuse) as hook:
        sender = WebhookSender(hook.url, SECRET, retry=FAST, dead_letter=dead)
        async with running_worker(sender, server, dovecot, imap_user, WEBHOOK_PROPERTIES,
                                  state_file=state):
            await append(dovecot, imap_user, message("Refused"))
            await append(dovecot, imap_user, message("Refused too"))
            async with asyncio.timeout(15):
                await last_seen.wait()
        await sender.aclose()
    records = {r["event"]["summary"]["subject"]: r for r in dead.records()}
    assert "Refused" in records
    refused_id = records["Refused"]["event"]["eventId"]
    assert (read_state(state) or 0) >= refused_id > kept["eventId"]


async def test_relay_forwards_the_appended_message_unchanged(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser,
) -> None:
    raw = message("Relayed", "line one\r\nline two\r\n", Message_ID="<relay-1@example.com>")
    async with FakeSmtpServer() as smtp:
        smtp.replies.append("451 4.3.0 try again")
        relay = SmtpRelay("127.0.0.1", smtp.port, retry=FAST,
                          rewrite=EnvelopeRewrite(sender="", recipients=("archive@me.org",)))
        async with running_worker(relay, server, dovecot, imap_user, RELAY_PROPERTIES):
            await append(dovecot, imap_user, raw)
            (got,) = await smtp.wait_messages(1)
    assert got.data == raw
    assert got.sender == "<>" and got.recipients == ("archive@me.org",)
    assert smtp.attempts == 2


async def test_attachments_are_saved_under_account_and_day(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path,
) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "files"
    msg["Date"] = "Tue, 03 Jun 2014 10:00:00 +0000"
    msg.set_content("see attached")
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf",
                       filename="../report.pdf")
    msg.add_attachment(b"other", maintype="application", subtype="pdf", filename="report.pdf")
    saver = AttachmentSaver(DirectoryStorage(tmp_path / "files"))
    saved = asyncio.Event()
    original = saver.deliver

    async def deliver_and_signal(mail: object) -> list[str]:
        places = await original(mail)  # type: ignore[arg-type]
        saved.set()
        return places

    saver.deliver = deliver_and_signal  # type: ignore[method-assign]
    async with running_worker(saver, server, dovecot, imap_user, ATTACHMENT_PROPERTIES):
        await append(dovecot, imap_user, bytes(msg).replace(b"\n", b"\r\n"))
        async with asyncio.timeout(15):
            await saved.wait()
    day = tmp_path / "files" / imap_user.username / datetime.date(2014, 6, 3).isoformat()
    assert (day / "report.pdf").read_bytes() == b"%PDF-1.4 fake"
    assert (day / "report (1).pdf").read_bytes() == b"other"


async def test_apns_pushes_to_the_mapped_devices(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path,
) -> None:
    async with FakeApns(tmp_path / "apns") as apns:
        apns.script.append((503, "ServiceUnavailable"))
        cert = tmp_path / "push.pem"
        cert.write_bytes((apns.directory / "cert.pem").read_bytes()
                         + (apns.directory / "key.pem").read_bytes())
        client = apns_client(topic="org.example.mail", cert_file=str(cert), sandbox=True,
                             server=("127.0.0.1", apns.port), ssl_context=apns.ssl_context())
        notifier = ApnsNotifier(client, {imap_user.username: ("feedface",)}, badge=1,
                                retry=FAST)
        try:
            async with FrameRecorder(workers_url(server)) as recorder, running_worker(
                    notifier, server, dovecot, imap_user, APNS_PROPERTIES, url=recorder.url):
                await append(dovecot, imap_user, message("Lunch?", "Are you free?\r\n"))
                requests = await apns.wait_requests(2)
        finally:
            client.pool.close()
    # The title comes with the push's summary; only the preview is fetched.
    fetches = [args for method, args, _tag in recorder.commands() if method == "getMessages"]
    assert [f["properties"] for f in fetches] == [["preview"]]
    retry = requests[-1]
    assert retry.path == "/3/device/feedface"
    assert retry.headers["apns-topic"] == "org.example.mail"
    assert retry.headers["apns-push-type"] == "alert"
    body = retry.json()
    assert body["aps"] == {"alert": {"title": "Alice Example – Lunch?", "body": "Are you free?"},
                           "badge": 1, "sound": "default"}
    assert body["account"] == imap_user.username and isinstance(body["eventId"], int)


async def test_twilio_texts_the_mapped_numbers_without_any_get_messages(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser,
) -> None:
    created = Reply(201, b'{"sid": "SM1", "status": "queued"}')
    async with FakeHttpServer(default=created) as api:
        sms = TwilioSms(twilio_client("AC1", "tok", base_url=api.url), "+15005550006",
                        {"*": ("+15551230001",)}, retry=FAST)
        try:
            async with FrameRecorder(workers_url(server)) as recorder, running_worker(
                    sms, server, dovecot, imap_user, SMS_PROPERTIES, url=recorder.url):
                await append(dovecot, imap_user, message("Lunch?"))
                await append(dovecot, imap_user, message("=?utf-8?q?Gr=C3=BC=C3=9Fe?=",
                                                         from_="Zoë <zoe@example.com>"))
                first, second = await api.wait_requests(2)
        finally:
            await sms.aclose()
    assert first.path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert first.form() == {"To": ["+15551230001"], "From": ["+15005550006"],
                            "Body": ["Alice Example - Lunch?"]}
    assert second.form()["Body"] == ["Zoë - Grüße"]
    # Sender and subject came with each push's summary: not one getMessages was sent.
    methods = [method for method, _args, _tag in recorder.commands()]
    assert methods == ["connect", "watchMailboxes"]
    assert recorder.commands()[1][1]["summary"] is True
