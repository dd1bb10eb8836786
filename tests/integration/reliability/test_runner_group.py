"""Two runner workers in one group: a handler that raises is retried elsewhere; none done twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

import switchboard.aio
from switchboard.server.app import SwitchboardServer
from switchboard.workers.mail import NewMail
from switchboard.workers.runner import Handler, run_worker
from tests.integration.reliability.conftest import (
    DELIVERY_TIMEOUT_S,
    connect_args,
    messages,
    report,
)
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import FAST_ENGINE, server_settings

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(120)]

MESSAGES = 40
VISIBILITY_S = 0.5  # how long a failed (never acked) event stays with its member


async def test_runner_group_retries_a_failed_handler_on_redelivery(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    server = SwitchboardServer(
        server_settings(tmp_path / "data", dovecot, group_visibility_timeout_s=VISIBILITY_S),
        engine_settings=FAST_ENGINE,
    )
    await server.start()
    url = f"ws://127.0.0.1:{server.port}/workers"
    done: list[tuple[str, int]] = []  # (worker, eventId) of handlers that returned
    failures: list[int] = []
    changed = asyncio.Condition()

    def handler_for(name: str) -> Handler:
        async def handle(event: NewMail) -> None:
            assert event.event_id is not None and event.group == "g"
            assert event.subject is not None and event.subject.startswith("runner-group")
            async with changed:
                if not failures:
                    failures.append(event.event_id)
                    raise RuntimeError("the first attempt fails")
                done.append((name, event.event_id))
                changed.notify_all()
        return handle

    try:
        async with switchboard.aio.connect(url) as setup:
            await setup.call("connect", connect_args(dovecot, imap_user))
            await setup.watch_mailboxes(imap_user.username, ["INBOX"])
        readies = [asyncio.Event(), asyncio.Event()]
        workers = [
            asyncio.create_task(run_worker(handler_for(name), url=url, group="g", ready=ready,
                                           properties=("subject",)))
            for name, ready in zip("ab", readies, strict=True)
        ]
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            for ready in readies:
                await ready.wait()
        uids = await asyncio.to_thread(
            dovecot.append_many, imap_user, messages(MESSAGES, "runner-group"))
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT_S), changed:
                await changed.wait_for(lambda: len({e for _, e in done}) >= len(uids))
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
    finally:
        await server.stop()

    per_event = Counter(e for _, e in done)
    assert len(per_event) == len(uids)
    assert max(per_event.values()) == 1  # every handler success exactly once
    assert failures[0] in per_event  # the failed event came back and succeeded
    report(
        "runner group of 2, a handler raises once",
        appended=len(uids), handled=len(done), failed_attempts=len(failures),
        per_worker=dict(Counter(w for w, _ in done)),
    )
