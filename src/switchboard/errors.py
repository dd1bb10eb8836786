"""The root of Switchboard's exception tree, shared by every layer.

Each layer keeps its own ``errors.py`` whose classes derive from :class:`SwitchboardError`::

    SwitchboardError
     ├── protocol.errors.WireError ...      errors that travel as ["error", {...}, tag]
     ├── imap.errors.ImapError ...          the IMAP server misbehaved or refused us
     ├── engine.errors.EngineError ...      the same, as the engine tells its caller
     ├── store.errors.StoreError ...        the durable state cannot be read or written
     └── client errors (ConnectionClosed, ResponseTimeout, ...)
"""

from __future__ import annotations

__all__ = ["SwitchboardError"]


class SwitchboardError(Exception):
    """Base class of every exception Switchboard raises on purpose.

    ``type`` is the wire error type (docs/protocol.md, "Errors") when the error is (or came from)
    a wire error response, for instance ``"mailboxDoesNotExist"``; ``None`` otherwise.
    """

    type: str | None = None

    def __init__(self, message: str = "", *, type: str | None = None) -> None:
        super().__init__(message)
        if type is not None:
            self.type = type
