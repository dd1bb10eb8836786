"""The asyncio Switchboard client: ``async with switchboard.aio.connect(url) as sb``.

Re-exports :mod:`switchboard.client.aio`; see there for timeouts, the push queue, reconnection
(``reconnect=True``, :class:`Backoff`), resuming (``since=``, ``last_event_id``) and acks. A
``newMessage`` push's arguments are typed in ``push.new_message`` (:class:`NewMessagePush`, with
its :class:`PushSummary` when the watch asked for ``summary=True``).
"""

from __future__ import annotations

from switchboard.client.aio import DEFAULT_MAX_QUEUE, AsyncClient, Push, connect
from switchboard.client.errors import CommandError, ConnectionClosed, ResponseTimeout
from switchboard.client.resume import Backoff
from switchboard.errors import SwitchboardError
from switchboard.protocol.replies import NewMessagePush, PushSummary

__all__ = [
    "DEFAULT_MAX_QUEUE",
    "AsyncClient",
    "Backoff",
    "CommandError",
    "ConnectionClosed",
    "NewMessagePush",
    "Push",
    "PushSummary",
    "ResponseTimeout",
    "SwitchboardError",
    "connect",
]
