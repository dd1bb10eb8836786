"""The SQLite schema of :class:`~switchboard.store.sqlite.SqliteStore`: its migration steps.

Kept apart from the store's code so that the store reads as its operations; the step numbers
match PostgresStore's for the steps they share.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

# Each entry moves the schema one version up; never edit a released entry, append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: accounts, watches, checkpoints, the event log.
    (
        """CREATE TABLE accounts (
            account_id  TEXT PRIMARY KEY,
            host        TEXT NOT NULL,
            port        INTEGER NOT NULL,
            tls         TEXT NOT NULL,
            ca_file     TEXT,
            verify_tls  INTEGER NOT NULL,
            allow_plain INTEGER NOT NULL,
            provider    TEXT,
            credentials BLOB NOT NULL,   -- SecretBox-sealed codec JSON of the whole auth object
            pinned      INTEGER NOT NULL,
            created_at  REAL NOT NULL,
            updated_at  REAL NOT NULL
        )""",
        """CREATE TABLE watches (
            account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
            position   INTEGER NOT NULL,
            mailbox    TEXT NOT NULL,
            PRIMARY KEY (account_id, mailbox)
        ) WITHOUT ROWID""",
        # No foreign key to accounts: the engine also checkpoints client-held accounts,
        # which are not necessarily saved.
        """CREATE TABLE checkpoints (
            account_id  TEXT NOT NULL,
            mailbox     TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            last_uid    INTEGER NOT NULL,
            updated_at  REAL NOT NULL,
            PRIMARY KEY (account_id, mailbox)
        ) WITHOUT ROWID""",
        # AUTOINCREMENT (not a plain rowid): ids are never reused, even after the newest
        # rows are deleted, because sqlite_sequence remembers the highest one.
        """CREATE TABLE events (
            event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id TEXT NOT NULL,
            payload    TEXT NOT NULL,   -- codec JSON
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX events_by_account ON events (account_id, event_id)",
        "CREATE INDEX events_by_time ON events (created_at)",
    ),
    # 2 (issue 6): worker-group positions and auth tokens.
    (
        """CREATE TABLE groups (
            name        TEXT PRIMARY KEY,
            position    INTEGER NOT NULL,
            acked_above TEXT NOT NULL,   -- JSON array of acknowledged ids above position
            updated_at  REAL NOT NULL
        )""",
        """CREATE TABLE tokens (
            token_id   TEXT PRIMARY KEY,
            name       TEXT NOT NULL UNIQUE,
            scope      TEXT NOT NULL,
            account    TEXT,
            digest     BLOB NOT NULL UNIQUE,   -- SHA-256 of the token; the token is not kept
            created_at REAL NOT NULL,
            revoked_at REAL
        )""",
    ),
    # 3: the cluster tables (nodes, leases) exist only in PostgreSQL; the step keeps the
    # numbering of the two backends aligned.
    (),
    # 4 (issue 16): one event per message. A newMessage event carries its mailbox, UIDVALIDITY
    # and UID in columns under a unique index, so the log cannot announce a message twice.
    (
        "ALTER TABLE events ADD COLUMN mailbox TEXT",
        "ALTER TABLE events ADD COLUMN uidvalidity INTEGER",
        "ALTER TABLE events ADD COLUMN uid INTEGER",
        # Existing logs: the first event of each message gets the columns (a duplicate logged
        # before this step stays, without them).
        """UPDATE events SET mailbox = json_extract(payload, '$.mailbox'),
            uidvalidity = json_extract(payload, '$.uidvalidity'),
            uid = json_extract(payload, '$.uid')
        WHERE event_id IN (
            SELECT MIN(event_id) FROM events
            WHERE json_extract(payload, '$.type') = 'newMessage'
            GROUP BY account_id, json_extract(payload, '$.mailbox'),
                json_extract(payload, '$.uidvalidity'), json_extract(payload, '$.uid'))""",
        "CREATE UNIQUE INDEX events_one_per_message ON events (account_id, mailbox, uidvalidity,"
        " uid) WHERE uid IS NOT NULL",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes."""
