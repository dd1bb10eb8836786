"""The example scripts as users run them: --help lists every option; two run end to end."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.server.app import SwitchboardServer
from switchboard.workers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.integration.workers.conftest import append, workers_url
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.fake_services.http import FakeHttpServer
from tests.support.switchboard import message

EXAMPLES = Path(__file__).parents[3] / "examples"
WORKERS = ["listener", "webhook", "relay", "attachments", "apns", "twilio"]
LINE_TIMEOUT_S = 30.0


@pytest.mark.parametrize("name", WORKERS)
def test_help_lists_the_options(name: str) -> None:
    out = subprocess.run([sys.executable, str(EXAMPLES / f"{name}_worker.py"), "--help"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    for option in ("--url", "--token-file", "--group", "--state-file", "--host",
                   "--password-file", "--mailbox", "--concurrency"):
        assert option in out
    if name not in ("listener", "attachments"):
        assert "--dead-letter" in out and "--retries" in out


async def _start(args: list[str], password_file: Path,
                 env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, "--password-file", str(password_file), "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


async def _stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.terminate()
    async with asyncio.timeout(LINE_TIMEOUT_S):
        return await proc.wait()


def _common(server: SwitchboardServer, dovecot: DovecotServer, user: ImapUser) -> list[str]:
    return ["--url", workers_url(server), "--host", dovecot.host, "--port",
            str(dovecot.tls_port), "--user", user.username]


async def test_listener_raw_prints_the_parsed_message(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path,
) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text(imap_user.password + "\n")
    proc = await _start([str(EXAMPLES / "listener_worker.py"), "--raw",
                         *_common(server, dovecot, imap_user)], secret)
    try:
        # The worker is ready when the server holds its account; appending earlier would be
        # missed (a first run starts at "now"), so append until the first line shows up.
        assert proc.stdout is not None
        line = b""
        async with asyncio.timeout(LINE_TIMEOUT_S):
            while not line:
                await append(dovecot, imap_user, message("Hello raw", "the body text\r\n"))
                try:
                    line = await asyncio.wait_for(proc.stdout.readline(), 2)
                except TimeoutError:
                    assert proc.returncode is None, await proc.stderr.read()  # type: ignore[union-attr]
            rest = [await proc.stdout.readline() for _ in range(7)]
    finally:
        code = await _stop(proc)
    assert line.decode() == (f"{imap_user.username}: 'Hello raw' from Alice Example "
                             "<alice@example.com> to bob@example.com\n")
    text = b"".join(rest).decode()
    assert "Subject: Hello raw\n" in text and "\nthe body text\n" in text
    assert code == 0


async def test_webhook_example_posts_signed_events(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path,
) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text(imap_user.password)
    async with FakeHttpServer() as hook:
        proc = await _start([str(EXAMPLES / "webhook_worker.py"), "--webhook-url",
                             hook.url + "/mail", *_common(server, dovecot, imap_user)],
                            secret, env={"SWITCHBOARD_WEBHOOK_SECRET": "from-env"})
        try:
            async with asyncio.timeout(LINE_TIMEOUT_S):
                while not hook.requests:
                    await append(dovecot, imap_user, message("Via the example"))
                    try:
                        await hook.wait_requests(1, timeout_s=2)
                    except TimeoutError:
                        assert proc.returncode is None
        finally:
            code = await _stop(proc)
    request = hook.requests[0]
    assert request.path == "/mail"
    assert verify_signature(b"from-env", request.body, request.headers[TIMESTAMP_HEADER.lower()],
                            request.headers[SIGNATURE_HEADER.lower()])
    assert json.loads(request.body)["summary"]["subject"] == "Via the example"
    assert code == 0


def test_a_missing_secret_is_a_clear_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SWITCHBOARD_WEBHOOK_SECRET"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "webhook_worker.py"), "--webhook-url", "http://x/"],
        capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "no webhook secret given (set $SWITCHBOARD_WEBHOOK_SECRET" in result.stderr
