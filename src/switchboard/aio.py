"""The asyncio Switchboard client: ``async with switchboard.aio.connect(url) as sb``.

Re-exports :mod:`switchboard.client.aio`; see there for timeouts and the push queue.
"""

from __future__ import annotations

from switchboard.client.aio import DEFAULT_MAX_QUEUE, AsyncClient, Push, connect
from switchboard.client.errors import CommandError, ConnectionClosed, ResponseTimeout
from switchboard.errors import SwitchboardError

__all__ = [
    "DEFAULT_MAX_QUEUE",
    "AsyncClient",
    "CommandError",
    "ConnectionClosed",
    "Push",
    "ResponseTimeout",
    "SwitchboardError",
    "connect",
]
