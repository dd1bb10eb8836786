"""The one listening port: WebSocket upgrades go to ``websockets``, everything else to our HTTP.

How it works: the server listens with the WebSocket library's ``serve()``, whose documented
``create_connection`` hook lets each accepted connection be a :class:`FrontDoor`, a subclass
of its ``ServerConnection``. A front door holds back the bytes it receives until the first
request's head is complete, parses that head with ``h11`` and decides once:

- a ``GET`` with ``Upgrade: websocket`` to one of the WebSocket paths (``/workers``,
  ``/clients``, ``/jmap/ws``) goes on as the library's own connection — the held bytes are fed
  to it as if just received, and its handshake (``process_request``, the subprotocol choice)
  and everything after run unchanged;
- anything else becomes an :class:`~switchboard.server.httpconn.HttpConnection`: the front
  door hands the transport over (``transport.set_protocol``, asyncio's public API) with the
  held bytes, and the library's handshake step just waits until that HTTP connection ends.

Why this shape: the library's HTTP parser reads request heads only (no body, so no ``POST``),
and its ``process_request`` can only return a complete response (no EventSource, no streamed
download). Keeping the library for WebSockets keeps its tested framing, keepalive, close
handshake and the sessions written against its connection class; ``h11`` does the rest of
HTTP/1.1. What the front door relies on: ``create_connection``, the asyncio protocol methods
it extends (``data_received``, ``eof_received``, ``connection_lost``), and ``handshake``,
which ``serve()`` awaits for each connection — extended to wait for the decision first.
``serve()``'s own ``open_timeout`` is therefore off; the front door applies the same bounds
itself: ``head_timeout_s`` for the first head, ``open_timeout_s`` for the WebSocket
handshake. Alternatives weighed in docs/architecture.md ("The HTTP layer").

TLS (``ssl=`` to ``serve()``) sits below all of this, so ``wss://`` and ``https://`` share the
port exactly as ``ws://`` and ``http://`` do.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import h11
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.typing import LoggerLike, Subprotocol

from switchboard.server.httpconn import HttpApp, HttpConnection, HttpConnections

__all__ = ["FrontDoor", "ListenerFront", "open_listener"]

logger = logging.getLogger("switchboard.server")


class _Door(enum.Enum):
    """What a connection turned out to be."""

    WEBSOCKET = "websocket"
    HTTP = "http"
    CLOSED = "closed"


@dataclass(eq=False)
class ListenerFront:
    """What every front door of one listener shares.

    Attributes:
        app: answers plain HTTP requests.
        connections: the open HTTP connections (and their limits).
        websocket_paths: the paths a WebSocket upgrade may go to.
        server_header: the ``Server`` header of HTTP responses.
        head_timeout_s: how long a new connection may take to send its first request head.
        open_timeout_s: how long a WebSocket opening handshake may take after that.
    """

    app: HttpApp
    connections: HttpConnections
    websocket_paths: frozenset[str]
    server_header: str
    head_timeout_s: float = 10.0
    open_timeout_s: float = 10.0
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the server stops: connections still undecided close at once."""

    def is_upgrade(self, head: bytes) -> bool:
        """Whether ``head`` (one complete request head) is a WebSocket upgrade of ours."""
        parser = h11.Connection(h11.SERVER, max_incomplete_event_size=len(head) + 1)
        parser.receive_data(head)
        try:
            event = parser.next_event()
        except h11.RemoteProtocolError:
            return False  # the HTTP side answers 400 with the reason
        if not isinstance(event, h11.Request) or event.method != b"GET":
            return False
        path = event.target.split(b"?", 1)[0].decode("ascii", "replace")
        if path not in self.websocket_paths:
            return False
        upgrade = b",".join(value for name, value in event.headers if name == b"upgrade")
        return b"websocket" in upgrade.lower()


class FrontDoor(ServerConnection):
    """A connection of the listener, before and (for WebSockets) after the first request.

    Subclassed per listener by :func:`open_listener`, which sets :attr:`front`.
    """

    front: ClassVar[ListenerFront]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held = bytearray()
        self._door: asyncio.Future[_Door] = self.loop.create_future()
        self._http: HttpConnection | None = None

    def data_received(self, data: bytes) -> None:
        """Hold bytes until the first head is complete, then decide where they go."""
        if self._door.done():
            super().data_received(data)  # a WebSocket (an HTTP one no longer comes here)
            return
        self._held += data
        end = _head_end(self._held)
        limit = self.front.connections.limits.max_head_bytes
        if end < 0 and len(self._held) <= limit:
            return
        held, self._held = bytes(self._held), bytearray()
        if end >= 0 and self.front.is_upgrade(held[:end]):
            self._door.set_result(_Door.WEBSOCKET)
            super().data_received(held)
        else:
            self._to_http(held)

    def _to_http(self, held: bytes) -> None:
        """Hand the transport to a new HTTP connection, with what was read so far."""
        transport = self.transport
        connection = HttpConnection(
            self.front.app,
            self.front.connections,
            secure=transport.get_extra_info("ssl_object") is not None,
            server_header=self.front.server_header,
        )
        self._http = connection
        transport.set_protocol(connection)
        connection.connection_made(transport)
        if held:
            connection.data_received(held)
        self._door.set_result(_Door.HTTP)

    def eof_received(self) -> None:
        """The peer stopped sending; a head cut short still gets its 400 from the HTTP side."""
        if self._door.done():
            super().eof_received()
            return
        if self._held:
            held, self._held = bytes(self._held), bytearray()
            self._to_http(held)
            assert self._http is not None
            self._http.eof_received()
            return
        self._door.set_result(_Door.CLOSED)
        # The WebSocket library logs this one line itself when the connection is lost.
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection closed (before a decision, or as a WebSocket)."""
        if not self._door.done():
            self._door.set_result(_Door.CLOSED)
        super().connection_lost(exc)

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        """Wait for the first head; then the WebSocket handshake, or the HTTP connection's end.

        ``serve()`` calls this for every connection and closes the connection when it returns
        without an open WebSocket, which is right in every case: an HTTP connection has ended
        by then, and a silent or refused one is to be dropped.
        """
        front = self.front
        stopping = asyncio.ensure_future(front.stopping.wait())
        try:
            async with asyncio.timeout(front.head_timeout_s):
                await asyncio.wait((self._door, stopping), return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            return  # no request in time: serve() aborts the connection
        finally:
            stopping.cancel()
        if not self._door.done():
            return  # the server stops
        door = self._door.result()
        if door is _Door.WEBSOCKET:
            async with asyncio.timeout(front.open_timeout_s):
                await super().handshake(*args, **kwargs)
        elif door is _Door.HTTP:
            assert self._http is not None
            await asyncio.shield(self._http.finished)


def _head_end(data: bytearray) -> int:
    """The length of the request head at the start of ``data`` (blank line included), or -1."""
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        return end + 4
    end = data.find(b"\n\n")  # a bare-LF head: h11 accepts it, so we do too
    return end + 2 if end >= 0 else -1


async def open_listener(
    front: ListenerFront,
    handler: Callable[[ServerConnection], Awaitable[None]],
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    process_request: Callable[[ServerConnection, Request], Awaitable[Response | None]],
    select_subprotocol: Callable[
        [ServerConnection, Sequence[Subprotocol]], Subprotocol | None
    ],
    max_size: int,
    logger: LoggerLike,
    start_serving: bool = False,
) -> Server:
    """Bind the listening socket (not accepting yet unless ``start_serving``).

    Args:
        front: the HTTP side and its limits.
        handler: runs each opened WebSocket.
        host: the address to listen on.
        port: the port (0: any free one).
        ssl_context: TLS for every connection, or ``None`` for plain text.
        process_request: checks each WebSocket upgrade (a response refuses it).
        select_subprotocol: picks the upgrade's subprotocol (``jmap`` on ``/jmap/ws``).
        max_size: the largest WebSocket message.
        logger: the WebSocket library's logger.
        start_serving: accept connections at once.

    Raises:
        OSError: the address cannot be bound.
    """
    door = type("ListenerDoor", (FrontDoor,), {"front": front})
    extra: dict[str, Any] = {}
    if ssl_context is not None:
        extra = {"ssl": ssl_context, "ssl_handshake_timeout": front.head_timeout_s}
    return await serve(
        handler,
        host,
        port,
        create_connection=door,
        process_request=process_request,
        select_subprotocol=select_subprotocol,
        max_size=max_size,
        compression=None,
        server_header=front.server_header,
        # The front door bounds the first head and the WebSocket handshake itself: an HTTP
        # connection lives on through serve()'s handshake step (see FrontDoor.handshake).
        open_timeout=None,
        logger=logger,
        start_serving=start_serving,
        **extra,
    )

