"""The store layer's exceptions: what can go wrong reading or writing Switchboard's durable state.

::

    SwitchboardError
     └── StoreError                 the durable state cannot be read or written as asked
          ├── StoreClosed           the store was used after close()
          ├── CorruptCredentials    sealed credentials do not open with the current secret key
          ├── InvalidSecretKey      the secret key given or found on disk is unusable
          ├── SchemaTooNew          the database was written by a newer Switchboard
          ├── CheckpointMovedBackwards   record() would move a checkpoint back (same UIDVALIDITY)
          ├── UnknownAccount        an operation names an account the store does not hold
          ├── EventIdOutOfRange     an event id outside what every backend holds (signed 64 bits)
          └── CodecError            a value cannot be encoded for storage, or a stored one decoded
"""

# The names follow the brief and websockets (ConnectionClosed), not an "Error" suffix.
# ruff: noqa: N818

from __future__ import annotations

from switchboard.errors import SwitchboardError

__all__ = [
    "CheckpointMovedBackwards",
    "CodecError",
    "CorruptCredentials",
    "EventIdOutOfRange",
    "InvalidSecretKey",
    "SchemaTooNew",
    "StoreClosed",
    "StoreError",
    "UnknownAccount",
]


class StoreError(SwitchboardError):
    """The durable state cannot be read or written as asked."""


class StoreClosed(StoreError):
    """Raised by every store method called after :meth:`close` started."""


class CorruptCredentials(StoreError):
    """Raised when stored credentials cannot be opened with the current secret key.

    Almost always the secret key changed (a different ``SWITCHBOARD_SECRET_KEY`` or a lost
    ``secret.key``). The message never contains any secret.
    """

    def __init__(self, account_id: str | None = None) -> None:
        where = f" of account {account_id!r}" if account_id is not None else ""
        super().__init__(
            f"cannot open the stored credentials{where}: the secret key does not match the one "
            "the credentials were encrypted with"
        )


class InvalidSecretKey(StoreError):
    """Raised when a secret key is malformed or its key file is unsafe (readable by others)."""


class SchemaTooNew(StoreError):
    """Raised at open when the database's schema version is newer than this code knows."""


class CheckpointMovedBackwards(StoreError):
    """Raised by ``record`` when the new checkpoint's UID is below the stored one.

    Moving back under the same UIDVALIDITY would announce the same messages twice, so it is
    refused; a changed UIDVALIDITY may reset the checkpoint to anything.
    """


class UnknownAccount(StoreError):
    """Raised when an operation (such as ``save_watches``) names an account not in the store."""


class EventIdOutOfRange(StoreError):
    """Raised when an event id given to the store is outside ``-2**63..2**63-1``.

    SQLite's INTEGER and PostgreSQL's bigint hold no more; every backend refuses the same
    values, so a caller that forgot to range-check a client's number gets this error instead of
    a driver's ``OverflowError`` (the protocol layer refuses such numbers before they get here).
    """


class CodecError(StoreError):
    """Raised when a value cannot be encoded for storage or a stored value cannot be decoded."""
