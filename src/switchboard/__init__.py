"""Switchboard: watch IMAP mailboxes with IDLE and push new-mail events to workers over WebSocket.

The public face of the Python library. ``switchboard.Client``, ``switchboard.Fetcher`` and
``switchboard.Promise`` keep the API of switchboard-python 0.1.3; ``switchboard.aio`` is the
asyncio client.
"""

from __future__ import annotations

from switchboard.client.errors import CommandError, ConnectionClosed, ResponseTimeout, errors_in
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
