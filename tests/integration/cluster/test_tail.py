"""The event tail: a node publishes every node's events once, in id order, woken by NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from switchboard.cluster.tail import EventTail, NullSink
from switchboard.model.events import Checkpoint, NewMessage, StoredEvent
from switchboard.store import SecretBox
from switchboard.store.postgres import PostgresStore
from tests.support.pg_instance import PrivatePostgres

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


async def test_tail_resumes_from_its_position_after_the_database_restarts(
    private_postgres: PrivatePostgres,
) -> None:
    # Issue 16: after an outage a node's tail stopped for good, silently. Now it retries, says
    # so on /health, and replays from its position once the database is back.
    dsn = private_postgres.dsn
    store = await PostgresStore.open(dsn, SecretBox.generate(), connect_timeout_s=2.0)
    sink = Recorder()
    tail = EventTail(store, dsn, sink, poll_interval_s=0.2, max_retry_s=0.5)
    await tail.start()
    try:
        for uid in (1, 2):
            await store.record("x", "INBOX", Checkpoint(1, uid), [NewMessage("x", "INBOX", 1, uid)])
        await sink.wait_for(2)
        await asyncio.to_thread(private_postgres.crash)
        async with asyncio.timeout(WAIT_S):
            while tail.status()["state"] != "reconnecting":  # noqa: ASYNC110 - polled state
                await asyncio.sleep(0.05)
        status = tail.status()
        assert status["position"] == 2 and status["lastError"], status
        await asyncio.sleep(1.0)  # several failed attempts
        await asyncio.to_thread(private_postgres.start)
        for uid in (3, 4, 5):  # the store's pool reconnects by itself
            await store.record("x", "INBOX", Checkpoint(1, uid), [NewMessage("x", "INBOX", 1, uid)])
        await sink.wait_for(5)
        assert sink.ids == [1, 2, 3, 4, 5]
        status = tail.status()
        assert status["state"] == "connected" and status["recoveries"] == 1, status
        assert status["position"] == 5
    finally:
        await tail.stop()
        await store.close()
