"""server/hub.py: who gets a stored event, and the push frame each one reads.

The hub is pure fan-out (no socket, no clock but the injected one): each test publishes stored
events and reads the frames the subscribed sessions were handed, as a worker would decode them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from switchboard.model.events import (
    MailboxGone,
    MessageSummary,
    NewMessage,
    StoredEvent,
    UidValidityChanged,
)
from switchboard.protocol.ids import MailboxId, MessageId
from switchboard.server.hub import Hub


@dataclass(eq=False)
class Session:
    """A session as the hub sees it, keeping what it was handed."""

    is_worker: bool = True
    wants_summary: bool = False
    mailboxes: frozenset[str] | None = None  # None: every mailbox of its accounts
    frames: list[bytes] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)

    def wants(self, event: NewMessage) -> bool:
        return self.mailboxes is None or event.mailbox in self.mailboxes

    def deliver(self, frame: bytes, event_id: int) -> None:
        self.frames.append(frame)
        self.event_ids.append(event_id)

    def pushes(self) -> list[tuple[str, dict[str, Any]]]:
        """Each frame as the client library reads it: ``[[name, args]]``."""
        out = []
        for frame in self.frames:
            decoded = json.loads(frame)
            assert len(decoded) == 1 and len(decoded[0]) == 2  # one untagged response
            out.append((decoded[0][0], decoded[0][1]))
        return out


def new_mail(
    event_id: int,
    account: str = "alice",
    mailbox: str = "INBOX",
    uid: int = 7,
    summary: MessageSummary | None = None,
    detected_at: float | None = None,
) -> StoredEvent:
    event = NewMessage(account, mailbox, 42, uid, summary, detected_at=detected_at)
    return StoredEvent(event_id, event, created_at=0.0)


def ids_of(account: str = "alice", mailbox: str = "INBOX", uid: int = 7) -> tuple[str, str]:
    mailbox_id = MailboxId(mailbox, 42)
    return mailbox_id.encode(), MessageId(mailbox_id, uid).encode()


def test_a_worker_watching_all_gets_every_accounts_mail_with_the_original_keys_first() -> None:
    hub, worker = Hub(), Session()
    hub.subscribe_all(worker)
    hub.publish([new_mail(1, "alice"), new_mail(2, "bob", uid=9)])
    mailbox_id, message_id = ids_of("bob", uid=9)
    assert [name for name, _ in worker.pushes()] == ["newMessage", "newMessage"]
    _, args = worker.pushes()[1]
    assert args == {
        "mailboxId": mailbox_id, "messageId": message_id, "account": "bob", "eventId": 2,
    }  # fmt: skip
    assert list(args) == ["mailboxId", "messageId", "account", "eventId"]
    assert worker.event_ids == [1, 2]


def test_a_client_gets_its_own_account_without_the_account_key() -> None:
    hub, client, other = Hub(), Session(is_worker=False), Session(is_worker=False)
    hub.subscribe_account(client, "alice")
    hub.subscribe_account(other, "bob")
    hub.publish([new_mail(5, "alice")])
    mailbox_id, message_id = ids_of()
    assert client.pushes() == [
        ("newMessage", {"mailboxId": mailbox_id, "messageId": message_id, "eventId": 5})
    ]
    assert other.frames == []


def test_an_account_subscriber_gets_only_the_mailboxes_it_watches() -> None:
    hub, session = Hub(), Session(mailboxes=frozenset({"Work"}))
    hub.subscribe_account(session, "alice")
    hub.publish([new_mail(1, mailbox="INBOX"), new_mail(2, mailbox="Work")])
    assert session.event_ids == [2]


def test_the_summary_goes_only_to_who_asked_and_only_when_there_is_one() -> None:
    hub = Hub()
    plain, asking = Session(), Session(wants_summary=True)
    hub.subscribe_all(plain)
    hub.subscribe_all(asking)
    summary = MessageSummary("Lunch?", "Bob <bob@example.org>", "Fri, 4 Dec 2026 12:00 +0000", 812)
    hub.publish([new_mail(1, summary=summary), new_mail(2)])
    assert "summary" not in plain.pushes()[0][1]
    assert asking.pushes()[0][1]["summary"] == {
        "subject": "Lunch?", "from": "Bob <bob@example.org>",
        "date": "Fri, 4 Dec 2026 12:00 +0000", "size": 812,
    }  # fmt: skip
    assert "summary" not in asking.pushes()[1][1]  # the engine had none for this one


def test_sessions_of_one_shape_share_one_encoded_frame() -> None:
    hub = Hub()
    first, second, client = Session(), Session(), Session(is_worker=False)
    for session in (first, second):
        hub.subscribe_all(session)
    hub.subscribe_account(client, "alice")
    hub.publish([new_mail(1)])
    assert first.frames[0] is second.frames[0]  # encoded once for both workers
    assert client.frames[0] != first.frames[0]  # the client's has no account key


def test_a_session_subscribed_twice_gets_each_event_once() -> None:
    hub, worker = Hub(), Session()
    hub.subscribe_all(worker)
    hub.subscribe_account(worker, "alice")
    hub.publish([new_mail(1)])
    assert worker.event_ids == [1]


def test_unsubscribing_and_removing_stop_the_pushes() -> None:
    hub, client, worker = Hub(), Session(is_worker=False), Session()
    hub.subscribe_account(client, "alice")
    hub.subscribe_account(client, "bob")
    hub.subscribe_all(worker)
    hub.unsubscribe_account(client, "alice")
    hub.publish([new_mail(1, "alice"), new_mail(2, "bob")])
    assert client.event_ids == [2]
    hub.remove(client)
    hub.remove(worker)
    hub.publish([new_mail(3, "bob")])
    assert client.event_ids == [2]
    assert worker.event_ids == [1, 2]
    hub.unsubscribe_account(client, "nobody")  # unknown: nothing to do, no error


def test_other_events_are_not_pushed_but_reach_the_listeners_in_order() -> None:
    hub, worker = Hub(), Session()
    hub.subscribe_all(worker)
    batches: list[Sequence[StoredEvent]] = []
    hub.add_listener(batches.append)
    batch = [
        StoredEvent(1, UidValidityChanged("alice", "INBOX", 1, 2), 0.0),
        new_mail(2),
        StoredEvent(3, MailboxGone("alice", "Old", "deleted"), 0.0),
    ]
    hub.publish(batch)
    assert worker.event_ids == [2]
    assert hub.published == 1
    assert [[s.event_id for s in b] for b in batches] == [[1, 2, 3]]


def test_the_latency_of_a_pushed_mail_is_measured_from_its_detection() -> None:
    hub = Hub(wall_clock=lambda: 1_000.25)
    hub.publish([new_mail(1, detected_at=1_000.0), new_mail(2)])  # the 2nd: a catch-up
    assert hub.published == 2
    assert [(s.at, s.latency_ms) for s in hub.latency.since(0)] == [(1_000.25, 250.0)]
