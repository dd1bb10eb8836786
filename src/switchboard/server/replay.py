"""A resumed subscription's missed events: the log after ``since``, as push frames.

A watch with ``since`` (docs/protocol.md, "Resume and groups") gets every logged ``newMessage``
after that id that its subscription would have delivered, encoded exactly as the live fan-out
encodes it, then the live events; the session drops live duplicates by id. The log is read a page
at a time, lazily, so a long replay holds one page in memory and waits while the session's outbox
is full.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from typing import Protocol

from switchboard.model.events import NewMessage, StoredEvent
from switchboard.protocol.frames import encode_push
from switchboard.server.hub import Subscriber, push_args

__all__ = ["REPLAY_PAGE", "EventLog", "replay_frames"]

REPLAY_PAGE = 500
"""Events read from the log per query while replaying."""


class EventLog(Protocol):
    """The one store query a replay needs (every store has it)."""

    async def events_after(
        self, after_id: int, *, limit: int, account_ids: Collection[str] | None = None
    ) -> Sequence[StoredEvent]:
        """Up to ``limit`` stored events with ids above ``after_id``, ascending."""
        ...


async def replay_frames(
    log: EventLog, since: int, account_id: str | None, subscriber: Subscriber
) -> AsyncIterator[tuple[bytes, int]]:
    """``(push frame, event id)`` for every logged new message after ``since`` ``subscriber``
    wants: every account's (``account_id`` ``None``, ``watchAll``) or one account's, filtered
    by the subscriber's watch set.

    Raises:
        StoreError: the log cannot be read.
    """
    after = since
    accounts = None if account_id is None else (account_id,)
    while True:
        page = await log.events_after(after, limit=REPLAY_PAGE, account_ids=accounts)
        if not page:
            return
        for stored in page:
            after = stored.event_id
            event = stored.event
            if not isinstance(event, NewMessage):
                continue
            if account_id is None or subscriber.wants(event):
                args = push_args(
                    stored.event_id,
                    event,
                    with_account=subscriber.is_worker,
                    with_summary=subscriber.wants_summary,
                )
                yield encode_push("newMessage", args), stored.event_id
