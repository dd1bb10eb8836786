"""One HTTP/1.1 connection: ``h11`` parses and frames, this module moves bytes and waits, bounded.

How it works: the listener (:mod:`switchboard.server.listener`) hands over a connection whose
first request is not a WebSocket upgrade: :class:`HttpConnection` becomes the transport's
protocol and gets the bytes read so far. One task per connection then loops:

1. read a request head (``idle_timeout_s`` while nothing of it has arrived, then
   ``read_timeout_s``; a head over ``max_head_bytes`` gets 431) and its body (over
   ``max_body_bytes`` it is not read: the request goes on marked ``body_too_large`` for the
   route to refuse in its own terms, and the connection closes after the answer);
2. ask the application for the response (``handler_timeout_s``; an exception is a 500 and a
   log line, never a dead connection);
3. write it: a complete body with ``Content-Length``; a stream of known length the same way,
   chunk by chunk; a stream of unknown length close-delimited — the head written here, not by
   h11, which would choose chunked coding for an HTTP/1.1 peer (see
   :mod:`switchboard.server.httpwire` for why that must not happen). ``HEAD`` gets the head
   only. Every write waits for the socket to drain, at most ``write_timeout_s``;
4. keep the connection for the next request (HTTP/1.1 keep-alive) unless either side asked to
   close, the body was left unread, or the response was close-delimited.

Reading is pull-based: at most ``max_buffered_bytes`` wait here before the transport stops
reading, so a client cannot make the server buffer without bound. While a response streams,
the peer closing (EOF or a reset) cancels the stream at once. :class:`HttpConnections` knows
every open connection, so the server's stop can end them: idle ones at once, streams by
cancelling them, requests in progress once answered.

Why one module of ~510 lines (a long module says why): the four steps above share the
connection's buffer, its flow control and its timeouts; the wire details that need no state
(heads, close-delimited framing) are already apart in :mod:`~switchboard.server.httpwire`.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, cast

import h11
from websockets.datastructures import Headers

from switchboard.server.httpwire import (
    AnyResponse,
    HttpRequest,
    HttpResponse,
    StreamResponse,
    text_response,
)

__all__ = ["HttpApp", "HttpConnection", "HttpConnections", "HttpLimits"]

logger = logging.getLogger("switchboard.server")

HttpApp = Callable[[HttpRequest], Awaitable[AnyResponse]]
"""What answers a request: the server's routes."""

_NO_BODY_STATUSES: Final = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """One HTTP connection's limits; the defaults suit a single node.

    Attributes:
        max_head_bytes: request line and header fields together.
        max_body_bytes: a request body (JMAP's ``maxSizeRequest``).
        max_buffered_bytes: bytes read ahead of the parser before reading pauses.
        idle_timeout_s: how long a connection may wait for the start of a request.
        read_timeout_s: how long the rest of a started request may take, per read.
        write_timeout_s: how long one write may wait for the peer to read.
        handler_timeout_s: how long the application may take to answer (a stream's
            body is not counted: it is bounded by its own writes).
        shutdown_grace_s: how long the server's stop waits for requests in progress.
    """

    max_head_bytes: int = 16 * 1024
    max_body_bytes: int = 1_048_576
    max_buffered_bytes: int = 64 * 1024
    idle_timeout_s: float = 30.0
    read_timeout_s: float = 30.0
    write_timeout_s: float = 30.0
    handler_timeout_s: float = 120.0
    shutdown_grace_s: float = 5.0


class _PeerGoneError(Exception):
    """The peer closed or reset the connection, or stopped reading (internal)."""


class HttpConnections:
    """The open HTTP connections of one listener, so the server's stop can end them.

    Args:
        limits: the limits every connection gets.
    """

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self._open: set[HttpConnection] = set()
        self.closing = False
        """Set by :meth:`close_all`: new connections are closed as soon as they arrive."""

    def add(self, connection: HttpConnection) -> None:
        """A connection started."""
        self._open.add(connection)

    def discard(self, connection: HttpConnection) -> None:
        """A connection ended."""
        self._open.discard(connection)

    def __len__(self) -> int:
        return len(self._open)

    async def close_all(self) -> None:
        """End every connection: idle ones now, streams cancelled, requests once answered."""
        self.closing = True
        connections = tuple(self._open)
        for connection in connections:
            connection.shut_down()
        waits = [connection.finished for connection in connections]
        if waits:
            await asyncio.wait(waits, timeout=self.limits.shutdown_grace_s + 1.0)
            for connection in connections:
                if not connection.finished.done():
                    connection.abort()


class HttpConnection(asyncio.Protocol):
    """The asyncio protocol of one HTTP connection (see the module docstring).

    Args:
        app: answers each request.
        registry: the listener's open connections; also carries the limits.
        secure: whether the connection is TLS (``HttpRequest.secure``).
        server_header: the ``Server`` header of every response.
    """

    def __init__(
        self,
        app: HttpApp,
        registry: HttpConnections,
        *,
        secure: bool,
        server_header: str,
    ) -> None:
        self._app = app
        self._registry = registry
        self._limits = registry.limits
        self._secure = secure
        self._server_header = server_header
        self._h11 = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self._limits.max_head_bytes
        )
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._lost = False
        self._reading_paused = False
        self._writing_paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._idle = True  # waiting for the start of a request: the server's stop may close
        self._streaming = False  # writing a stream: the peer leaving cancels it
        self._shutting_down = False
        self._gone = asyncio.Event()
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done once the connection is closed and its task ended."""

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start serving ``transport`` (called by the listener, after the hand-over)."""
        # uvloop's transports have the Transport methods without deriving from the class.
        self._transport = cast(asyncio.Transport, transport)
        self._registry.add(self)
        self._task = asyncio.get_running_loop().create_task(self._serve(), name="http")

    def data_received(self, data: bytes) -> None:
        """Buffer ``data`` for the parser; pause reading beyond ``max_buffered_bytes``."""
        self._buffer += data
        if len(self._buffer) > self._limits.max_buffered_bytes and not self._reading_paused:
            assert self._transport is not None
            self._transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        """The peer will send nothing more: a stream ends; a request being read is cut short."""
        self._eof = True
        self._wake()
        if self._streaming and self._task is not None:
            self._task.cancel()
        # Keeping a plain-TCP connection half-open lets an answer still go out; TLS cannot.
        return not self._secure

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is closed: wake every wait, cancel a stream."""
        self._lost = True
        self._gone.set()
        self._wake()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)
        if self._streaming and self._task is not None:
            self._task.cancel()
        if self._task is None:
            self._finish()

    def pause_writing(self) -> None:
        """The transport's write buffer is full."""
        self._writing_paused = True

    def resume_writing(self) -> None:
        """The transport's write buffer drained."""
        self._writing_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # -- control ----------------------------------------------------------------------------

    def shut_down(self) -> None:
        """The server stops: close now if idle, cancel a stream, else close after the answer."""
        self._shutting_down = True
        if (self._idle or self._streaming) and self._task is not None:
            self._task.cancel()

    def abort(self) -> None:
        """Drop the connection without a goodbye."""
        if self._transport is not None:
            self._transport.abort()

    def _wake(self) -> None:
        if self._data_waiter is not None and not self._data_waiter.done():
            self._data_waiter.set_result(None)

    def _finish(self) -> None:
        self._registry.discard(self)
        if not self.finished.done():
            self.finished.set_result(None)

    # -- the connection's task --------------------------------------------------------------

    async def _serve(self) -> None:
        try:
            if self._registry.closing:
                return
            while await self._one_exchange():
                self._h11.start_next_cycle()
        except (_PeerGoneError, asyncio.CancelledError, TimeoutError):
            pass
        except h11.LocalProtocolError as exc:
            # A response that broke HTTP framing (a stream longer or shorter than it said):
            # the peer cannot trust the rest of this connection.
            logger.warning("HTTP response aborted: %s", exc)
            self.abort()
        finally:
            await self._close()

    async def _close(self) -> None:
        """Close the transport and wait (bounded) until it is gone; then the connection is done."""
        transport = self._transport
        try:
            if transport is not None and not self._lost:
                transport.close()  # sends what is buffered first
                try:
                    async with asyncio.timeout(self._limits.write_timeout_s):
                        await self._gone.wait()
                except TimeoutError:
                    transport.abort()
        finally:
            self._finish()

    async def _one_exchange(self) -> bool:
        """Read one request, answer it; whether the connection may serve another."""
        try:
            request = await self._read_request()
        except h11.RemoteProtocolError as exc:
            # The peer's fault, worth one line at DEBUG like the WebSocket side's (server.wslog).
            logger.debug("! no valid HTTP request: %s", " ".join(str(exc).split()))
            await self._send_error(exc.error_status_hint, str(exc))
            return False
        if request is None:
            return False
        self._idle = False
        response = await self._answer(request)
        if request.body_too_large or self._shutting_down or self._eof:
            response = _with_close(response)
        await self._send(request, response)
        self._idle = True
        if self._shutting_down:
            return False
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    async def _answer(self, request: HttpRequest) -> AnyResponse:
        try:
            async with asyncio.timeout(self._limits.handler_timeout_s):
                return await self._app(request)
        except TimeoutError:
            logger.warning("HTTP %s %s: no answer within %gs", request.method,
                           request.route, self._limits.handler_timeout_s)  # fmt: skip
            return text_response(http.HTTPStatus.SERVICE_UNAVAILABLE, "The answer took too long.\n")
        except Exception:
            logger.exception("HTTP %s %s failed", request.method, request.route)
            return text_response(http.HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error.\n")

    # -- reading ----------------------------------------------------------------------------

    async def _next_event(self) -> h11.Event | type[h11.PAUSED]:
        """The parser's next event, reading from the connection as long as it needs data."""
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            started = bool(self._buffer) or self._h11.their_state is not h11.IDLE
            await self._receive(
                self._limits.read_timeout_s if started else self._limits.idle_timeout_s
            )

    async def _receive(self, timeout_s: float) -> None:
        """Hand the parser what arrived, waiting up to ``timeout_s`` for something.

        Raises:
            TimeoutError: nothing arrived in time.
        """
        if not self._buffer and not self._eof and not self._lost:
            self._resume_reading()
            waiter = asyncio.get_running_loop().create_future()
            self._data_waiter = waiter
            try:
                async with asyncio.timeout(timeout_s):
                    await waiter
            finally:
                self._data_waiter = None
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            self._h11.receive_data(data)
            self._resume_reading()
        elif self._eof or self._lost:
            self._h11.receive_data(b"")

    def _resume_reading(self) -> None:
        if self._reading_paused and self._transport is not None and not self._lost:
            self._reading_paused = False
            self._transport.resume_reading()

    async def _read_request(self) -> HttpRequest | None:
        """The next request with its body, or ``None`` when the peer closed between requests.

        Raises:
            h11.RemoteProtocolError: the peer broke HTTP/1.1.
            TimeoutError: the peer was too slow.
        """
        event = await self._next_event()
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}", 400)
        # h11 bounds a head that arrives in pieces; one that arrives whole is measured here.
        size = len(event.method) + len(event.target) + sum(
            len(name) + len(value) + 4 for name, value in event.headers
        )
        if size > self._limits.max_head_bytes:
            raise h11.RemoteProtocolError("request head too large", 431)
        headers = Headers(
            (name.decode("ascii"), value.decode("latin-1")) for name, value in event.headers
        )
        limit = self._limits.max_body_bytes
        declared = headers.get("Content-Length")
        too_large = declared is not None and declared.isdigit() and int(declared) > limit
        body = bytearray()
        if not too_large:
            if self._h11.they_are_waiting_for_100_continue:
                go_on = h11.InformationalResponse(status_code=100, headers=[])
                await self._write(self._h11.send(go_on))
            while True:
                part = await self._next_event()
                if isinstance(part, h11.Data):
                    body += part.data
                    if len(body) > limit:
                        too_large = True
                        break
                elif isinstance(part, h11.EndOfMessage) or part is h11.PAUSED:
                    break
                elif isinstance(part, h11.ConnectionClosed):
                    raise _PeerGoneError
        return HttpRequest(
            method=event.method.decode("ascii").upper(),
            path=event.target.decode("ascii", "replace"),
            headers=headers,
            body=b"" if too_large else bytes(body),
            body_too_large=too_large,
            secure=self._secure,
        )

    # -- writing ----------------------------------------------------------------------------

    async def _write(self, data: bytes | None) -> None:
        """Write ``data`` and wait until the transport's buffer drains (``write_timeout_s``).

        Raises:
            _PeerGoneError: the connection is closed, or the peer stopped reading.
        """
        if self._lost or self._transport is None:
            raise _PeerGoneError
        if data:
            self._transport.write(data)
        if self._writing_paused:
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiter = waiter
            try:
                async with asyncio.timeout(self._limits.write_timeout_s):
                    await waiter
            except TimeoutError:
                self.abort()
                raise _PeerGoneError from None
            finally:
                self._drain_waiter = None
        if self._lost:
            raise _PeerGoneError

    async def _write_data(self, data: bytes) -> None:
        """Write one piece of a body: ``data`` itself, not a copy.

        ``h11.send`` joins what its writer produced into new bytes — for a body with a
        ``Content-Length`` just ``data`` again, a second copy of each (up to 1 MiB) piece of a
        download. Its passthrough form hands the pieces over as they are.
        """
        for piece in self._h11.send_with_data_passthrough(h11.Data(data=data)) or ():
            await self._write(piece)

    def _head_fields(self, headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
        return [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Server", self._server_header),
            *headers,
        ]

    async def _send(self, request: HttpRequest, response: AnyResponse) -> None:
        head_only = request.method == "HEAD"
        if isinstance(response, HttpResponse):
            fields = self._head_fields(response.headers)
            if response.status not in _NO_BODY_STATUSES:
                fields.append(("Content-Length", str(len(response.body))))
            await self._write(self._h11.send(_head(response.status, fields)))
            if response.body and not head_only:
                await self._write_data(response.body)
            await self._write(self._h11.send(h11.EndOfMessage()))
            return
        try:
            if response.length is None:
                await self._send_close_delimited(response, head_only)
            else:
                await self._send_sized(response, head_only)
        finally:
            self._streaming = False
            with contextlib.suppress(Exception):
                await response.chunks.aclose()  # type: ignore[attr-defined]

    async def _send_sized(self, response: StreamResponse, head_only: bool) -> None:
        fields = self._head_fields(response.headers)
        fields.append(("Content-Length", str(response.length)))
        await self._write(self._h11.send(_head(response.status, fields)))
        if not head_only:
            self._streaming = True
            async for chunk in response.chunks:
                if chunk:
                    await self._write_data(chunk)
            self._streaming = False
        await self._write(self._h11.send(h11.EndOfMessage()))

    async def _send_close_delimited(self, response: StreamResponse, head_only: bool) -> None:
        # h11 would frame a body of unknown length as chunked for an HTTP/1.1 peer: the head is
        # written here, with Connection: close, and the connection ends with the body.
        fields = self._head_fields(response.headers)
        if not any(name.lower() == "connection" for name, _ in fields):
            fields.append(("Connection", "close"))
        lines = [f"HTTP/1.1 {response.status} {_reason(response.status)}"]
        for name, value in fields:
            if any(c in name + value for c in "\r\n\0"):
                raise ValueError(f"header {name!r} holds a line break")
            lines.append(f"{name}: {value}")
        await self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        # h11 is done with this connection: whatever follows is the raw body, then close.
        self._h11 = h11.Connection(h11.SERVER)
        if head_only:
            return
        self._streaming = True
        if self._eof or self._lost:
            raise _PeerGoneError
        async for chunk in response.chunks:
            await self._write(chunk)

    async def _send_error(self, status: int, reason: str) -> None:
        """Answer a request h11 refused (400, 431…), then close."""
        response = _with_close(text_response(status, f"Bad request: {reason}\n"))
        assert isinstance(response, HttpResponse)
        fields = self._head_fields(response.headers)
        fields.append(("Content-Length", str(len(response.body))))
        try:
            data = self._h11.send(_head(status, fields))
            data = (data or b"") + (self._h11.send(h11.Data(data=response.body)) or b"")
            data += self._h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            return  # too broken to answer: just close
        await self._write(data)


def _with_close(response: AnyResponse) -> AnyResponse:
    headers = (*response.headers, ("Connection", "close"))
    if isinstance(response, HttpResponse):
        return HttpResponse(response.status, headers, response.body)
    return StreamResponse(response.status, headers, response.chunks, response.length)


def _head(status: int, fields: list[tuple[str, str]]) -> h11.Response:
    return h11.Response(status_code=status, headers=fields, reason=_reason(status).encode())


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Status"
