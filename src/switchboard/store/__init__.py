"""Switchboard's durable state: accounts (credentials sealed), watches, checkpoints, event log.

Typical wiring (the caller reads the environment, never this package)::

    key = load_or_create_key(data_dir, os.environ.get("SWITCHBOARD_SECRET_KEY"))
    store = await SqliteStore.open(data_dir / "switchboard.db", SecretBox(key))

:class:`MemoryStore` is the same :class:`Store` in memory, for tests.
"""

from __future__ import annotations

from switchboard.store.base import Store, StoredAccount
from switchboard.store.crypto import KEY_FILE_NAME, SecretBox, load_or_create_key
from switchboard.store.errors import (
    CheckpointMovedBackwards,
    CodecError,
    CorruptCredentials,
    EventIdOutOfRange,
    InvalidSecretKey,
    SchemaTooNew,
    StoreClosed,
    StoreError,
    UnknownAccount,
)
from switchboard.store.memory import MemoryData, MemoryStore
from switchboard.store.sqlite import SCHEMA_VERSION, SqliteStore

__all__ = [
    "KEY_FILE_NAME",
    "SCHEMA_VERSION",
    "CheckpointMovedBackwards",
    "CodecError",
    "CorruptCredentials",
    "EventIdOutOfRange",
    "InvalidSecretKey",
    "MemoryData",
    "MemoryStore",
    "SchemaTooNew",
    "SecretBox",
    "SqliteStore",
    "Store",
    "StoreClosed",
    "StoreError",
    "StoredAccount",
    "UnknownAccount",
    "load_or_create_key",
]
