"""The embedded :class:`~switchboard.store.base.Store`: one SQLite file in WAL mode, off the loop.

How it works: the stdlib ``sqlite3`` connection lives on ONE dedicated worker thread (a
single-thread executor) and every call reaches it through ``loop.run_in_executor``. One thread
means calls run one at a time in the order they were made — no locks, no connection pool — and
the event loop never waits on disk. Encoding and decoding JSON happens on that thread too.

One exception, the engine's hot path: a ``record`` of a few events (a wake's) made while no
call is queued or running on the thread runs on the event loop's thread itself, in one
transaction with every other record made in the same loop turn (one savepoint each: group
commit). A wake's record took 0.50 ms through the thread and 0.33 ms inline, measured inside
the server; a burst of wakes (10,000 mailboxes with one new mail each) costs a few dozen
transactions instead of one each, and no GIL ping-pong with a thread (docs/benchmarks.md,
items 9 and 10). With ``synchronous=NORMAL`` a commit writes the WAL without an fsync, and the
WAL's checkpoints (which do sync) are taken off the loop: automatic checkpointing is off and the
thread runs a passive checkpoint every :data:`_CHECKPOINT_EVERY` records. With
``synchronous_full`` every record takes the thread, as before. The connection is still used by
one thread at a time (the inline path runs only while the executor is idle). Records that go
to the thread and find it busy wait together and then share one transaction the same way.

Durability: WAL journal with ``synchronous=NORMAL`` by default. A committed transaction
survives the process being killed (kill -9): it is in the WAL file, which the OS has. A power
loss or kernel crash may lose the last transactions committed before it (those not yet
checkpointed to disk), but never corrupts the database and never splits a transaction — the
events and the checkpoint they moved are lost or kept together, so the engine re-announces
from the older checkpoint and nothing is missed. Pass ``synchronous_full=True`` to fsync the WAL
at every commit and lose nothing even then, at the price of one fsync per ``record`` (measured
on the 2-core ext4 dev VM: 120 µs per one-event ``record`` with NORMAL, 370 µs with FULL; on
spinning or networked disks an fsync costs milliseconds, hence NORMAL by default).

Why one module of ~950 lines (a long module says why): the store contract is one class whose
methods share the one connection, its thread and the rules above (the inline path, the group
commit, the WAL checkpoints); a third of the lines are docstrings. The schema lives apart.

Schema: ``schema_version`` holds one row; :mod:`~switchboard.store.sqlite_schema` lists the
schema steps, applied in order at open inside one transaction. A database newer than the code raises
:class:`SchemaTooNew` instead of being touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from switchboard.model.accounts import AccountConfig
from switchboard.model.events import Checkpoint, EngineEvent, StoredEvent
from switchboard.model.store import (
    EventTotals,
    GroupPosition,
    StoredAccount,
    StoredToken,
    TokenScope,
)
from switchboard.store import codec, storejson
from switchboard.store.base import (
    check_checkpoint_move,
    check_event_ids,
    check_events_limit,
    check_prune,
    drop_announced,
    message_key,
    settle_group,
)
from switchboard.store.crypto import SecretBox
from switchboard.store.errors import (
    CorruptCredentials,
    SchemaTooNew,
    StoreClosed,
    StoreError,
    UnknownAccount,
)
from switchboard.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

_T = TypeVar("_T")

# A record of at most this many events may run on the loop's thread (see the module docstring).
_INLINE_MAX_EVENTS = 20
# The WAL is checkpointed (on the store's thread) after this many records: a record writes a
# handful of 4 KiB pages, so the WAL stays near SQLite's own 1000-page default.
_CHECKPOINT_EVERY = 100
# At most this many records per transaction on the loop's thread (it holds the loop meanwhile).
_INLINE_BATCH_MAX = 300



# The clear settings columns, named as codec.account_settings() names them.
_SETTINGS = ("host", "port", "tls", "ca_file", "verify_tls", "allow_plain", "provider")
_ACCOUNT_COLUMNS = f"account_id, {', '.join(_SETTINGS)}, credentials, pinned, created_at"


class SqliteStore:
    """The :class:`~switchboard.store.base.Store` protocol on one SQLite file.

    Create it with :meth:`open`, not the constructor.
    """

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        secret_box: SecretBox,
        clock: Callable[[], float],
    ) -> None:
        self._executor = executor
        self._box = secret_box
        self._clock = clock
        # Touched by one thread at a time: the executor's, or the loop's while no call is
        # queued or running on the executor (see _record_inline).
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._inline = False  # set by _open_sync: NORMAL synchronous, so no fsync per commit
        self._queued = 0  # calls submitted to the executor whose result the loop has not seen
        self._since_checkpoint = 0
        self._busy_timeout_ms = 5000
        # Records waiting for the thread (group commit, loop's thread only) and whether a
        # batch of them is on the thread now.
        self._waiting_records: list[tuple[tuple[Any, ...], asyncio.Future[list[StoredEvent]]]] = []
        self._batch_running = False
        # Records waiting for the loop's next turn (see _flush_inline).
        self._inline_records: list[tuple[tuple[Any, ...], asyncio.Future[list[StoredEvent]]]] = []
        self._flush_scheduled = False

    @classmethod
    async def open(
        cls,
        path: Path,
        secret_box: SecretBox,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 5.0,
        synchronous_full: bool = False,
    ) -> SqliteStore:
        """Open (creating if needed) the database at ``path`` and bring its schema up to date.

        Args:
            path: the database file; its directory must exist.
            secret_box: seals and opens credentials.
            clock: returns the current Unix time (injected so tests can age events).
            busy_timeout_s: how long to wait for another process holding the write lock
                (the CLI reading the same file, say) before failing.
            synchronous_full: fsync at every commit (see the module docstring).

        Raises:
            SchemaTooNew: the file was written by a newer Switchboard.
            StoreError: the file cannot be opened or is not a Switchboard database.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="switchboard-sqlite")
        store = cls(executor, secret_box, clock)
        try:
            await store._call(store._open_sync, path, busy_timeout_s, synchronous_full)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return store

    async def close(self) -> None:
        """Finish pending calls, close the database (checkpointing the WAL). Idempotent."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            # Queued behind every call already submitted, so those complete first.
            await loop.run_in_executor(self._executor, self._close_sync)
        finally:
            self._executor.shutdown(wait=False)

    # -- the thread hop ----------------------------------------------------------------------

    async def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        if self._closed:
            raise StoreClosed("the store is closed")
        loop = asyncio.get_running_loop()
        # If the awaiting task is cancelled the call still runs to completion on the thread;
        # a transaction is therefore never left half done. The shield matters: cancelling the
        # bare executor future would also cancel a call still queued behind another one.
        future = loop.run_in_executor(self._executor, self._guard, fn, *args)
        self._queued += 1
        future.add_done_callback(self._call_done)
        return await asyncio.shield(future)

    def _call_done(self, _future: object) -> None:
        # Runs on the loop once the thread's result is in: the thread no longer touches the
        # connection for this call.
        self._queued -= 1

    def _wal_written(self) -> None:
        self._since_checkpoint += 1
        if self._since_checkpoint >= _CHECKPOINT_EVERY and not self._closed:
            self._since_checkpoint = 0
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._executor, self._checkpoint_sync)
            self._queued += 1
            future.add_done_callback(self._call_done)

    def _checkpoint_sync(self) -> None:
        # PASSIVE: copies what it can without waiting for readers; never fails a writer. A
        # failure is retried by the next one; SQLite also checkpoints when the file is closed.
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @staticmethod
    def _guard(fn: Callable[..., _T], *args: Any) -> _T:
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc}") from exc

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None, "used before open() finished"
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads then
        # writes cannot fail half way with SQLITE_BUSY when another process writes.
        conn = self._db
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _open_sync(self, path: Path, busy_timeout_s: float, synchronous_full: bool) -> None:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (the stdlib's implicit
        # transactions would not use IMMEDIATE and commit DDL behind our back).
        # check_same_thread=False: the loop's thread runs small records while the executor is
        # idle (see the module docstring); one thread at a time, never two.
        conn = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"cannot switch {path} to WAL mode (got {mode!r})")
            conn.execute(f"PRAGMA synchronous={'FULL' if synchronous_full else 'NORMAL'}")
            if not synchronous_full:
                # Checkpoints sync the database file: the store's thread takes them (_wal_written)
                # so that a record on the loop's thread never waits on the disk.
                conn.execute("PRAGMA wal_autocheckpoint=0")
                self._inline = True
            self._busy_timeout_ms = round(busy_timeout_s * 1000)
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
            self._migrate()
        except BaseException:
            self._conn = None
            conn.close()
            raise

    def _migrate(self) -> None:
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            current = 0 if row is None else int(row[0])
            if current > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"the database has schema version {current}; this Switchboard knows up to "
                    f"{SCHEMA_VERSION}: upgrade Switchboard or use another data directory"
                )
            for statements in MIGRATIONS[current:]:
                for sql in statements:
                    conn.execute(sql)
            if row is None:
                conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            else:
                conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- checkpoints and events ----------------------------------------------------------------

    async def load_checkpoint(self, account_id: str, mailbox: str) -> Checkpoint | None:
        """Return the mailbox's checkpoint, or ``None`` when it was never recorded.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._load_checkpoint_sync, account_id, mailbox)

    def _load_checkpoint_sync(self, account_id: str, mailbox: str) -> Checkpoint | None:
        row = self._db.execute(
            "SELECT uidvalidity, last_uid FROM checkpoints WHERE account_id = ? AND mailbox = ?",
            (account_id, mailbox),
        ).fetchone()
        return None if row is None else Checkpoint(int(row[0]), int(row[1]))

    async def record(
        self,
        account_id: str,
        mailbox: str,
        checkpoint: Checkpoint,
        events: Sequence[EngineEvent],
    ) -> Sequence[StoredEvent]:
        """Append ``events`` and move the checkpoint in one ``BEGIN IMMEDIATE`` transaction.

        A message already announced (see the store rules) is skipped; the events stored are
        returned.

        Raises:
            CheckpointMovedBackwards: same UIDVALIDITY, lower UID than stored (nothing changed).
            CodecError: an event cannot be encoded (nothing changed).
            StoreClosed: the store was closed.
            StoreError: the database cannot be written (nothing changed).
        """
        if self._closed:
            raise StoreClosed("the store is closed")
        args = (account_id, mailbox, checkpoint, list(events))
        # As with _call: a cancelled caller does not cancel the record.
        if self._inline and self._queued == 0 and len(events) <= _INLINE_MAX_EVENTS:
            # The executor is idle: the record runs on the loop's thread, in one transaction
            # with every other record made in the same loop turn (see the module docstring).
            stored = await asyncio.shield(self._enqueue_inline(args))
        else:
            stored = await asyncio.shield(self._enqueue_record(args))
        if self._inline:
            self._wal_written()
        return stored

    # -- group commit: records made together share one transaction ---------------------------

    def _enqueue_inline(self, args: tuple[Any, ...]) -> asyncio.Future[list[StoredEvent]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[StoredEvent]] = loop.create_future()
        self._inline_records.append((args, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush_inline)
        return future

    def _flush_inline(self) -> None:
        """Run the records made in this loop turn in one transaction, on the loop's thread.

        On the loop rather than the store's thread because a burst of wakes is bound by Python
        CPU: a thread doing the records' Python work takes the GIL from the loop in turns (at
        10,000 mailboxes woken at once, py-spy had half the loop's samples waiting for it).
        The write lock is asked for without waiting: when another process holds it (the CLI
        writing the same file) the records go to the thread, which may wait; a busy
        ``BEGIN IMMEDIATE`` changed nothing.
        """
        self._flush_scheduled = False
        batch = self._inline_records[:_INLINE_BATCH_MAX]
        del self._inline_records[:_INLINE_BATCH_MAX]
        if self._inline_records:  # the rest in the next turn: the loop is held this long only
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_inline)
        if not batch:
            return
        if self._closed or self._queued or self._batch_running:
            self._waiting_records.extend(batch)  # the thread's turn (or StoreClosed there)
            if not self._batch_running:
                self._start_batch()
            return
        conn = self._db
        busy = False
        conn.execute("PRAGMA busy_timeout=0")
        try:
            outcomes: list[list[StoredEvent] | BaseException] = self._record_batch_sync(
                [args for args, _ in batch]
            )
        except StoreError as exc:
            cause = exc.__cause__
            busy = isinstance(cause, sqlite3.OperationalError) and cause.sqlite_errorcode in (
                sqlite3.SQLITE_BUSY,
                sqlite3.SQLITE_LOCKED,
            )
            outcomes = [exc] * len(batch)
        finally:
            # Restored before the thread may touch the connection (below).
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        if busy:
            self._waiting_records.extend(batch)
            if not self._batch_running:
                self._start_batch()
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _enqueue_record(self, args: tuple[Any, ...]) -> asyncio.Future[list[StoredEvent]]:
        future: asyncio.Future[list[StoredEvent]] = asyncio.get_running_loop().create_future()
        self._waiting_records.append((args, future))
        if not self._batch_running:
            self._start_batch()
        return future

    def _start_batch(self) -> None:
        # Everything that queued while the previous batch ran goes in this one: a burst of
        # wakes (10,000 mailboxes with one new mail each) costs a few hundred transactions and
        # thread hops instead of one each.
        batch, self._waiting_records = self._waiting_records, []
        self._batch_running = True
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            self._executor, self._record_batch_sync, [args for args, _ in batch]
        )
        self._queued += 1
        future.add_done_callback(lambda done: self._batch_done(done, batch))

    def _batch_done(
        self,
        done: asyncio.Future[list[list[StoredEvent] | BaseException]],
        batch: list[tuple[tuple[Any, ...], asyncio.Future[list[StoredEvent]]]],
    ) -> None:
        self._queued -= 1
        self._batch_running = False
        failure = done.exception()
        for index, (_, future) in enumerate(batch):
            if future.done():
                continue
            outcome = failure if failure is not None else done.result()[index]
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        if self._waiting_records:
            if self._closed:
                waiting, self._waiting_records = self._waiting_records, []
                for _, future in waiting:
                    if not future.done():
                        future.set_exception(StoreClosed("the store is closed"))
            else:
                self._start_batch()

    def _record_batch_sync(
        self, batch: list[tuple[Any, ...]]
    ) -> list[list[StoredEvent] | BaseException]:
        """Run each record of ``batch`` in its own savepoint of one transaction.

        A record that fails (its checkpoint would move backwards, an event cannot be encoded)
        is rolled back to its savepoint and gets its exception; the others commit together.

        Raises:
            StoreError: the transaction itself failed: every record of the batch failed.
        """
        outcomes: list[list[StoredEvent] | BaseException] = []
        try:
            with self._transaction() as conn:
                for args in batch:
                    conn.execute("SAVEPOINT record")
                    try:
                        outcomes.append(self._record_body(conn, *args))
                    except Exception as exc:
                        conn.execute("ROLLBACK TO record")
                        if isinstance(exc, sqlite3.Error):
                            wrapped = StoreError(f"database error: {exc}")
                            wrapped.__cause__ = exc
                            outcomes.append(wrapped)
                        else:
                            outcomes.append(exc)
                    conn.execute("RELEASE record")
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc}") from exc
        return outcomes

    def _record_sync(
        self,
        account_id: str,
        mailbox: str,
        checkpoint: Checkpoint,
        events: list[EngineEvent],
    ) -> list[StoredEvent]:
        with self._transaction() as conn:
            return self._record_body(conn, account_id, mailbox, checkpoint, events)

    def _record_body(
        self,
        conn: sqlite3.Connection,
        account_id: str,
        mailbox: str,
        checkpoint: Checkpoint,
        events: list[EngineEvent],
    ) -> list[StoredEvent]:
        now = self._clock()
        row = conn.execute(
            "SELECT uidvalidity, last_uid FROM checkpoints"
            " WHERE account_id = ? AND mailbox = ?",
            (account_id, mailbox),
        ).fetchone()
        old = None if row is None else Checkpoint(int(row[0]), int(row[1]))
        check_checkpoint_move(old, checkpoint, where=f"{(account_id, mailbox)}")
        # Encoded before anything is written: a failure here changes nothing.
        payloads = {id(e): codec.dump_event(e) for e in events}
        stored: list[StoredEvent] = []
        for event in drop_announced(account_id, mailbox, old, events):
            key = message_key(event)
            mailbox_col, uidvalidity, uid = (None, None, None) if key is None else key[1:]
            # A message announced before is skipped by the unique index (events_one_per_message)
            # in the same statement: one statement per event, not a SELECT and an INSERT.
            cur = conn.execute(
                "INSERT INTO events (account_id, payload, created_at, mailbox, uidvalidity,"
                " uid) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (account_id, mailbox, uidvalidity, uid) WHERE uid IS NOT NULL"
                " DO NOTHING",
                (event.account_id, payloads[id(event)], now, mailbox_col, uidvalidity, uid),
            )
            if cur.rowcount == 0:
                continue  # announced before
            assert cur.lastrowid is not None
            stored.append(StoredEvent(cur.lastrowid, event, now))
        conn.execute(
            "INSERT INTO checkpoints (account_id, mailbox, uidvalidity, last_uid, updated_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (account_id, mailbox) DO UPDATE SET"
            " uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,"
            " updated_at = excluded.updated_at",
            (account_id, mailbox, checkpoint.uidvalidity, checkpoint.last_uid, now),
        )
        return stored

    async def events_after(
        self, after_id: int, *, limit: int, account_ids: Collection[str] | None = None
    ) -> list[StoredEvent]:
        """Return up to ``limit`` events with ids above ``after_id``, ascending.

        Raises:
            ValueError: ``limit`` is below 1.
            EventIdOutOfRange: ``after_id`` is outside the signed 64-bit range.
            StoreClosed: the store was closed.
            StoreError: the database cannot be read, or holds an undecodable event.
        """
        check_events_limit(limit)
        check_event_ids(after_id)
        ids = None if account_ids is None else storejson.dumps(sorted(set(account_ids)))
        return await self._call(self._events_after_sync, after_id, limit, ids)

    def _events_after_sync(self, after_id: int, limit: int, ids: str | None) -> list[StoredEvent]:
        if ids is None:
            rows = self._db.execute(
                "SELECT event_id, payload, created_at FROM events"
                " WHERE event_id > ? ORDER BY event_id LIMIT ?",
                (after_id, limit),
            )
        else:
            # json_each: any number of accounts as one bound parameter, no SQL built by hand.
            rows = self._db.execute(
                "SELECT event_id, payload, created_at FROM events"
                " WHERE event_id > ? AND account_id IN (SELECT value FROM json_each(?))"
                " ORDER BY event_id LIMIT ?",
                (after_id, ids, limit),
            )
        return [StoredEvent(int(i), codec.load_event(p), float(t)) for i, p, t in rows]

    async def oldest_event_id(self) -> int | None:
        """Return the smallest id in the log, ``None`` when empty.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._oldest_sync)

    def _oldest_sync(self) -> int | None:
        row = self._db.execute("SELECT MIN(event_id) FROM events").fetchone()
        return None if row[0] is None else int(row[0])

    async def last_event_id(self) -> int:
        """Return the largest id ever given, 0 when none.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._last_sync)

    def _last_sync(self) -> int:
        # sqlite_sequence, not MAX(event_id): the highest id ever handed out.
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return 0 if row is None else int(row[0])

    async def event_totals(self, up_to: int) -> dict[str, EventTotals]:
        """Per account, the events still in the log with ids up to ``up_to``.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._event_totals_sync, up_to)

    def _event_totals_sync(self, up_to: int) -> dict[str, EventTotals]:
        # The count and the newest id come from the (account_id, event_id) index alone; only
        # the newest row of each account is read for its time.
        rows = self._db.execute(
            "SELECT t.account_id, t.n, t.last_id, e.created_at FROM"
            " (SELECT account_id, COUNT(*) AS n, MAX(event_id) AS last_id FROM events"
            "  WHERE event_id <= ? GROUP BY account_id) AS t"
            " JOIN events AS e ON e.event_id = t.last_id",
            (up_to,),
        )
        return {str(a): EventTotals(int(n), int(i), float(t)) for a, n, i, t in rows}

    async def prune_events(self, *, older_than: float | None, keep_last: int | None) -> int:
        """Drop events older than ``older_than`` or beyond the newest ``keep_last``.

        Raises:
            ValueError: ``keep_last`` is negative.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        check_prune(keep_last)
        return await self._call(self._prune_sync, older_than, keep_last)

    def _prune_sync(self, older_than: float | None, keep_last: int | None) -> int:
        if older_than is None and keep_last is None:
            return 0
        # The newest event always stays: max(keep_last, 1) rows are protected by count.
        protected = None if keep_last is None else max(keep_last, 1)
        with self._transaction() as conn:
            # Events some group has not settled stay (COALESCE: no group, no floor).
            cur = conn.execute(
                "DELETE FROM events WHERE event_id < (SELECT MAX(event_id) FROM events)"
                " AND event_id <= COALESCE((SELECT MIN(position) FROM groups), event_id) AND ("
                " (?1 IS NOT NULL AND created_at < ?1) OR"
                " (?2 IS NOT NULL AND event_id <= (SELECT event_id FROM events"
                "   ORDER BY event_id DESC LIMIT 1 OFFSET ?2)))",
                (older_than, protected),
            )
            return int(cur.rowcount)

    # -- accounts ----------------------------------------------------------------------------

    async def save_account(self, config: AccountConfig, *, pinned: bool) -> None:
        """Insert or replace an account (keeps ``created_at`` and watches when replacing).

        Raises:
            CodecError: a field of ``config`` has the wrong type.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        settings = codec.account_settings(config)
        sealed = self._box.seal(codec.dump_auth(config.auth))
        await self._call(self._save_account_sync, config.account_id, settings, sealed, pinned)

    def _save_account_sync(
        self, account_id: str, s: dict[str, Any], sealed: bytes, pinned: bool
    ) -> None:
        now = self._clock()
        # An upsert, not INSERT OR REPLACE: REPLACE deletes the row first, which would cascade
        # to the watches and reset created_at.
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*_SETTINGS, "credentials", "pinned"))
        self._db.execute(
            f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}, updated_at)"  # noqa: S608 (constants)
            f" VALUES ({', '.join('?' * (len(_SETTINGS) + 5))})"
            f" ON CONFLICT (account_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
            (account_id, *(s[c] for c in _SETTINGS), sealed, bool(pinned), now, now),
        )

    async def load_accounts(self) -> list[StoredAccount]:
        """Return every account, ordered by id.

        Raises:
            CorruptCredentials: the secret key does not open the credentials.
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._load_accounts_sync, None)

    async def get_account(self, account_id: str) -> StoredAccount | None:
        """Return one account or ``None``.

        Raises:
            CorruptCredentials: the secret key does not open the credentials.
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        found = await self._call(self._load_accounts_sync, account_id)
        return found[0] if found else None

    def _load_accounts_sync(self, only: str | None) -> list[StoredAccount]:
        db = self._db
        if only is None:
            rows = db.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY account_id"  # noqa: S608
            ).fetchall()
            watch_rows = db.execute(
                "SELECT account_id, mailbox FROM watches ORDER BY account_id, position"
            ).fetchall()
        else:
            rows = db.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE account_id = ?",  # noqa: S608
                (only,),
            ).fetchall()
            watch_rows = db.execute(
                "SELECT account_id, mailbox FROM watches WHERE account_id = ? ORDER BY position",
                (only,),
            ).fetchall()
        watches: dict[str, list[str]] = {}
        for acc, mailbox in watch_rows:
            watches.setdefault(acc, []).append(mailbox)
        return [self._to_stored(row, tuple(watches.get(row[0], ()))) for row in rows]

    def _to_stored(self, row: tuple[Any, ...], watches: tuple[str, ...]) -> StoredAccount:
        account_id, *clear, sealed, pinned, created_at = row
        try:
            plain = self._box.open(bytes(sealed))
        except CorruptCredentials:
            raise CorruptCredentials(account_id) from None
        settings = dict(zip(_SETTINGS, clear, strict=True))
        # SQLite has no boolean type: 0/1 come back as ints.
        settings["verify_tls"] = bool(settings["verify_tls"])
        settings["allow_plain"] = bool(settings["allow_plain"])
        config = codec.account_from_settings(account_id, settings, codec.load_auth(plain))
        return StoredAccount(config, bool(pinned), watches, float(created_at))

    async def delete_account(self, account_id: str) -> None:
        """Remove an account with its watches and checkpoints (events stay).

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        await self._call(self._delete_account_sync, account_id)

    def _delete_account_sync(self, account_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM accounts WHERE account_id = ?", (account_id,))  # cascades
            conn.execute("DELETE FROM checkpoints WHERE account_id = ?", (account_id,))

    async def save_watches(self, account_id: str, mailboxes: Sequence[str]) -> None:
        """Replace the account's watched mailboxes.

        Raises:
            UnknownAccount: no such account.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        unique = list(dict.fromkeys(mailboxes))
        await self._call(self._save_watches_sync, account_id, unique)

    def _save_watches_sync(self, account_id: str, mailboxes: list[str]) -> None:
        with self._transaction() as conn:
            exists = conn.execute(
                "SELECT 1 FROM accounts WHERE account_id = ?", (account_id,)
            ).fetchone()
            if exists is None:
                raise UnknownAccount(f"no account {account_id!r} in the store")
            conn.execute("DELETE FROM watches WHERE account_id = ?", (account_id,))
            conn.executemany(
                "INSERT INTO watches (account_id, position, mailbox) VALUES (?, ?, ?)",
                [(account_id, i, m) for i, m in enumerate(mailboxes)],
            )

    # -- worker groups -------------------------------------------------------------------------

    async def group_position(self, name: str) -> GroupPosition:
        """Return the group's position, starting a new group at the log's end.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read or written.
        """
        return await self._call(self._group_ack_sync, name, [], 0)

    async def group_ack(
        self, name: str, event_ids: Collection[int], *, settled_through: int = 0
    ) -> GroupPosition:
        """Record acknowledgements in one transaction and return the new position.

        Raises:
            EventIdOutOfRange: an id or ``settled_through`` is outside the signed 64-bit range.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        acked = list(event_ids)
        check_event_ids(*acked, settled_through)
        return await self._call(self._group_ack_sync, name, acked, settled_through)

    def _group_ack_sync(self, name: str, acked: list[int], settled_through: int) -> GroupPosition:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT position, acked_above FROM groups WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                old = GroupPosition(self._last_sync(), frozenset())
            else:
                old = GroupPosition(int(row[0]), frozenset(storejson.loads(row[1])))
            new = settle_group(old, acked, settled_through)
            if row is None or new != old:
                conn.execute(
                    "INSERT INTO groups (name, position, acked_above, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                    " position = excluded.position, acked_above = excluded.acked_above,"
                    " updated_at = excluded.updated_at",
                    (name, new.position, storejson.dumps(sorted(new.acked_above)), self._clock()),
                )
        return new

    async def delete_group(self, name: str) -> None:
        """Forget a group.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        await self._call(self._execute_sync, "DELETE FROM groups WHERE name = ?", (name,))

    def _execute_sync(self, sql: str, params: tuple[Any, ...]) -> int:
        return int(self._db.execute(sql, params).rowcount)

    async def list_groups(self) -> dict[str, GroupPosition]:
        """Return every group's position.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._list_groups_sync)

    def _list_groups_sync(self) -> dict[str, GroupPosition]:
        rows = self._db.execute("SELECT name, position, acked_above FROM groups ORDER BY name")
        return {n: GroupPosition(int(p), frozenset(storejson.loads(a))) for n, p, a in rows}

    # -- auth tokens ---------------------------------------------------------------------------

    async def save_token(self, token: StoredToken, digest: bytes) -> None:
        """Insert a token record.

        Raises:
            ValueError: the id, name or digest is already taken.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        await self._call(self._save_token_sync, token, bytes(digest))

    def _save_token_sync(self, token: StoredToken, digest: bytes) -> None:
        try:
            self._db.execute(
                "INSERT INTO tokens (token_id, name, scope, account, digest, created_at,"
                " revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    token.token_id,
                    token.name,
                    token.scope.value,
                    token.account,
                    digest,
                    token.created_at,
                    token.revoked_at,
                ),
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"a token with id or name {token.name!r} exists") from None

    _TOKEN_COLUMNS = "token_id, name, scope, account, created_at, revoked_at"  # noqa: S105

    @staticmethod
    def _to_token(row: tuple[Any, ...]) -> StoredToken:
        token_id, name, scope, account, created_at, revoked_at = row
        return StoredToken(
            token_id,
            name,
            TokenScope(scope),
            account,
            float(created_at),
            None if revoked_at is None else float(revoked_at),
        )

    async def find_token(self, digest: bytes) -> StoredToken | None:
        """Return the token with this digest, or ``None``.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._find_token_sync, bytes(digest))

    def _find_token_sync(self, digest: bytes) -> StoredToken | None:
        row = self._db.execute(
            f"SELECT {self._TOKEN_COLUMNS} FROM tokens WHERE digest = ?",  # noqa: S608
            (digest,),
        ).fetchone()
        return None if row is None else self._to_token(row)

    async def list_tokens(self) -> list[StoredToken]:
        """Return every token, oldest first.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._list_tokens_sync)

    def _list_tokens_sync(self) -> list[StoredToken]:
        rows = self._db.execute(
            f"SELECT {self._TOKEN_COLUMNS} FROM tokens ORDER BY created_at, rowid"  # noqa: S608
        )
        return [self._to_token(row) for row in rows]

    async def revoke_token(self, id_or_name: str) -> StoredToken | None:
        """Revoke the token with this id or name.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        return await self._call(self._revoke_token_sync, id_or_name)

    def _revoke_token_sync(self, id_or_name: str) -> StoredToken | None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE (token_id = ?2 OR name = ?2)"
                " AND revoked_at IS NULL",
                (self._clock(), id_or_name),
            )
            row = conn.execute(
                f"SELECT {self._TOKEN_COLUMNS} FROM tokens"  # noqa: S608
                " WHERE token_id = ? OR name = ?",
                (id_or_name, id_or_name),
            ).fetchone()
        return None if row is None else self._to_token(row)

    async def has_active_tokens(self) -> bool:
        """Whether any token is not revoked.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._has_active_sync)

    def _has_active_sync(self) -> bool:
        row = self._db.execute("SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1").fetchone()
        return row is not None

    async def active_token_ids(self) -> frozenset[str]:
        """The ids of every token not revoked (another process's revocation included).

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._call(self._active_token_ids_sync)

    def _active_token_ids_sync(self) -> frozenset[str]:
        rows = self._db.execute("SELECT token_id FROM tokens WHERE revoked_at IS NULL")
        return frozenset(str(token_id) for (token_id,) in rows)
