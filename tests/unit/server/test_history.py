"""Tests for server.history: the log's totals up to the start-up horizon plus live events."""

from __future__ import annotations

from switchboard.model.events import Checkpoint, NewMessage, StoredEvent
from switchboard.model.store import EventTotals
from switchboard.server.history import EventHistory
from switchboard.store import MemoryStore, SecretBox


def event(event_id: int, account: str, at: float) -> StoredEvent:
    return StoredEvent(event_id, NewMessage(account, "INBOX", 7, event_id), at)


async def test_stored_and_live_events_add_up_without_counting_twice() -> None:
    store = MemoryStore(SecretBox.generate(), clock=lambda: 100.0)
    await store.record("a", "INBOX", Checkpoint(7, 2), [NewMessage("a", "INBOX", 7, 1),
                                                        NewMessage("a", "INBOX", 7, 2)])
    history = EventHistory(await store.last_event_id())
    # A live event arrives before the log was read; one at or below the horizon is the log's.
    history.on_events([event(2, "a", 100.0), event(3, "a", 150.0), event(4, "b", 160.0)])
    assert history.totals("a") == EventTotals(1, 3, 150.0)  # live only, until loaded
    await history.load(store)
    assert history.totals("a") == EventTotals(3, 3, 150.0)
    assert history.totals("b") == EventTotals(1, 4, 160.0)
    assert history.totals("nobody") is None
    assert history.last_event_id() == 4


async def test_a_store_that_cannot_be_read_leaves_the_live_counts() -> None:
    store = MemoryStore(SecretBox.generate())
    history = EventHistory(0)
    await store.close()
    await history.load(store)  # logged, not raised
    history.on_events([event(1, "a", 5.0)])
    assert history.totals("a") == EventTotals(1, 1, 5.0)
    assert EventHistory(9).last_event_id() == 9
