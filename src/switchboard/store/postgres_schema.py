"""The PostgreSQL schema of :class:`~switchboard.store.postgres.PostgresStore`: its migration steps.

Kept apart from the store's code so that the store reads as its operations; the step numbers
match SqliteStore's for the steps they share.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "PG_SCHEMA_VERSION"]

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
            verify_tls  BOOLEAN NOT NULL,
            allow_plain BOOLEAN NOT NULL,
            provider    TEXT,
            credentials BYTEA NOT NULL,   -- SecretBox-sealed codec JSON of the whole auth object
            pinned      BOOLEAN NOT NULL,
            created_at  DOUBLE PRECISION NOT NULL,
            updated_at  DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE watches (
            account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
            position   INTEGER NOT NULL,
            mailbox    TEXT NOT NULL,
            PRIMARY KEY (account_id, mailbox)
        )""",
        # No foreign key to accounts: client-held accounts are checkpointed but not saved.
        """CREATE TABLE checkpoints (
            account_id  TEXT NOT NULL,
            mailbox     TEXT NOT NULL,
            uidvalidity BIGINT NOT NULL,
            last_uid    BIGINT NOT NULL,
            updated_at  DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (account_id, mailbox)
        )""",
        # See the module docstring for why a counter row and not a SEQUENCE.
        """CREATE TABLE event_counter (
            only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
            last_id  BIGINT NOT NULL
        )""",
        "INSERT INTO event_counter (last_id) VALUES (0)",
        """CREATE TABLE events (
            event_id   BIGINT PRIMARY KEY,
            account_id TEXT NOT NULL,
            payload    TEXT NOT NULL,   -- codec JSON
            created_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX events_by_account ON events (account_id, event_id)",
        "CREATE INDEX events_by_time ON events (created_at)",
    ),
    # 2 (issue 6): worker-group positions and auth tokens.
    (
        """CREATE TABLE groups (
            name        TEXT PRIMARY KEY,
            position    BIGINT NOT NULL,
            acked_above BIGINT[] NOT NULL,   -- acknowledged ids above position
            updated_at  DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE tokens (
            seq        BIGINT GENERATED ALWAYS AS IDENTITY,   -- insertion order for listing
            token_id   TEXT PRIMARY KEY,
            name       TEXT NOT NULL UNIQUE,
            scope      TEXT NOT NULL,
            account    TEXT,
            digest     BYTEA NOT NULL UNIQUE,   -- SHA-256 of the token; the token is not kept
            created_at DOUBLE PRECISION NOT NULL,
            revoked_at DOUBLE PRECISION
        )""",
    ),
    # 3 (issue 8): cluster membership and account leases (switchboard.cluster).
    (
        """CREATE TABLE nodes (
            node_id      TEXT PRIMARY KEY,
            heartbeat_at DOUBLE PRECISION NOT NULL,   -- the node's last renewal (Unix time)
            load         INTEGER NOT NULL,            -- accounts it holds
            info         TEXT NOT NULL DEFAULT ''     -- e.g. its URL, for the dashboard
        )""",
        """CREATE TABLE leases (
            account_id TEXT PRIMARY KEY,
            node_id    TEXT NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX leases_by_node ON leases (node_id)",
    ),
    # 4 (issue 16): one process per node id (switchboard.cluster.leases), and one event per
    # message: a newMessage event carries its mailbox, UIDVALIDITY and UID in columns under a
    # unique index, so the log cannot announce a message twice whatever watchers race.
    (
        "ALTER TABLE nodes ADD COLUMN instance TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE events ADD COLUMN mailbox TEXT, ADD COLUMN uidvalidity BIGINT,"
        " ADD COLUMN uid BIGINT",
        # Existing logs: the first event of each message gets the columns (a duplicate logged
        # before this step stays, without them).
        """UPDATE events SET mailbox = m.mailbox, uidvalidity = m.uidvalidity, uid = m.uid
        FROM (
            SELECT DISTINCT ON (account_id, p->>'mailbox', (p->>'uidvalidity')::bigint,
                    (p->>'uid')::bigint)
                event_id, p->>'mailbox' AS mailbox, (p->>'uidvalidity')::bigint AS uidvalidity,
                (p->>'uid')::bigint AS uid
            FROM (SELECT event_id, account_id, payload::jsonb AS p FROM events) AS e
            WHERE p->>'type' = 'newMessage'
            ORDER BY account_id, p->>'mailbox', (p->>'uidvalidity')::bigint,
                (p->>'uid')::bigint, event_id
        ) AS m
        WHERE events.event_id = m.event_id""",
        "CREATE UNIQUE INDEX events_one_per_message ON events (account_id, mailbox, uidvalidity,"
        " uid) WHERE uid IS NOT NULL",
    ),
)

PG_SCHEMA_VERSION = len(MIGRATIONS)
"""The PostgreSQL schema version this code writes."""
