"""Kill -9 a worker mid-stream; restarted, it resumes from its state file and loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import switchboard.aio
from switchboard.server.app import SwitchboardServer
from tests.integration.reliability.conftest import (
    DELIVERY_TIMEOUT_S,
    connect_args,
    messages,
    report,
)
from tests.support.dovecot import DovecotServer, ImapUser

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(150)]

MESSAGES = 200
KILL_AFTER = 40


async def start_worker(
    server: SwitchboardServer, dovecot: DovecotServer, user: ImapUser, tmp_path: Path
) -> asyncio.subprocess.Process:
    password_file = tmp_path / "password"
    password_file.write_text(user.password)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "switchboard.workers.runner",
        "--url", f"ws://127.0.0.1:{server.port}/workers",
        "--host", dovecot.host, "--port", str(dovecot.tls_port),
        "--user", user.username, "--password-file", str(password_file),
        "--state-file", str(tmp_path / "worker.state"),
        stdout=asyncio.subprocess.PIPE, stderr=(tmp_path / "worker.log").open("a"),
        env=dict(os.environ),
    )


async def read_events(proc: asyncio.subprocess.Process, into: list[dict[str, object]],
                      stop_after: int | None = None) -> None:
    assert proc.stdout is not None
    while stop_after is None or len(into) < stop_after:
        line = await proc.stdout.readline()
        if not line:
            return
        into.append(json.loads(line))


async def test_kill9_worker_mid_stream_then_resume_from_state_file(
    server: SwitchboardServer, dovecot: DovecotServer, imap_user: ImapUser, tmp_path: Path
) -> None:
    uidvalidity = dovecot.uidvalidity(imap_user)
    burst = messages(MESSAGES, "worker-kill")
    first_run: list[dict[str, object]] = []
    second_run: list[dict[str, object]] = []

    # The account and its watch exist before the burst (the first watch takes a baseline:
    # older mail is never announced), and position 0 in a fresh server's log makes the worker
    # take every event, also those logged before its own watch is in place.
    async with switchboard.aio.connect(f"ws://127.0.0.1:{server.port}/workers") as setup:
        await setup.call("connect", connect_args(dovecot, imap_user))
        await setup.watch_mailboxes(imap_user.username, ["INBOX"])
    (tmp_path / "worker.state").write_text('{"lastEventId": 0}')
    worker = await start_worker(server, dovecot, imap_user, tmp_path)
    try:
        appender = asyncio.create_task(
            asyncio.to_thread(dovecot.append_many, imap_user, burst))
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            await read_events(worker, first_run, stop_after=KILL_AFTER)
        worker.kill()  # SIGKILL
        killed_at = time.monotonic()
        await worker.wait()
        await read_events(worker, first_run)  # lines already in the pipe were printed too
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    persisted = json.loads((tmp_path / "worker.state").read_text())["lastEventId"]

    uids = await appender
    wanted = {f"INBOX!{uidvalidity}?{uid}" for uid in uids}
    worker = await start_worker(server, dovecot, imap_user, tmp_path)
    try:
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            while not wanted <= {e["messageId"] for e in first_run + second_run}:
                before = len(second_run)
                await read_events(worker, second_run, stop_after=before + 1)
                assert len(second_run) > before, "worker exited"
                if before == 0:
                    first_after_restart = time.monotonic()
    finally:
        worker.kill()
        await worker.wait()

    received = first_run + second_run
    event_ids = [e["eventId"] for e in received]
    unique = {e["eventId"]: e["messageId"] for e in received}
    assert set(unique.values()) == wanted  # none lost
    assert max(Counter(unique.values()).values()) == 1  # one event per message
    assert all(e["eventId"] > persisted for e in second_run)  # resumed from the state file
    report(
        "kill -9 worker mid-stream, resume from state file",
        appended=len(uids), received=len(received), unique=len(unique),
        duplicates_before_dedup=len(event_ids) - len(set(event_ids)),
        received_before_kill=len(first_run), persisted_last_event_id=persisted,
        recovery_s=round(first_after_restart - killed_at, 3),
    )
