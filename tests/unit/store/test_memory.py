"""MemoryStore specifics; the shared contract is in test_base.py."""

from __future__ import annotations

from switchboard.model.events import Checkpoint, NewMessage
from switchboard.store import MemoryStore


async def test_data_outlives_the_store_like_a_file() -> None:
    first = MemoryStore()
    await first.record("a", "INBOX", Checkpoint(1, 1), [NewMessage("a", "INBOX", 1, 1)])
    await first.close()
    second = MemoryStore(data=first.data)
    assert await second.load_checkpoint("a", "INBOX") == Checkpoint(1, 1)
    assert await second.last_event_id() == 1
    # A separate store starts empty.
    assert await MemoryStore().last_event_id() == 0
