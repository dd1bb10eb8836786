"""The APNs notifier through aioapns against a local HTTP/2 TLS server speaking the provider API."""

from __future__ import annotations

import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from switchboard.workers.apns import ApnsNotifier, apns_client, payload_for
from switchboard.workers.base import NewMail
from switchboard.workers.delivery import DeadLetterFile, DeliveryError, RetryPolicy
from tests.support.fake_services.apns import FakeApns

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
TOPIC = "org.example.mail"


def mail(account: str = "bob@example.com") -> NewMail:
    return NewMail(account, "INBOX!1?7", 7, "INBOX!1", {
        "from": [{"name": "Ann Example", "email": "ann@example.org"}],
        "subject": "Lunch?", "subjectDecoded": "Lunch?", "preview": "Are you free at noon",
    })


def p8_key(directory: Path) -> tuple[Path, ec.EllipticCurvePublicKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    path = directory / "AuthKey_ABC123.p8"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path, key.public_key()


def test_payload() -> None:
    assert payload_for(mail(), badge=1) == {
        "aps": {"alert": {"title": "Ann Example – Lunch?", "body": "Are you free at noon"},
                "badge": 1, "sound": "default"},
        "account": "bob@example.com", "messageId": "INBOX!1?7", "eventId": 7,
    }
    bare = payload_for(NewMail("a", "m"), sound=None)
    assert bare["aps"] == {"alert": {"title": "(unknown sender) – (no subject)"}}


def test_client_needs_exactly_one_kind_of_credentials(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        apns_client(topic=TOPIC)
    with pytest.raises(ValueError):
        apns_client(topic=TOPIC, key_file="k.p8", cert_file="c.pem")
    with pytest.raises(ValueError, match="team id"):
        apns_client(topic=TOPIC, key_file="k.p8", key_id="X")


async def test_token_auth_push_to_every_device_of_the_account(tmp_path: Path) -> None:
    key_file, public_key = p8_key(tmp_path)
    async with FakeApns(tmp_path / "apns") as apns:
        client = apns_client(topic=TOPIC, key_file=str(key_file), key_id="ABC123",
                             team_id="TEAM123456", sandbox=True,
                             server=("127.0.0.1", apns.port), ssl_context=apns.ssl_context())
        notifier = ApnsNotifier(client, {"bob@example.com": ("aa11", "bb22"), "*": ("cc33",)},
                                badge=1, retry=FAST)
        try:
            assert await notifier.deliver(mail()) == 2
            assert await notifier.deliver(mail("someone@else")) == 1
        finally:
            client.pool.close()
    assert [r.path for r in apns.requests] == ["/3/device/aa11", "/3/device/bb22",
                                               "/3/device/cc33"]
    first = apns.requests[0]
    assert first.headers[":method"] == "POST"
    assert first.headers["apns-topic"] == TOPIC
    assert first.headers["apns-push-type"] == "alert"
    uuid.UUID(first.headers["apns-id"])
    scheme, token = first.headers["authorization"].split(" ", 1)
    assert scheme == "bearer"
    assert jwt.get_unverified_header(token)["kid"] == "ABC123"
    claims = jwt.decode(token, public_key, algorithms=["ES256"])
    assert claims["iss"] == "TEAM123456"
    assert first.json() == payload_for(mail(), badge=1)


async def test_certificate_auth(tmp_path: Path) -> None:
    async with FakeApns(tmp_path / "apns") as apns:
        cert = tmp_path / "push.pem"
        cert.write_bytes((apns.directory / "cert.pem").read_bytes()
                         + (apns.directory / "key.pem").read_bytes())
        client = apns_client(topic=TOPIC, cert_file=str(cert),
                             server=("127.0.0.1", apns.port), ssl_context=apns.ssl_context())
        try:
            assert await ApnsNotifier(client, {"*": ("dd44",)}, retry=FAST).deliver(mail()) == 1
        finally:
            client.pool.close()
    (request,) = apns.requests
    assert "authorization" not in request.headers
    assert request.path == "/3/device/dd44"


async def test_retries_busy_server_and_skips_dead_tokens(tmp_path: Path) -> None:
    key_file, _ = p8_key(tmp_path)
    async with FakeApns(tmp_path / "apns") as apns:
        # Device 1: unregistered (permanent, not retried). Device 2: 503 once, then accepted.
        apns.script.extend([(410, "Unregistered"), (503, "ServiceUnavailable")])
        client = apns_client(topic=TOPIC, key_file=str(key_file), key_id="K", team_id="T",
                             server=("127.0.0.1", apns.port), ssl_context=apns.ssl_context())
        notifier = ApnsNotifier(client, {"*": ("gone", "busy")}, retry=FAST)
        try:
            assert await notifier.deliver(mail()) == 1
        finally:
            client.pool.close()
    assert [r.path for r in apns.requests] == ["/3/device/gone", "/3/device/busy",
                                               "/3/device/busy"]
    assert apns.requests[1].headers["apns-id"] == apns.requests[2].headers["apns-id"]


async def test_apns_down_dead_letters_or_raises(tmp_path: Path) -> None:
    key_file, _ = p8_key(tmp_path)
    async with FakeApns(tmp_path / "apns") as apns:
        port, context = apns.port, apns.ssl_context()
    client = apns_client(topic=TOPIC, key_file=str(key_file), key_id="K", team_id="T",
                         server=("127.0.0.1", port), ssl_context=context,
                         max_connection_attempts=1)
    one_try = RetryPolicy(max_attempts=1)
    with pytest.raises(DeliveryError):
        await ApnsNotifier(client, {"*": ("aa",)}, retry=one_try).deliver(mail())
    dead = DeadLetterFile(tmp_path / "apns-dead.jsonl")
    notifier = ApnsNotifier(client, {"*": ("aa",)}, retry=one_try, dead_letter=dead)
    assert await notifier.deliver(mail()) == 0
    (record,) = dead.records()
    assert record["event"]["devices"] == ["aa"]


async def test_no_device_means_nothing_to_push() -> None:
    class Never:
        async def send_notification(self, request: object) -> object:
            raise AssertionError("no push expected")

    assert await ApnsNotifier(Never(), {}).deliver(mail()) == 0  # type: ignore[arg-type]
