"""Switchboard: watch IMAP mailboxes with IDLE and push new-mail events to workers over WebSocket.

The public face of the Python library. ``switchboard.Client``, ``switchboard.Fetcher`` and
``switchboard.Promise`` keep the API of switchboard-python 0.1.3; ``switchboard.aio`` is the
asyncio client.

The names are imported on first use (PEP 562), so that importing any part of the package —
``switchboard.imap.parser``, ``switchboard.protocol`` — does not load the client and websockets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from switchboard.client.errors import (
        CommandError,
        ConnectionClosed,
        ResponseTimeout,
        errors_in,
    )
    from switchboard.client.fetcher import Fetcher
    from switchboard.client.promise import Promise
    from switchboard.client.threaded import Client
    from switchboard.errors import SwitchboardError

__version__ = "0.2.0.dev0"

__all__ = [
    "Client",
    "CommandError",
    "ConnectionClosed",
    "Fetcher",
    "Promise",
    "ResponseTimeout",
    "SwitchboardError",
    "__version__",
    "errors_in",
]

# Each lazily exported name -> the module that defines it.
_HOME = {
    "Client": "switchboard.client.threaded",
    "CommandError": "switchboard.client.errors",
    "ConnectionClosed": "switchboard.client.errors",
    "Fetcher": "switchboard.client.fetcher",
    "Promise": "switchboard.client.promise",
    "ResponseTimeout": "switchboard.client.errors",
    "SwitchboardError": "switchboard.errors",
    "errors_in": "switchboard.client.errors",
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
