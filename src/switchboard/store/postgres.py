"""The shared :class:`~switchboard.store.base.Store` on PostgreSQL, for several Switchboard nodes.

Every node opens the same database with :meth:`PostgresStore.open` and the same secret key, so
any node can open any account's sealed credentials. Calls go through an ``asyncpg`` pool; each
call is one statement or one transaction, and a cancelled caller does not cut a call short
(each runs in a shielded task, as SqliteStore's thread calls do).

How event ids stay in commit order: ids come from a one-row counter (``event_counter``) that
``record`` bumps inside its transaction, not from a SEQUENCE. A sequence hands out ids outside
transactions, so with two nodes writing, id 11 may commit before id 10; a node tailing the log
after 11 would then never see 10. The counter row is locked until commit, so appends are
serialised cluster-wide and an id is visible only once every smaller id is — the log can be
tailed by "id > last seen" without gaps. It also makes ids of a rolled-back ``record`` reusable,
so ``last_event_id`` is exactly the highest id ever given to a stored event. The price is one
append at a time across the cluster: about a millisecond per ``record`` on loopback, far above
the rate mail arrives.

Wake-ups: ``record`` also sends ``NOTIFY switchboard_events, '<last id>'`` in its transaction
(delivered on commit), which nodes LISTEN to instead of polling the log.

Schema: ``schema_version`` holds one row; the steps of
:data:`~switchboard.store.postgres_schema.MIGRATIONS` are applied in order
at open in one transaction under a transaction-level advisory lock, so nodes starting together
do not race. The numbering matches SqliteStore's for the steps they share; step 3 adds the
cluster tables (nodes, leases) used by :mod:`switchboard.cluster`.

Why one module of ~770 lines (a long module says why): the store contract is one class whose
methods share the pool, the shielded calls and the lease fence of ``record``; splitting it by
method would scatter those rules. The schema lives apart, in :mod:`.postgres_schema`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, TypeVar, cast

import asyncpg

from switchboard.model.accounts import AccountConfig
from switchboard.model.events import Checkpoint, EngineEvent, StoredEvent
from switchboard.model.store import (
    EventTotals,
    GroupPosition,
    StoredAccount,
    StoredToken,
    TokenScope,
)
from switchboard.store import codec
from switchboard.store.base import (
    check_checkpoint_move,
    check_event_ids,
    check_events_limit,
    check_prune,
    drop_announced,
    message_key,
    settle_group,
)
from switchboard.store.channels import EVENTS_CHANNEL
from switchboard.store.crypto import SecretBox
from switchboard.store.errors import (
    CorruptCredentials,
    SchemaTooNew,
    StoreClosed,
    StoreError,
    UnknownAccount,
)
from switchboard.store.postgres_schema import MIGRATIONS, PG_SCHEMA_VERSION

__all__ = ["EVENTS_CHANNEL", "PG_SCHEMA_VERSION", "LeaseLost", "PostgresStore"]

_T = TypeVar("_T")

# Any constant works; it only has to be the same for every node (and unlikely elsewhere).
_MIGRATION_LOCK_KEY = 0x5357_4244  # "SWBD"



class LeaseLost(StoreError):  # noqa: N818 (named like the other store errors)
    """Raised by ``record`` on a node that no longer holds the account's lease (nothing changed).

    The node was too slow to renew and another node may be watching the account: what this
    node saw will be announced by that node, from the shared checkpoint, exactly once.
    """


_SETTINGS = ("host", "port", "tls", "ca_file", "verify_tls", "allow_plain", "provider")
_ACCOUNT_COLUMNS = f"account_id, {', '.join(_SETTINGS)}, credentials, pinned, created_at"
_TOKEN_COLUMNS = "token_id, name, scope, account, created_at, revoked_at"  # noqa: S105


class PostgresStore:
    """The :class:`~switchboard.store.base.Store` protocol on a PostgreSQL database.

    Create it with :meth:`open`, not the constructor.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        secret_box: SecretBox,
        clock: Callable[[], float],
        node_id: str | None = None,
    ):
        self._pool = pool
        self._box = secret_box
        self._clock = clock
        self._node_id = node_id
        self._closed = False

    @classmethod
    async def open(
        cls,
        dsn: str,
        secret_box: SecretBox,
        *,
        clock: Callable[[], float] = time.time,
        max_connections: int = 10,
        command_timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        node_id: str | None = None,
    ) -> PostgresStore:
        """Connect to ``dsn`` and bring the schema up to date.

        Args:
            dsn: a ``postgresql://user@host:port/database`` URL; extra query parameters are
                server settings (``?search_path=myschema`` keeps the tables in one schema).
            secret_box: seals and opens credentials; every node must use the same key.
            clock: returns the current Unix time (injected so tests can age events).
            max_connections: the pool's size.
            command_timeout_s: the longest one statement may take before it fails.
            connect_timeout_s: the longest opening one connection may take (the pool opens
                them again after the database restarted).
            node_id: this node's name in a cluster; ``record`` then refuses (:class:`LeaseLost`)
                to log events of an account whose lease another node holds or that expired.

        Raises:
            SchemaTooNew: the database was written by a newer Switchboard.
            StoreError: the server cannot be reached or refuses the connection.
        """
        # No floor (min_size=0): asyncpg would rebuild it in a loop during a database outage,
        # logging a traceback each time. Connections are opened as needed instead.
        pool = asyncpg.create_pool(
            dsn,
            min_size=0,
            max_size=max_connections,
            command_timeout=command_timeout_s,
            timeout=connect_timeout_s,
        )
        try:
            await pool
            async with pool.acquire():
                pass  # fail here, with a clear error, when the server cannot be reached
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            pool.terminate()
            raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        store = cls(pool, secret_box, clock, node_id)
        try:
            await store._run(store._migrate)
        except BaseException:
            pool.terminate()
            raise
        return store

    async def close(self) -> None:
        """Wait for calls in flight, then close every connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._pool.close()

    # -- plumbing ------------------------------------------------------------------------------

    async def _run(self, fn: Callable[[asyncpg.Connection], Awaitable[_T]]) -> _T:
        if self._closed:
            raise StoreClosed("the store is closed")

        async def call() -> _T:
            try:
                async with self._pool.acquire() as conn:
                    # The pool's proxy forwards every Connection method to the real one.
                    return await fn(cast(asyncpg.Connection, conn))
            except asyncpg.UniqueViolationError:
                raise
            except (
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,  # e.g. a connection lost in an odd state
                OSError,
            ) as exc:
                raise StoreError(f"database error: {exc}") from exc
            except TimeoutError as exc:
                # A statement over command_timeout_s, or a connection that did not open: the
                # database is unreachable or stuck. Callers handle StoreError, not this.
                raise StoreError(f"database did not answer in time: {exc}") from exc

        # Shielded: a cancelled caller must not roll back a call half way through sending it
        # (the engine may be stopping; what it asked to record is still recorded).
        return await asyncio.shield(call())

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
            current = await conn.fetchval("SELECT version FROM schema_version")
            if current is not None and current > PG_SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"the database has schema version {current}; this Switchboard knows up to "
                    f"{PG_SCHEMA_VERSION}: upgrade Switchboard or use another database"
                )
            for statements in MIGRATIONS[current or 0 :]:
                for sql in statements:
                    await conn.execute(sql)
            if current is None:
                await conn.execute("INSERT INTO schema_version VALUES ($1)", PG_SCHEMA_VERSION)
            elif current != PG_SCHEMA_VERSION:
                await conn.execute("UPDATE schema_version SET version = $1", PG_SCHEMA_VERSION)

    # -- checkpoints and events ----------------------------------------------------------------

    async def load_checkpoint(self, account_id: str, mailbox: str) -> Checkpoint | None:
        """Return the mailbox's checkpoint, or ``None`` when it was never recorded.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """

        async def q(conn: asyncpg.Connection) -> Checkpoint | None:
            row = await conn.fetchrow(
                "SELECT uidvalidity, last_uid FROM checkpoints"
                " WHERE account_id = $1 AND mailbox = $2",
                account_id,
                mailbox,
            )
            return None if row is None else Checkpoint(int(row[0]), int(row[1]))

        return await self._run(q)

    async def record(
        self,
        account_id: str,
        mailbox: str,
        checkpoint: Checkpoint,
        events: Sequence[EngineEvent],
    ) -> Sequence[StoredEvent]:
        """Append ``events``, move the checkpoint and notify, in one transaction.

        A message already announced (see the store rules) is skipped; the events stored are
        returned.

        Raises:
            CheckpointMovedBackwards: same UIDVALIDITY, lower UID than stored (nothing changed).
            CodecError: an event cannot be encoded (nothing changed).
            LeaseLost: opened with a ``node_id`` that does not hold the account's live lease.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written (nothing changed).
        """
        events = list(events)
        # Encoded before the transaction: a codec error then changes nothing and holds no lock.
        payloads = {id(e): codec.dump_event(e) for e in events}
        now = self._clock()

        async def tx(conn: asyncpg.Connection) -> list[StoredEvent]:
            async with conn.transaction():
                row = await conn.fetchrow(
                    "SELECT uidvalidity, last_uid FROM checkpoints"
                    " WHERE account_id = $1 AND mailbox = $2 FOR UPDATE",
                    account_id,
                    mailbox,
                )
                old = None if row is None else Checkpoint(int(row[0]), int(row[1]))
                check_checkpoint_move(old, checkpoint, where=f"{(account_id, mailbox)}")
                if self._node_id is not None:
                    await self._check_lease(conn, account_id)
                stored: list[StoredEvent] = []
                fresh = drop_announced(account_id, mailbox, old, events)
                if fresh:
                    # Locks the counter row until commit (see the module docstring). Every
                    # append holds it, so the log read next cannot change before we commit.
                    await conn.execute("SELECT last_id FROM event_counter FOR UPDATE")
                    fresh = await _not_logged(conn, fresh)
                if fresh:
                    last = await conn.fetchval(
                        "UPDATE event_counter SET last_id = last_id + $1 RETURNING last_id",
                        len(fresh),
                    )
                    first = int(last) - len(fresh) + 1
                    ids = list(range(first, first + len(fresh)))
                    keys = [message_key(e) or (None, None, None, None) for e in fresh]
                    await conn.execute(
                        "INSERT INTO events (event_id, account_id, payload, created_at,"
                        " mailbox, uidvalidity, uid)"
                        " SELECT i, a, p, $4, m, v, u FROM unnest($1::bigint[], $2::text[],"
                        " $3::text[], $5::text[], $6::bigint[], $7::bigint[])"
                        " AS t (i, a, p, m, v, u)",
                        ids,
                        [e.account_id for e in fresh],
                        [payloads[id(e)] for e in fresh],
                        now,
                        [k[1] for k in keys],
                        [k[2] for k in keys],
                        [k[3] for k in keys],
                    )
                    stored = [StoredEvent(i, e, now) for i, e in zip(ids, fresh, strict=True)]
                    await conn.execute("SELECT pg_notify($1, $2)", EVENTS_CHANNEL, str(last))
                await conn.execute(
                    "INSERT INTO checkpoints"
                    " (account_id, mailbox, uidvalidity, last_uid, updated_at)"
                    " VALUES ($1, $2, $3, $4, $5)"
                    " ON CONFLICT (account_id, mailbox) DO UPDATE SET"
                    " uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,"
                    " updated_at = excluded.updated_at",
                    account_id,
                    mailbox,
                    checkpoint.uidvalidity,
                    checkpoint.last_uid,
                    now,
                )
            return stored

        return await self._run(tx)

    async def _check_lease(self, conn: asyncpg.Connection, account_id: str) -> None:
        # FOR SHARE: a node taking the lease over waits for this transaction, and then reads
        # the checkpoint it moved. An account without a lease (client-held) is not fenced.
        row = await conn.fetchrow(
            "SELECT node_id, expires_at >= EXTRACT(EPOCH FROM clock_timestamp())"
            " FROM leases WHERE account_id = $1 FOR SHARE",
            account_id,
        )
        if row is not None and (row[0] != self._node_id or not row[1]):
            raise LeaseLost(
                f"node {self._node_id!r} no longer holds the lease of {account_id!r}"
                f" (held by {row[0]!r}); the event is left to the holder"
            )

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
        ids = None if account_ids is None else sorted(set(account_ids))

        async def q(conn: asyncpg.Connection) -> list[StoredEvent]:
            if ids is None:
                rows = await conn.fetch(
                    "SELECT event_id, payload, created_at FROM events"
                    " WHERE event_id > $1 ORDER BY event_id LIMIT $2",
                    after_id,
                    limit,
                )
            else:
                rows = await conn.fetch(
                    "SELECT event_id, payload, created_at FROM events"
                    " WHERE event_id > $1 AND account_id = ANY($3::text[])"
                    " ORDER BY event_id LIMIT $2",
                    after_id,
                    limit,
                    ids,
                )
            return [StoredEvent(int(i), codec.load_event(p), float(t)) for i, p, t in rows]

        return await self._run(q)

    async def oldest_event_id(self) -> int | None:
        """Return the smallest id in the log, ``None`` when empty.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        value = await self._run(lambda c: c.fetchval("SELECT MIN(event_id) FROM events"))
        return None if value is None else int(value)

    async def last_event_id(self) -> int:
        """Return the largest id ever given, 0 when none.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return int(await self._run(lambda c: c.fetchval("SELECT last_id FROM event_counter")))

    async def event_totals(self, up_to: int) -> dict[str, EventTotals]:
        """Per account, the events still in the log with ids up to ``up_to``.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """

        async def q(conn: asyncpg.Connection) -> dict[str, EventTotals]:
            rows = await conn.fetch(
                "SELECT t.account_id, t.n, t.last_id, e.created_at FROM"
                " (SELECT account_id, COUNT(*) AS n, MAX(event_id) AS last_id FROM events"
                "  WHERE event_id <= $1 GROUP BY account_id) AS t"
                " JOIN events AS e ON e.event_id = t.last_id",
                up_to,
            )
            return {str(a): EventTotals(int(n), int(i), float(t)) for a, n, i, t in rows}

        return await self._run(q)

    async def prune_events(self, *, older_than: float | None, keep_last: int | None) -> int:
        """Drop events older than ``older_than`` or beyond the newest ``keep_last``.

        Raises:
            ValueError: ``keep_last`` is negative.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        check_prune(keep_last)
        if older_than is None and keep_last is None:
            return 0
        # The newest event always stays: max(keep_last, 1) rows are protected by count.
        protected = None if keep_last is None else max(keep_last, 1)
        status = await self._run(
            lambda c: c.execute(
                "DELETE FROM events WHERE event_id < (SELECT MAX(event_id) FROM events)"
                # Events some group has not settled stay (COALESCE: no group, no floor).
                " AND event_id <= COALESCE((SELECT MIN(position) FROM groups), event_id) AND ("
                " ($1::float8 IS NOT NULL AND created_at < $1) OR"
                " ($2::bigint IS NOT NULL AND event_id <= (SELECT event_id FROM events"
                "   ORDER BY event_id DESC LIMIT 1 OFFSET $2)))",
                older_than,
                protected,
            )
        )
        return _rowcount(status)

    # -- accounts ------------------------------------------------------------------------------

    async def save_account(self, config: AccountConfig, *, pinned: bool) -> None:
        """Insert or replace an account (keeps ``created_at`` and watches when replacing).

        Raises:
            CodecError: a field of ``config`` has the wrong type.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        s = codec.account_settings(config)
        sealed = self._box.seal(codec.dump_auth(config.auth))
        now = self._clock()
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*_SETTINGS, "credentials", "pinned"))
        placeholders = ", ".join(f"${i}" for i in range(1, len(_SETTINGS) + 6))
        sql = (
            f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}, updated_at)"  # noqa: S608 (constants)
            f" VALUES ({placeholders}) ON CONFLICT (account_id) DO UPDATE SET {updates},"
            " updated_at = excluded.updated_at"
        )
        args = (config.account_id, *(s[c] for c in _SETTINGS), sealed, bool(pinned), now, now)
        await self._run(lambda c: c.execute(sql, *args))

    async def load_accounts(self) -> list[StoredAccount]:
        """Return every account, ordered by id.

        Raises:
            CorruptCredentials: the secret key does not open the credentials.
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        return await self._load_accounts(None)

    async def get_account(self, account_id: str) -> StoredAccount | None:
        """Return one account or ``None``.

        Raises:
            CorruptCredentials: the secret key does not open the credentials.
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        found = await self._load_accounts(account_id)
        return found[0] if found else None

    async def _load_accounts(self, only: str | None) -> list[StoredAccount]:
        async def q(conn: asyncpg.Connection) -> tuple[list[Any], list[Any]]:
            # One snapshot for both reads, so watches match their accounts.
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                if only is None:
                    rows = await conn.fetch(
                        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY account_id"  # noqa: S608
                    )
                    watch_rows = await conn.fetch(
                        "SELECT account_id, mailbox FROM watches ORDER BY account_id, position"
                    )
                else:
                    rows = await conn.fetch(
                        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE account_id = $1",  # noqa: S608
                        only,
                    )
                    watch_rows = await conn.fetch(
                        "SELECT account_id, mailbox FROM watches WHERE account_id = $1"
                        " ORDER BY position",
                        only,
                    )
            return list(rows), list(watch_rows)

        rows, watch_rows = await self._run(q)
        watches: dict[str, list[str]] = {}
        for acc, mailbox in watch_rows:
            watches.setdefault(acc, []).append(mailbox)
        return [self._to_stored(tuple(row), tuple(watches.get(row[0], ()))) for row in rows]

    def _to_stored(self, row: tuple[Any, ...], watches: tuple[str, ...]) -> StoredAccount:
        account_id, *clear, sealed, pinned, created_at = row
        try:
            plain = self._box.open(bytes(sealed))
        except CorruptCredentials:
            raise CorruptCredentials(account_id) from None
        settings = dict(zip(_SETTINGS, clear, strict=True))
        config = codec.account_from_settings(account_id, settings, codec.load_auth(plain))
        return StoredAccount(config, bool(pinned), watches, float(created_at))

    async def delete_account(self, account_id: str) -> None:
        """Remove an account with its watches and checkpoints (events stay).

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """

        async def tx(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute("DELETE FROM accounts WHERE account_id = $1", account_id)
                await conn.execute("DELETE FROM checkpoints WHERE account_id = $1", account_id)

        await self._run(tx)

    async def save_watches(self, account_id: str, mailboxes: Sequence[str]) -> None:
        """Replace the account's watched mailboxes.

        Raises:
            UnknownAccount: no such account.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        unique = list(dict.fromkeys(mailboxes))

        async def tx(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                exists = await conn.fetchval(
                    "SELECT 1 FROM accounts WHERE account_id = $1 FOR UPDATE", account_id
                )
                if exists is None:
                    raise UnknownAccount(f"no account {account_id!r} in the store")
                await conn.execute("DELETE FROM watches WHERE account_id = $1", account_id)
                await conn.executemany(
                    "INSERT INTO watches (account_id, position, mailbox) VALUES ($1, $2, $3)",
                    [(account_id, i, m) for i, m in enumerate(unique)],
                )

        await self._run(tx)

    # -- worker groups -------------------------------------------------------------------------

    async def group_position(self, name: str) -> GroupPosition:
        """Return the group's position, starting a new group at the log's end.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read or written.
        """
        return await self.group_ack(name, ())

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
        now = self._clock()

        async def tx(conn: asyncpg.Connection) -> GroupPosition:
            async with conn.transaction():
                # ON CONFLICT DO NOTHING: two nodes may see a new group at the same moment.
                await conn.execute(
                    "INSERT INTO groups (name, position, acked_above, updated_at)"
                    " SELECT $1, last_id, '{}', $2 FROM event_counter"
                    " ON CONFLICT (name) DO NOTHING",
                    name,
                    now,
                )
                row = await conn.fetchrow(
                    "SELECT position, acked_above FROM groups WHERE name = $1 FOR UPDATE", name
                )
                assert row is not None  # inserted just above, or already there
                old = GroupPosition(int(row[0]), frozenset(int(i) for i in row[1]))
                new = settle_group(old, acked, settled_through)
                if new != old:
                    await conn.execute(
                        "UPDATE groups SET position = $2, acked_above = $3, updated_at = $4"
                        " WHERE name = $1",
                        name,
                        new.position,
                        sorted(new.acked_above),
                        now,
                    )
            return new

        return await self._run(tx)

    async def delete_group(self, name: str) -> None:
        """Forget a group.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        await self._run(lambda c: c.execute("DELETE FROM groups WHERE name = $1", name))

    async def list_groups(self) -> dict[str, GroupPosition]:
        """Return every group's position.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        rows = await self._run(
            lambda c: c.fetch("SELECT name, position, acked_above FROM groups ORDER BY name")
        )
        return {n: GroupPosition(int(p), frozenset(int(i) for i in a)) for n, p, a in rows}

    # -- auth tokens ---------------------------------------------------------------------------

    async def save_token(self, token: StoredToken, digest: bytes) -> None:
        """Insert a token record.

        Raises:
            ValueError: the id, name or digest is already taken.
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        try:
            await self._run(
                lambda c: c.execute(
                    "INSERT INTO tokens (token_id, name, scope, account, digest, created_at,"
                    " revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    token.token_id,
                    token.name,
                    token.scope.value,
                    token.account,
                    bytes(digest),
                    token.created_at,
                    token.revoked_at,
                )
            )
        except asyncpg.UniqueViolationError:
            raise ValueError(f"a token with id or name {token.name!r} exists") from None

    async def find_token(self, digest: bytes) -> StoredToken | None:
        """Return the token with this digest, or ``None``.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        row = await self._run(
            lambda c: c.fetchrow(
                f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE digest = $1",  # noqa: S608
                bytes(digest),
            )
        )
        return None if row is None else _to_token(tuple(row))

    async def list_tokens(self) -> list[StoredToken]:
        """Return every token, oldest first.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        rows = await self._run(
            lambda c: c.fetch(
                f"SELECT {_TOKEN_COLUMNS} FROM tokens ORDER BY created_at, seq"  # noqa: S608
            )
        )
        return [_to_token(tuple(row)) for row in rows]

    async def revoke_token(self, id_or_name: str) -> StoredToken | None:
        """Revoke the token with this id or name.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be written.
        """
        now = self._clock()

        async def tx(conn: asyncpg.Connection) -> Any:
            async with conn.transaction():
                await conn.execute(
                    "UPDATE tokens SET revoked_at = $1 WHERE (token_id = $2 OR name = $2)"
                    " AND revoked_at IS NULL",
                    now,
                    id_or_name,
                )
                return await conn.fetchrow(
                    f"SELECT {_TOKEN_COLUMNS} FROM tokens"  # noqa: S608
                    " WHERE token_id = $1 OR name = $1",
                    id_or_name,
                )

        row = await self._run(tx)
        return None if row is None else _to_token(tuple(row))

    async def has_active_tokens(self) -> bool:
        """Whether any token is not revoked.

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        value = await self._run(
            lambda c: c.fetchval("SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1")
        )
        return value is not None

    async def active_token_ids(self) -> frozenset[str]:
        """The ids of every token not revoked (by any node or process).

        Raises:
            StoreClosed: the store was closed.
            StoreError: the database cannot be read.
        """
        rows = await self._run(
            lambda c: c.fetch("SELECT token_id FROM tokens WHERE revoked_at IS NULL")
        )
        return frozenset(str(row[0]) for row in rows)


async def _not_logged(conn: asyncpg.Connection, events: list[EngineEvent]) -> list[EngineEvent]:
    """``events`` without the messages the log already holds (by the unique index)."""
    keys = [k for e in events if (k := message_key(e)) is not None]
    if not keys:
        return events
    rows = await conn.fetch(
        "SELECT e.account_id, e.mailbox, e.uidvalidity, e.uid FROM events e"
        " JOIN unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS k (a, m, v, u)"
        " ON e.account_id = k.a AND e.mailbox = k.m AND e.uidvalidity = k.v AND e.uid = k.u",
        *(list(column) for column in zip(*keys, strict=True)),
    )
    logged = {(a, m, int(v), int(u)) for a, m, v, u in rows}
    return [e for e in events if message_key(e) not in logged]


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


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag, e.g. "DELETE 3".
    return int(status.rsplit(" ", 1)[-1])
