"""Fan-out of durable events to the WebSocket sessions subscribed to them.

The engine hands every batch of stored events to :meth:`Hub.publish` (the engine's
``EventSink``). The hub finds the subscribed sessions and gives each the push frame, encoded once
per interface — workers get the ``account`` key, clients do not (docs/protocol.md, "Pushes") —
so the cost of a push does not grow with JSON encoding per subscriber.

Who gets what (docs/protocol.md, "Pushes"):

- a worker that sent ``watchAll`` gets every account's mail;
- a worker that sent ``watchMailboxes`` for an account gets that account's mail (the original
  subscribed it to every account; we limit it to what it watched);
- a client gets its own account's mail from the mailboxes of its own watch set only.

``publish`` never blocks and never raises: delivery is a non-blocking hand-off to each session's
bounded outbox, and a session that cannot keep up is closed by its own outbox, not here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from switchboard.model.events import NewMessage, StoredEvent
from switchboard.protocol.frames import encode_push
from switchboard.protocol.ids import MailboxId, MessageId
from switchboard.protocol.wirejson import safe_int
from switchboard.server.latency import LatencyRing

__all__ = ["Hub", "Subscriber", "push_args"]

logger = logging.getLogger("switchboard.server")


class Subscriber(Protocol):
    """A session as the hub sees it."""

    @property
    def is_worker(self) -> bool:
        """Whether pushes carry the ``account`` key (``/workers``)."""
        ...

    @property
    def wants_summary(self) -> bool:
        """Whether pushes carry the ``summary`` object (the session asked for it)."""
        ...

    def wants(self, event: NewMessage) -> bool:
        """Whether this session's watch set covers ``event`` (already filtered by account)."""
        ...

    def deliver(self, frame: bytes, event_id: int) -> None:
        """Queue one encoded push frame; must not block or raise."""
        ...


def push_args(
    event_id: int, event: NewMessage, *, with_account: bool, with_summary: bool = False
) -> dict[str, Any]:
    """The ``newMessage`` arguments: the original's keys in its order, then our ``eventId``.

    With ``with_summary`` (the subscriber asked with ``"summary": true``) and a summary at hand,
    a ``summary`` object follows: decoded subject and sender, the Date header, the size — what
    most workers would otherwise fetch with ``getMessages``.
    """
    mailbox_id = MailboxId(event.mailbox, event.uidvalidity)
    args: dict[str, Any] = {
        "mailboxId": mailbox_id.encode(),
        "messageId": MessageId(mailbox_id, event.uid).encode(),
    }
    if with_account:
        args["account"] = event.account_id
    args["eventId"] = event_id
    summary = event.summary
    if with_summary and summary is not None:
        args["summary"] = {
            "subject": summary.subject,
            "from": summary.from_,
            "date": summary.date,
            "size": safe_int(summary.size),
        }
    return args


class Hub:
    """Subscriptions by account plus the ``watchAll`` set; implements the engine's EventSink."""

    def __init__(self, *, wall_clock: Callable[[], float] = time.time) -> None:
        self._all: set[Subscriber] = set()
        self._by_account: dict[str, set[Subscriber]] = {}
        self._wall_clock = wall_clock
        self.published = 0
        self.latency = LatencyRing()
        """Push-to-fan-out latency of recent new mail, for the dashboard (``/api/latency``)."""
        self._listeners: list[Callable[[Sequence[StoredEvent]], None]] = []

    def add_listener(self, listener: Callable[[Sequence[StoredEvent]], None]) -> None:
        """Also hand every published batch to ``listener`` (worker groups); it must not block."""
        self._listeners.append(listener)

    def subscribe_all(self, subscriber: Subscriber) -> None:
        """Deliver every account's mail to ``subscriber`` (worker ``watchAll``)."""
        self._all.add(subscriber)

    def subscribe_account(self, subscriber: Subscriber, account_id: str) -> None:
        """Deliver ``account_id``'s mail to ``subscriber``, filtered by its ``wants``."""
        self._by_account.setdefault(account_id, set()).add(subscriber)

    def unsubscribe_account(self, subscriber: Subscriber, account_id: str) -> None:
        """Stop delivering ``account_id``'s mail to ``subscriber``."""
        subscribers = self._by_account.get(account_id)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._by_account[account_id]

    def remove(self, subscriber: Subscriber) -> None:
        """Forget ``subscriber`` everywhere (its connection closed)."""
        self._all.discard(subscriber)
        for account_id in [a for a, subs in self._by_account.items() if subscriber in subs]:
            self.unsubscribe_account(subscriber, account_id)

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """Push each new-message event to its subscribers, in the order given."""
        for stored in events:
            event = stored.event
            if not isinstance(event, NewMessage):
                # UIDVALIDITY changes and vanished mailboxes are not pushed: the original had no
                # such frame and old clients would not know it. They show on the dashboard.
                logger.info("account event: %s", event)
                continue
            self.published += 1
            if event.detected_at is not None:
                self.latency.record(event.detected_at, self._wall_clock())
            targets = set(self._all)
            targets.update(s for s in self._by_account.get(event.account_id, ()) if s.wants(event))
            # One encoding per shape (account key or not, summary or not), not per subscriber.
            frames: dict[tuple[bool, bool], bytes] = {}
            for subscriber in targets:
                shape = (subscriber.is_worker, subscriber.wants_summary)
                frame = frames.get(shape)
                if frame is None:
                    args = push_args(
                        stored.event_id, event, with_account=shape[0], with_summary=shape[1]
                    )
                    frame = frames[shape] = encode_push("newMessage", args)
                subscriber.deliver(frame, stored.event_id)
        for listener in self._listeners:
            listener(events)
