"""SqliteStore specifics: the file itself, schema versions, durability across kill -9."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from switchboard.model.events import Checkpoint, NewMessage
from switchboard.store import (
    SCHEMA_VERSION,
    CheckpointMovedBackwards,
    SchemaTooNew,
    SecretBox,
    SqliteStore,
    StoreError,
)


async def test_file_is_wal_with_schema_version(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "sb.db", SecretBox.generate())
    await store.close()
    conn = sqlite3.connect(tmp_path / "sb.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    finally:
        conn.close()
    # Opening again leaves the version alone (migrations are not re-applied).
    store = await SqliteStore.open(tmp_path / "sb.db", SecretBox.generate())
    await store.close()


async def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "sb.db"
    store = await SqliteStore.open(path, SecretBox.generate())
    await store.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.close()
    with pytest.raises(SchemaTooNew, match="upgrade Switchboard"):
        await SqliteStore.open(path, SecretBox.generate())


async def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "sb.db"
    path.write_bytes(b"this is not a database, just some bytes " * 100)
    with pytest.raises(StoreError):
        await SqliteStore.open(path, SecretBox.generate())


async def test_cancelled_caller_does_not_split_a_record(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "sb.db", SecretBox.generate())
    events = [NewMessage("a", "INBOX", 1, uid) for uid in range(1, 201)]
    task = asyncio.create_task(store.record("a", "INBOX", Checkpoint(1, 200), events))
    # Let the task submit its call to the store's thread before cancelling it.
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Whether the call reached the store's thread before the cancel depends on scheduling; either
    # way the record is all or nothing: never some events, never events without the checkpoint.
    recorded = (await store.last_event_id(), await store.load_checkpoint("a", "INBOX"))
    assert recorded in ((200, Checkpoint(1, 200)), (0, None))
    await store.close()


_CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from switchboard.model.events import Checkpoint, NewMessage
    from switchboard.store import SecretBox, SqliteStore

    async def main():
        store = await SqliteStore.open(Path(sys.argv[1]), SecretBox(sys.argv[2].encode()))
        for uid in range(1, 6):
            await store.record("a", "INBOX", Checkpoint(1, uid), [NewMessage("a", "INBOX", 1, uid)])
        print("recorded", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit, no flush

    asyncio.run(main())
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_committed_records_survive_kill_9(tmp_path: Path) -> None:
    key_text = Fernet.generate_key().decode()
    path = tmp_path / "sb.db"
    proc = subprocess.run(  # noqa: ASYNC221 - a short child; the loop has nothing else to do
        [sys.executable, "-c", _CHILD, str(path), key_text],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.strip() == "recorded", proc.stderr
    assert proc.returncode == -9
    store = await SqliteStore.open(path, SecretBox(key_text.encode()))
    assert await store.last_event_id() == 5
    assert await store.load_checkpoint("a", "INBOX") == Checkpoint(1, 5)
    assert [e.event.uid for e in await store.events_after(0, limit=10)] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]
    await store.close()


async def test_upgrade_keeps_an_old_duplicate_and_indexes_the_first(tmp_path: Path) -> None:
    # A log written before schema step 4 may hold a message twice (issue 16): the upgrade
    # keeps both rows and indexes the first, so only new duplicates are refused.
    path = tmp_path / "sb.db"
    store = await SqliteStore.open(path, SecretBox.generate())
    await store.record("a", "INBOX", Checkpoint(7, 12), [NewMessage("a", "INBOX", 7, 12)])
    await store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("DROP INDEX events_one_per_message")
        for column in ("mailbox", "uidvalidity", "uid"):
            conn.execute(f"ALTER TABLE events DROP COLUMN {column}")
        conn.execute(
            "INSERT INTO events (account_id, payload, created_at)"
            " SELECT account_id, payload, created_at FROM events WHERE event_id = 1"
        )
        conn.execute("UPDATE schema_version SET version = 2")
    finally:
        conn.close()
    store = await SqliteStore.open(path, SecretBox.generate())
    try:
        assert [e.event_id for e in await store.events_after(0, limit=10)] == [1, 2]
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT event_id, uid FROM events ORDER BY event_id").fetchall()
        finally:
            conn.close()
        assert rows == [(1, 12), (2, None)]
        await store.delete_account("a")  # no checkpoint left: only the log remembers
        again = [NewMessage("a", "INBOX", 7, 12)]
        assert await store.record("a", "INBOX", Checkpoint(7, 12), again) == []
    finally:
        await store.close()


async def test_record_never_holds_the_loop_while_another_process_writes(tmp_path: Path) -> None:
    # A small record runs on the loop's thread when the store's thread is idle; when another
    # process (the CLI, say) holds the write lock, it must wait on the thread, not the loop.
    path = tmp_path / "sb.db"
    store = await SqliteStore.open(path, SecretBox.generate())
    await store.record("a", "INBOX", Checkpoint(1, 1), [NewMessage("a", "INBOX", 1, 1)])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    running = asyncio.create_task(ticker())
    record = asyncio.create_task(
        store.record("a", "INBOX", Checkpoint(1, 2), [NewMessage("a", "INBOX", 1, 2)])
    )
    await asyncio.sleep(0.3)
    assert not record.done()
    assert ticks >= 10  # the loop kept running meanwhile
    other.execute("COMMIT")
    other.close()
    stored = await asyncio.wait_for(record, 5.0)
    running.cancel()
    assert [s.event.uid for s in stored] == [2]  # type: ignore[union-attr]
    assert await store.load_checkpoint("a", "INBOX") == Checkpoint(1, 2)
    await store.close()


async def test_the_wal_is_checkpointed_while_records_run(tmp_path: Path) -> None:
    # SQLite's own checkpoints are off (they would sync on the loop's thread); the store's
    # thread takes them, so the WAL does not grow with every record.
    path = tmp_path / "sb.db"
    store = await SqliteStore.open(path, SecretBox.generate())
    records = 1500
    for uid in range(1, records + 1):
        await store.record("a", "INBOX", Checkpoint(1, uid), [NewMessage("a", "INBOX", 1, uid)])
    await store.last_event_id()  # behind the last checkpoint on the store's thread
    wal_bytes = (tmp_path / "sb.db-wal").stat().st_size
    assert wal_bytes < records * 4096, wal_bytes  # under one page per record
    assert await store.last_event_id() == records
    await store.close()


async def test_concurrent_records_commit_together_and_fail_alone(tmp_path: Path) -> None:
    # Records made while the store's thread is busy wait and share one transaction (group
    # commit); each keeps its own outcome: one that would move its checkpoint backwards fails
    # alone, and the same message recorded twice is stored once.
    store = await SqliteStore.open(tmp_path / "sb.db", SecretBox.generate())
    await store.record("a", "box-bad", Checkpoint(1, 10), [])
    busy = asyncio.create_task(store.last_event_id())  # the thread has work: no record inline
    await asyncio.sleep(0)

    def record(box: str, uid: int, checkpoint_uid: int | None = None) -> asyncio.Task[object]:
        return asyncio.create_task(store.record(
            "a", box, Checkpoint(1, checkpoint_uid or uid), [NewMessage("a", box, 1, uid)]))

    tasks = [record(f"box-{i}", 1) for i in range(300)]
    backwards = record("box-bad", 5)
    again = [record("box-0", 1), record("box-0", 2)]
    results = await asyncio.gather(*tasks, backwards, *again, return_exceptions=True)
    assert isinstance(results[300], CheckpointMovedBackwards)
    stored = [r for r in results[:300] + results[301:]]
    assert all(isinstance(r, list) for r in stored), stored
    ids = [s.event_id for r in stored for s in r]  # type: ignore[union-attr]
    assert len(ids) == 301 and len(set(ids)) == 301  # box-0 uid 1 once, uid 2 once
    assert results[301] == []  # the duplicate of box-0 uid 1
    assert await store.load_checkpoint("a", "box-bad") == Checkpoint(1, 10)
    assert await store.load_checkpoint("a", "box-0") == Checkpoint(1, 2)
    assert await store.last_event_id() == max(ids)
    assert await busy == 0
    await store.close()
