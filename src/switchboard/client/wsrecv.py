"""A WebSocket client connection that hands out each message's bytes and says if it was text.

``websockets`` returns a text message as ``str``: it joins the frames' bytes, then decodes them
as UTF-8 — for a 10 MB ``getMessages`` reply a second 10 MB buffer and a pass over it, after
which the JSON parser reads the ``str`` back as UTF-8. Asked for bytes (``recv(decode=False)``)
it skips the decoding, but then no longer tells a text message from a binary one, which the
protocol needs (only text frames carry it; a binary frame is dropped). :class:`KindedConnection`
keeps that distinction: it notes the opcode of each message's first frame as the frame arrives
(messages come out of ``recv`` in the order their frames came in), and :meth:`recv_kinded`
returns the message's bytes with that note.

A text message's UTF-8 is then checked by the JSON parser (``protocol.wirejson.loads`` refuses
invalid UTF-8), and the session says when a text frame was not UTF-8, so the shell can fail the
connection as RFC 6455 §8.1 asks (``websockets`` failed it too when it decoded; now the close
code says why: 1007).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

__all__ = ["KindedConnection"]


class KindedConnection(ClientConnection):
    """A ``ClientConnection`` (given to ``connect(create_connection=...)``) with typed reads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One entry per data message whose first frame arrived and that recv has not returned.
        self._text_kinds: deque[bool] = deque()

    def process_event(self, event: Event) -> None:
        """Queue a received frame (``websockets``), noting each message's kind as it starts."""
        super().process_event(event)  # raises (and queues nothing) once the stream has ended
        if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._text_kinds.append(event.opcode is Opcode.TEXT)

    async def recv_kinded(self) -> tuple[bytes, bool]:
        """The next message's bytes and whether it came as text (``True``) or binary.

        Raises:
            ConnectionClosed: as ``recv`` (``ConnectionClosedOK`` after a normal close).
        """
        data = await self.recv(decode=False)
        # Only reached once recv returned a whole message: a cancelled recv put its frames back.
        return data, self._text_kinds.popleft()
