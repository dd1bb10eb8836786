"""The event tail: a node publishes every node's events once, in id order, woken by NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from switchboard.cluster.tail import EventTail, NullSink
from switchboard.engine.model import Checkpoint, NewMessage, StoredEvent
from switchboard.store import SecretBox
from switchboard.store.postgres import PostgresStore

WAIT_S = 10.0


class Recorder:
    def __init__(self) -> None:
        self.ids: list[int] = []
        self.changed = asyncio.Event()

    def publish(self, events: Sequence[StoredEvent]) -> None:
        self.ids.extend(e.event_id for e in events)
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(WAIT_S):
            while len(self.ids) < count:
                self.changed.clear()
                await self.changed.wait()


async def test_tail_publishes_both_nodes_events_exactly_once(pg_dsn: str) -> None:
    box = SecretBox.generate()
    a = await PostgresStore.open(pg_dsn, box)
    b = await PostgresStore.open(pg_dsn, box)
    before = await a.record("x", "INBOX", Checkpoint(1, 1), [NewMessage("x", "INBOX", 1, 1)])
    sink = Recorder()
    # A long poll interval: delivery within the wait proves the NOTIFY wake-up works.
    tail = EventTail(a, pg_dsn, sink, poll_interval_s=60.0)
    await tail.start()  # from the log's end: the event recorded before is not replayed
    try:
        for uid in range(2, 12):
            store = a if uid % 2 else b
            await store.record("x", "INBOX", Checkpoint(1, uid), [NewMessage("x", "INBOX", 1, uid)])
        await sink.wait_for(10)
        assert sink.ids == list(range(before[0].event_id + 1, before[0].event_id + 11))
        assert await tail.drain() == 0  # nothing left, nothing twice
    finally:
        await tail.stop()
        await a.close()
        await b.close()
    NullSink().publish(before)  # the engine's sink in a cluster drops events silently
