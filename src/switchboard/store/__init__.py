"""Switchboard's durable state: accounts (credentials sealed), watches, checkpoints, event log.

Typical wiring (the caller reads the environment, never this package)::

    key = load_or_create_key(data_dir, os.environ.get("SWITCHBOARD_SECRET_KEY"))
    store = await SqliteStore.open(data_dir / "switchboard.db", SecretBox(key))

:class:`MemoryStore` is the same :class:`Store` in memory, for tests.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from switchboard.model.store import Store, StoredAccount
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

# Each name -> the module that defines it, imported on first use (PEP 562).
_HOME = {
    "KEY_FILE_NAME": "switchboard.store.crypto",
    "SCHEMA_VERSION": "switchboard.store.sqlite",
    "CheckpointMovedBackwards": "switchboard.store.errors",
    "CodecError": "switchboard.store.errors",
    "CorruptCredentials": "switchboard.store.errors",
    "EventIdOutOfRange": "switchboard.store.errors",
    "InvalidSecretKey": "switchboard.store.errors",
    "MemoryData": "switchboard.store.memory",
    "MemoryStore": "switchboard.store.memory",
    "SchemaTooNew": "switchboard.store.errors",
    "SecretBox": "switchboard.store.crypto",
    "SqliteStore": "switchboard.store.sqlite",
    "Store": "switchboard.model.store",
    "StoreClosed": "switchboard.store.errors",
    "StoreError": "switchboard.store.errors",
    "StoredAccount": "switchboard.model.store",
    "UnknownAccount": "switchboard.store.errors",
    "load_or_create_key": "switchboard.store.crypto",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
