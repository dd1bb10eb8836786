"""The asyncio client's shell: moves frames between one WebSocket and the client session.

:class:`AsyncShell` decides nothing about the protocol: it opens the connection
(``websockets.asyncio``), gives every received frame to the
:class:`~switchboard.client.session.ClientSession` and does what the event says — settle the
future of a reply, queue a push (:class:`~switchboard.client.pushqueue.PushQueue`) and wake the
consumer — sends the frames the session makes, and bounds each wait for a reply with a timeout.
When a connection ends it fails the pending futures; if asked to reconnect (and not closed), it
opens a new one after a capped, jittered backoff and sends the session's resume frame. Opening
and closing are bounded by ``timeout_s``, a silent server by the keepalive pings.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Mapping

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import WebSocketException

from switchboard.client.errors import ConnectionClosed, ResponseTimeout
from switchboard.client.pushqueue import PushQueue
from switchboard.client.resume import Backoff
from switchboard.client.session import (
    ClientSession,
    Dropped,
    Outgoing,
    Pushes,
    Reply,
    errors_of,
    is_gap,
)
from switchboard.client.wsoptions import DEFAULT_MAX_FRAME_BYTES
from switchboard.protocol.messages import Response

__all__ = ["DEFAULT_MAX_FRAME_BYTES", "AsyncShell", "Handle"]

logger = logging.getLogger("switchboard.aio")


Handle = asyncio.Future[tuple[Response, ...]]
"""What the session keeps for each pending group: the future its reply settles."""


class AsyncShell:
    """Moves frames between one WebSocket at a time and a client session.

    Args:
        url: the server's URL.
        session: the protocol state; the shell does what it answers.
        queue: where pushes wait for the consumer.
        headers: extra HTTP headers for the upgrade request.
        tls: TLS context for ``wss://`` (default: verify against the system store).
        timeout_s: limit for opening and closing.
        ping_interval_s: keepalive ping interval.
        max_frame_bytes: largest frame accepted.
        reconnect: open a new connection when one is lost.
        backoff: the delays between reconnection attempts.
    """

    def __init__(self, url: str, *, session: ClientSession[Handle], queue: PushQueue,
                 headers: Mapping[str, str], tls: ssl.SSLContext | None, timeout_s: float,
                 ping_interval_s: float | None, max_frame_bytes: int, reconnect: bool,
                 backoff: Backoff) -> None:
        self.url, self.headers, self.tls = url, dict(headers), tls
        self.timeout_s, self.ping_interval_s = timeout_s, ping_interval_s
        self.max_frame_bytes, self.reconnect, self.backoff = max_frame_bytes, reconnect, backoff
        self.session, self.queue = session, queue
        self.arrived = asyncio.Event()
        """Set when the queue got something for the consumer (cleared by the consumer)."""
        self.reconnects = 0
        """How many times a connection was opened again after one was lost."""
        self._ws: ClientConnection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._resume: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    async def open(self) -> None:
        """Open the first connection and start reading it.

        Raises:
            OSError: the TCP connection failed.
            TimeoutError: the opening handshake took longer than ``timeout_s``.
            websockets.exceptions.InvalidHandshake: the server refused the upgrade.
        """
        self._ws = ws = await self._connect()
        self.session.connection_made(self.future)  # open before the first frame is read
        self._supervisor = asyncio.create_task(self._supervise(ws), name="switchboard-aio")

    def future(self) -> Handle:
        """A new future for a group's reply."""
        return asyncio.get_running_loop().create_future()

    async def exchange(self, out: Outgoing[Handle],
                       timeout_s: float | None = None) -> tuple[Response, ...]:
        """Send a group's frame and wait for its reply (none for an empty group).

        Raises:
            ConnectionClosed: there is no open connection, or it closed before the reply.
            ResponseTimeout: no reply within ``timeout_s`` (default: the shell's).
        """
        if out.text is None:
            return ()
        ws = self._ws
        assert ws is not None  # the session only makes frames while a connection is open
        limit_s = self.timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(limit_s):
                await ws.send(out.text)
                return await out.group.handle
        except TimeoutError:
            raise ResponseTimeout(limit_s) from None
        except WsConnectionClosed as exc:
            raise ConnectionClosed(ws.close_code, ws.close_reason or "") from exc
        finally:
            self.session.expire(out.group.tags)  # settled or not, nobody waits any more

    async def confirm(self, out: Outgoing[Handle] | None, *, quiet: bool = False) -> None:
        """Send an ack frame and log the server's refusal; ``quiet``: log a lost one too.

        Raises:
            ConnectionClosed: the connection closed before the reply (unless ``quiet``).
            ResponseTimeout: no reply within ``timeout_s`` (unless ``quiet``).
        """
        try:
            for error in errors_of(() if out is None else await self.exchange(out)):
                logger.warning("the server refused an ack: %s", error)
        except (ConnectionClosed, ResponseTimeout) as exc:
            if not quiet:
                raise
            # The server redelivers what it did not see acked; the session skips it then.
            logger.info("ack not confirmed: %s", exc)

    async def drop(self, code: int, reason: str) -> None:
        """Close the current connection; reconnection (if on) opens the next one."""
        if self._ws is not None:
            await self._ws.close(code, reason)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close for good (bounded by ``timeout_s``) and wait until ``on_lost`` has run."""
        self._closing.set()
        await self.drop(code, reason)
        if self._supervisor is not None:
            await self._supervisor

    async def _connect(self) -> ClientConnection:
        return await ws_connect(
            self.url, additional_headers=self.headers or None,
            compression=None,  # the server negotiates none (docs/protocol.md, "Endpoints")
            ssl=self.tls if self.url.startswith("wss:") else None,
            open_timeout=self.timeout_s, close_timeout=self.timeout_s,
            ping_interval=self.ping_interval_s, max_size=self.max_frame_bytes)

    async def _supervise(self, ws: ClientConnection) -> None:
        """Read each connection to its end; reconnect while asked to."""
        while True:
            try:
                async for data in ws:
                    self._received(data)
            except WsConnectionClosed:
                pass  # an abnormal close; the code is read below either way
            final = not self.reconnect or self._closing.is_set()
            await self._lost(ws, final)
            reopened = None if final else await self._reopen()
            if reopened is None:
                if not final:
                    await self._lost(ws, True)
                return
            self._ws = ws = reopened
            self.reconnects += 1
            out = self.session.connection_made(self.future)
            self._resume = asyncio.create_task(self._resumed(out), name="switchboard-resume")

    def _received(self, data: str | bytes) -> None:
        event = self.session.receive(data)
        if isinstance(event, Reply):
            if not event.group.handle.done():
                event.group.handle.set_result(event.responses)
        elif isinstance(event, Pushes):
            for push in event.pushes:
                self.queue.put(push)
            self.arrived.set()
        elif isinstance(event, Dropped):
            logger.warning("ignored a frame from the server (%s): %.200r", event.reason, data)
        else:  # a reply, but to no group waiting for one; it is not a push
            if event.late:  # its call timed out or was cancelled: nobody waits for it
                logger.debug("ignored %s: %.200r", event.reason, data)
            else:
                logger.warning("reply matches no pending command (%s): %.200r", event.reason, data)

    async def _resumed(self, out: Outgoing[Handle] | None) -> None:
        try:
            responses = () if out is None else await self.exchange(out)
        except (ConnectionClosed, ResponseTimeout) as exc:
            logger.info("resuming on %s failed: %s", self.url, exc)
            await self.drop(1011, "resume failed")
            return
        for error in errors_of(responses):
            logger.error("resuming failed: %s", error)
            if is_gap(error):  # a gap we cannot close: tell the consumer, do not carry on
                self.queue.put_error(error)
                self.arrived.set()

    async def _lost(self, ws: ClientConnection, final: bool) -> None:
        code, reason = ws.close_code, ws.close_reason or ""
        for group in self.session.connection_lost(code, reason, final=final):
            if not group.handle.done():
                group.handle.set_exception(ConnectionClosed(code, reason))
        self.queue.connection_lost(final=final)
        self.arrived.set()
        if self._resume is not None:
            await self._resume  # its reply, if still pending, was just failed
            self._resume = None

    async def _reopen(self) -> ClientConnection | None:
        """Open a new connection with backoff; ``None`` if ``close()`` was called meanwhile."""
        attempt = 0
        while not self._closing.is_set():
            try:
                delay_s = self.backoff.delay_s(attempt, random.random)
                await asyncio.wait_for(self._closing.wait(), delay_s)
                return None
            except TimeoutError:
                attempt += 1
            try:
                return await self._connect()
            except (OSError, TimeoutError, WebSocketException) as exc:
                logger.info("reconnecting to %s (attempt %d): %s", self.url, attempt, exc)
        return None
