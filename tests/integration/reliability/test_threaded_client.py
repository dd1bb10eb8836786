"""The threaded client with reconnect=True across a kill -9 of the server: resumes, none lost."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import switchboard
from switchboard.client.resume import Backoff
from tests.integration.reliability.conftest import (
    DELIVERY_TIMEOUT_S,
    connect_args,
    messages,
    report,
)
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.server_process import ServerProcess

pytestmark = [pytest.mark.dovecot, pytest.mark.timeout(120)]

MESSAGES = 60


class Recorder(switchboard.Client):
    """A worker written the original way: set-up commands in opened(), pushes in a hook."""

    def __init__(self, url: str, setup: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.setup = setup
        self.watching = threading.Event()
        self.received: list[tuple[int, str]] = []
        self.changed = threading.Condition()
        self.opened_calls = 0
        self.reconnected_calls = 0

    def opened(self) -> None:
        self.opened_calls += 1
        self.send_cmds(*self.setup).then(lambda _reply: self.watching.set())

    def reconnected(self) -> None:
        self.reconnected_calls += 1

    def received_unsolicited(self, resps: list[list[Any]]) -> None:
        for name, args in resps:
            if name == "newMessage":
                with self.changed:
                    self.received.append((args["eventId"], args["messageId"]))
                    self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            ok = self.changed.wait_for(lambda: len(self.received) >= count, DELIVERY_TIMEOUT_S)
        assert ok, f"{len(self.received)} of {count} events came"


def test_threaded_client_resumes_after_server_kill9(
    server_process: ServerProcess, dovecot: DovecotServer, imap_user: ImapUser
) -> None:
    setup = [("connect", connect_args(dovecot, imap_user)),
             ("watchMailboxes", {"account": imap_user.username, "list": ["INBOX"]})]
    client = Recorder(server_process.url, setup, reconnect=True,
                      backoff=Backoff(first_s=0.05, max_s=0.5))
    client.connect()
    try:
        assert client.watching.wait(DELIVERY_TIMEOUT_S)
        burst = messages(MESSAGES, "threaded")
        uids = dovecot.append_many(imap_user, burst[: MESSAGES // 2])
        client.wait_for(10)
        server_process.kill9()
        killed_at = time.monotonic()
        seen_at_kill = len(client.received)
        uids += dovecot.append_many(imap_user, burst[MESSAGES // 2:])  # while it is down
        server_process.start()
        client.wait_for(len(uids))
        recovered_s = time.monotonic() - killed_at
    finally:
        client.close()
        client.run_forever()

    uidvalidity = dovecot.uidvalidity(imap_user)
    wanted = {f"INBOX!{uidvalidity}?{uid}" for uid in uids}
    event_ids = [e for e, _ in client.received]
    assert {m for _, m in client.received} == wanted
    assert len(event_ids) == len(set(event_ids))  # resumed after the last one: no repeats
    assert client.last_event_id == max(event_ids)
    assert (client.opened_calls, client.reconnected_calls, client.reconnects) == (1, 1, 1)
    report(
        "threaded client, kill -9 server, reconnect=True",
        appended=len(uids), received=len(event_ids), received_before_kill=seen_at_kill,
        duplicates_before_dedup=len(event_ids) - len(set(event_ids)),
        all_delivered_s_after_kill=round(recovered_s, 3),
    )
