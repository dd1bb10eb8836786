"""examples/original/ (apnsworker, twilioworker, lamsonworker) run as users run them.

Each runs as a subprocess against the real server on the session Dovecot and a real local
stand-in for its service. twilioworker and lamsonworker send only ``watchAll``, as the originals
did, so the test connects the account (and watches its INBOX) from another worker connection
first. A first run starts at "now", so mail is appended until the first delivery shows up, and
every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.client.aio import AsyncClient
from switchboard.server.app import SwitchboardServer
from tests.integration.workers.conftest import account, append, workers_url
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.fake_services.apns import FakeApns
from tests.support.fake_services.http import FakeHttpServer, Reply, Request
from tests.support.fake_services.smtp import FakeSmtpServer
from tests.support.switchboard import message

EXAMPLES = Path(__file__).parents[3] / "examples" / "original"
DELIVERY_TIMEOUT_S = 30.0
APPEND_EVERY_S = 2.0

ORIGINAL_OPTIONS = {
    "apnsworker": ["--cert", "--key", "--pushtoken", "--url"],
    "twilioworker": ["--sid", "--token", "--to", "--from", "--url"],
    "lamsonworker": ["--url", "--host", "--port", "--debug"],
}

NO_SENDER = b"To: bob@example.com\r\nSubject: No sender\r\n\r\nwho sent this?\r\n"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "SWITCHBOARD_"))}
    return {**env, **extra}


@pytest.mark.parametrize("script", sorted(ORIGINAL_OPTIONS))
def test_help_lists_the_original_options(script: str) -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / f"{script}.py"), "--help"],
                            capture_output=True, text=True, timeout=60, env=_clean_env())
    assert result.returncode == 0, result.stderr
    for option in ORIGINAL_OPTIONS[script]:
        assert f"  {option} " in result.stdout, option
    assert "--state-file" in result.stdout


def test_twilioworker_requires_sid_and_token_unless_in_the_environment() -> None:
    args = [sys.executable, str(EXAMPLES / "twilioworker.py"), "--to", "+1555", "--from", "+1"]
    refused = subprocess.run(args, capture_output=True, text=True, timeout=60, env=_clean_env())
    assert refused.returncode == 2
    assert "required: --sid, --token" in refused.stderr
    # With the environment, they are no longer required (this run then fails to reach a server
    # that is not there, which --help cannot show); check through the parser alone.
    helped = subprocess.run([*args, "--help"], capture_output=True, text=True, timeout=60,
                            env=_clean_env(TWILIO_ACCOUNT_SID="AC1", TWILIO_AUTH_TOKEN="t"))
    assert helped.returncode == 0
    assert "[--sid SID] [--token TOKEN]" in " ".join(helped.stdout.split())


async def _connect_and_watch(server: SwitchboardServer, dovecot: DovecotServer,
                             user: ImapUser) -> None:
    """Connect the account and watch its INBOX from another worker, as the originals assumed."""
    async with AsyncClient(workers_url(server)) as client:
        await client.call("connect", account(dovecot, user))
        await client.watch_mailboxes(user.username, ["INBOX"])


async def _start(script: str, *args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / f"{script}.py"), *args, "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)


async def _stop(proc: asyncio.subprocess.Process) -> tuple[int, bytes]:
    if proc.returncode is None:
        proc.terminate()
    async with asyncio.timeout(DELIVERY_TIMEOUT_S):
        _out, err = await proc.communicate()
    assert proc.returncode is not None
    print(err.decode(errors="replace"))  # the worker's log; pytest shows it when a test fails
    return proc.returncode, err


async def _append_until(done: asyncio.Event, proc: asyncio.subprocess.Process,
                        dovecot: DovecotServer, user: ImapUser, raw: bytes) -> None:
    """Append ``raw`` until ``done`` is set: the worker's watch may not be in place yet."""
    async with asyncio.timeout(DELIVERY_TIMEOUT_S):
        while not done.is_set():
            assert proc.returncode is None, "the worker exited early"
            await append(dovecot, user, raw)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), APPEND_EVERY_S)


async def test_lamsonworker_relays_new_mail_over_smtp(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path,
) -> None:
    await _connect_and_watch(server, dovecot, imap_user)
    raw = message("Relayed", "line one\r\nline two\r\n", Message_ID="<lamson-1@example.com>")
    state = tmp_path / "lamson.state"
    async with FakeSmtpServer() as smtp:
        proc = await _start("lamsonworker", "--url", workers_url(server),
                            "--host", "127.0.0.1", "--port", str(smtp.port),
                            "--state-file", str(state), env=_clean_env())
        first = asyncio.Event()
        waiter = asyncio.create_task(smtp.wait_messages(1, DELIVERY_TIMEOUT_S))
        waiter.add_done_callback(lambda _: first.set())
        try:
            await _append_until(first, proc, dovecot, imap_user, raw)
            relayed = waiter.result()[0]
            # A message without a sender is relayed too, from the null reverse-path.
            count = len(smtp.messages)
            await append(dovecot, imap_user, NO_SENDER)
            async with asyncio.timeout(DELIVERY_TIMEOUT_S):
                while not any(m.data == NO_SENDER for m in smtp.messages):
                    await smtp.wait_messages(count + 1, DELIVERY_TIMEOUT_S)
                    count = len(smtp.messages)
        finally:
            waiter.cancel()
            code, err = await _stop(proc)
    assert relayed.data == raw
    assert relayed.sender == "alice@example.com" and relayed.recipients == ("bob@example.com",)
    anonymous = next(m for m in smtp.messages if m.data == NO_SENDER)
    assert anonymous.sender == "<>" and anonymous.recipients == ("bob@example.com",)
    assert code == 0, err.decode()
    assert state.exists()  # the position was persisted after each acknowledged event


async def test_twilioworker_texts_from_and_subject(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser,
) -> None:
    await _connect_and_watch(server, dovecot, imap_user)
    first, anonymous = asyncio.Event(), asyncio.Event()

    async def respond(request: Request) -> Reply:
        body = request.form().get("Body", [""])[0]
        (anonymous if body.startswith("(unknown sender)") else first).set()
        return Reply(201, b'{"sid": "SM1", "status": "queued"}')

    async with FakeHttpServer(responder=respond) as api:
        # The SID on the command line as the original; the token from the environment only.
        proc = await _start("twilioworker", "--url", workers_url(server), "--sid", "AC1",
                            "--to", "+15551230001", "--from", "+15005550006",
                            "--twilio-base-url", api.url,
                            env=_clean_env(TWILIO_AUTH_TOKEN="from-env"))
        try:
            await _append_until(first, proc, dovecot, imap_user, message("Lunch?"))
            await append(dovecot, imap_user, NO_SENDER)
            async with asyncio.timeout(DELIVERY_TIMEOUT_S):
                await anonymous.wait()
        finally:
            code, err = await _stop(proc)
    bodies = [r.form() for r in api.requests]
    assert bodies[0] == {"To": ["+15551230001"], "From": ["+15005550006"],
                         "Body": ["Alice Example - Lunch?"]}
    assert bodies[-1]["Body"] == ["(unknown sender) - No sender"]
    request = api.requests[0]
    assert request.path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert request.headers["authorization"].startswith("Basic ")  # AC1:from-env
    assert code == 0, err.decode()


async def test_apnsworker_connects_the_account_and_pushes_the_original_alert(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path,
) -> None:
    password = tmp_path / "imap-password"
    password.write_text(imap_user.password + "\n")
    async with FakeApns(tmp_path / "apns") as apns:
        # The original's two files: the certificate and, separately, its key.
        proc = await _start(
            "apnsworker", "--url", workers_url(server),
            "--cert", str(apns.directory / "cert.pem"), "--key", str(apns.directory / "key.pem"),
            "--pushtoken", "feedface", "--topic", "org.example.mail",
            "--apns-server", f"127.0.0.1:{apns.port}",
            "--apns-ca-file", str(apns.directory / "ca.pem"),
            "--host", dovecot.host, "--port", str(dovecot.tls_port), "--user", imap_user.username,
            "--password-file", str(password), env=_clean_env())
        pushed = asyncio.Event()
        waiter = asyncio.create_task(apns.wait_requests(1, DELIVERY_TIMEOUT_S))
        waiter.add_done_callback(lambda _: pushed.set())
        try:
            await _append_until(pushed, proc, dovecot, imap_user, message("Lunch?", "free?\r\n"))
            request = waiter.result()[0]
        finally:
            waiter.cancel()
            code, err = await _stop(proc)
    assert request.path == "/3/device/feedface"
    assert request.headers["apns-topic"] == "org.example.mail"
    body = request.json()
    assert body["aps"] == {"alert": "Alice Example - Lunch?", "badge": 1, "sound": "default"}
    assert body["account"] == imap_user.username
    assert code == 0, err.decode()


async def test_apnsworker_without_pushtoken_only_logs(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path,
) -> None:
    password = tmp_path / "imap-password"
    password.write_text(imap_user.password)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / "apnsworker.py"), "--url", workers_url(server),
        "--cert", str(tmp_path / "absent.pem"), "--host", dovecot.host,
        "--port", str(dovecot.tls_port), "--user", imap_user.username,
        "--password-file", str(password), "--log-level", "INFO",
        stderr=asyncio.subprocess.PIPE, env=_clean_env())
    assert proc.stderr is not None
    logged = b""
    try:
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            while b"Alice Example - Hello" not in logged:
                await append(dovecot, imap_user, message("Hello"))
                with contextlib.suppress(TimeoutError):
                    logged = await asyncio.wait_for(proc.stderr.readline(), APPEND_EVERY_S)
                    assert logged, "the worker exited early"
    finally:
        proc.terminate()
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            await proc.communicate()
    # No certificate was needed: nothing is pushed without a device token.
    assert f"{imap_user.username}: Alice Example - Hello (no --pushtoken".encode() in logged
    assert proc.returncode == 0
