"""PostgresStore specifics: schema versions, nodes starting together, NOTIFY, gapless tailing."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from switchboard.model.events import Checkpoint, NewMessage
from switchboard.store import SchemaTooNew, SecretBox, StoreError
from switchboard.store.postgres import EVENTS_CHANNEL, PG_SCHEMA_VERSION, PostgresStore

WAIT_S = 10.0


async def test_schema_version_and_reopen(pg_dsn: str) -> None:
    store = await PostgresStore.open(pg_dsn, SecretBox.generate())
    await store.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert await conn.fetch("SELECT version FROM schema_version") == [(PG_SCHEMA_VERSION,)]
    finally:
        await conn.close()
    store = await PostgresStore.open(pg_dsn, SecretBox.generate())  # nothing re-applied
    await store.close()


async def test_nodes_starting_together_migrate_once(pg_dsn: str) -> None:
    # Without the advisory lock, both would CREATE TABLE and one would fail.
    stores = await asyncio.gather(
        *(PostgresStore.open(pg_dsn, SecretBox.generate()) for _ in range(4))
    )
    for s in stores:
        assert await s.last_event_id() == 0
        await s.close()


async def test_newer_schema_is_refused(pg_dsn: str) -> None:
    store = await PostgresStore.open(pg_dsn, SecretBox.generate())
    await store.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("UPDATE schema_version SET version = $1", PG_SCHEMA_VERSION + 1)
    finally:
        await conn.close()
    with pytest.raises(SchemaTooNew, match="upgrade Switchboard"):
        await PostgresStore.open(pg_dsn, SecretBox.generate())


async def test_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        # Port 1 on loopback: nothing listens there.
        await PostgresStore.open("postgresql://postgres@127.0.0.1:1/x", SecretBox.generate())


async def test_record_notifies_the_last_id_on_commit(pg_dsn: str) -> None:
    store = await PostgresStore.open(pg_dsn, SecretBox.generate())
    listener = await asyncpg.connect(pg_dsn)
    got: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(EVENTS_CHANNEL, lambda *args: got.put_nowait(args[3]))
    try:
        await store.record("a", "INBOX", Checkpoint(7, 0), [])  # no events: no wake-up
        await store.record(
            "a", "INBOX", Checkpoint(7, 3), [NewMessage("a", "INBOX", 7, u) for u in (1, 2, 3)]
        )
        assert await asyncio.wait_for(got.get(), WAIT_S) == "3"
        assert got.empty()
    finally:
        await listener.close()
        await store.close()


async def test_two_nodes_appending_never_leave_a_gap_behind_a_tail(pg_dsn: str) -> None:
    # Two stores on one database stand for two nodes; a reader tailing "id > last seen" must
    # see every id in order, never a later id before an earlier one commits.
    a = await PostgresStore.open(pg_dsn, SecretBox.generate())
    b = await PostgresStore.open(pg_dsn, SecretBox.generate())
    per_writer = 40
    done = asyncio.Event()

    async def write(store: PostgresStore, account: str) -> None:
        for uid in range(1, per_writer + 1):
            await store.record(
                account, "INBOX", Checkpoint(1, uid), [NewMessage(account, "INBOX", 1, uid)]
            )

    seen: list[int] = []

    async def tail() -> None:
        last = 0
        while True:
            finished = done.is_set()
            batch = await a.events_after(last, limit=100)
            for e in batch:
                assert e.event_id == last + 1, f"gap: {last} then {e.event_id}"
                last = e.event_id
                seen.append(last)
            if finished and not batch:
                return
            await asyncio.sleep(0)  # let the writers run between polls

    reader = asyncio.create_task(tail())
    try:
        await asyncio.gather(
            *(write(a, f"a{i}") for i in range(3)), *(write(b, f"b{i}") for i in range(3))
        )
        done.set()
        await asyncio.wait_for(reader, WAIT_S)
        assert seen == list(range(1, 6 * per_writer + 1))
    finally:
        reader.cancel()
        await a.close()
        await b.close()


async def test_two_nodes_recording_one_message_store_it_once(pg_dsn: str) -> None:
    # The old and the new lease holder of one account (two nodes, two pools) both saw the same
    # new mail, neither with a checkpoint row yet: the log holds it once (issue 16).
    a = await PostgresStore.open(pg_dsn, SecretBox.generate())
    b = await PostgresStore.open(pg_dsn, SecretBox.generate())
    try:
        for i in range(30):
            account = f"user{i}"
            events = [NewMessage(account, "INBOX", 7, 1), NewMessage(account, "INBOX", 7, 2)]
            results = await asyncio.gather(
                a.record(account, "INBOX", Checkpoint(7, 2), events),
                b.record(account, "INBOX", Checkpoint(7, 2), events),
            )
            assert sorted(len(r) for r in results) == [0, 2], (account, results)
        assert await a.last_event_id() == 60
        log = await a.events_after(0, limit=100)
        assert [e.event_id for e in log] == list(range(1, 61))
    finally:
        await a.close()
        await b.close()


async def test_upgrade_keeps_an_old_duplicate_and_indexes_the_first(pg_dsn: str) -> None:
    # A log written before schema step 4 may hold a message twice (the fault of issue 16):
    # the upgrade keeps both rows and indexes the first, so only new duplicates are refused.
    store = await PostgresStore.open(pg_dsn, SecretBox.generate())
    await store.record("a", "INBOX", Checkpoint(7, 12), [NewMessage("a", "INBOX", 7, 12)])
    await store.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("DROP INDEX events_one_per_message")
        await conn.execute(
            "ALTER TABLE events DROP COLUMN mailbox, DROP COLUMN uidvalidity, DROP COLUMN uid"
        )
        await conn.execute("ALTER TABLE nodes DROP COLUMN instance")
        await conn.execute(
            "INSERT INTO events (event_id, account_id, payload, created_at)"
            " SELECT 2, account_id, payload, created_at FROM events WHERE event_id = 1"
        )
        await conn.execute("UPDATE event_counter SET last_id = 2")
        await conn.execute("UPDATE schema_version SET version = 3")
    finally:
        await conn.close()
    store = await PostgresStore.open(pg_dsn, SecretBox.generate())
    try:
        assert [e.event_id for e in await store.events_after(0, limit=10)] == [1, 2]
        conn = await asyncpg.connect(pg_dsn)
        try:
            rows = await conn.fetch("SELECT event_id, uid FROM events ORDER BY event_id")
        finally:
            await conn.close()
        assert [tuple(r) for r in rows] == [(1, 12), (2, None)]
        await store.delete_account("a")  # no checkpoint left: only the log remembers
        again = [NewMessage("a", "INBOX", 7, 12)]
        assert await store.record("a", "INBOX", Checkpoint(7, 12), again) == []
    finally:
        await store.close()
