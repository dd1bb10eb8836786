"""The asyncio client: ``async with connect(url) as sb``, ``await sb.call(...)``, ``async for``.

A thin shell over :mod:`switchboard.client.core` and ``websockets.asyncio.client``::

    async with switchboard.aio.connect("ws://127.0.0.1:8080/workers", token=T) as sb:
        await sb.call("connect", {"host": H, "port": 993, "auth": {...}})
        await sb.call("watchAll", {})
        async for push in sb.events():          # Push("newMessage", {"account": …, …})
            reply = await sb.call("getMessages", {"account": push.args["account"],
                                                  "ids": [push.args["messageId"]],
                                                  "properties": ["raw"]})

Bounds: ``send_cmds`` and ``call`` raise ``ResponseTimeout`` after ``timeout_s`` (per client,
overridable per call); opening and closing are bounded by the same ``timeout_s``. Waiting in
``events()`` has no timeout of its own — mail may not come for hours — but it ends when the
connection ends, and the keepalive pings (``ping_interval_s``) close a connection whose server
went silent. Pushes wait in a queue of at most ``max_queue`` items; when it is full, a new push is
**dropped** (logged at WARNING and counted in ``dropped_pushes``) rather than blocking the reader,
because a blocked reader would also stop the replies that ``call()`` is waiting for.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed as WsConnectionClosed

from switchboard.client.core import (
    DEFAULT_MAX_PENDING_GROUPS,
    ClientCore,
    Dropped,
    Push,
    Reply,
    Unmatched,
    Unsolicited,
    error_from_response,
    pushes_in,
)
from switchboard.client.errors import ConnectionClosed, ResponseTimeout

__all__ = ["DEFAULT_MAX_QUEUE", "AsyncClient", "Push", "connect"]

logger = logging.getLogger("switchboard.aio")

DEFAULT_MAX_QUEUE: Final = 1024
"""Default number of pushes kept for ``events()`` before new ones are dropped."""

DEFAULT_MAX_FRAME_BYTES: Final = 64 * 1024 * 1024
"""Largest frame accepted: ``getMessages`` with ``raw`` carries whole messages."""

_CLOSED: Final = object()  # queued once when the connection ends, to end events() iterations


class AsyncClient:
    """One WebSocket connection to a Switchboard server, for asyncio code.

    Create it with :func:`connect` and use it as an async context manager.

    Args:
        url: ``ws://host:port/workers`` or ``/clients`` (``?token=`` in the URL is sent as is).
        token: an auth token, sent as ``Authorization: Bearer <token>``.
        timeout_s: default limit for each command's reply, and for opening and closing.
        max_queue: how many pushes wait for ``events()`` before new ones are dropped.
        max_frame_bytes: largest frame accepted from the server.
        max_pending_groups: how many ``send_cmds`` calls may await replies at once.
        ping_interval_s: keepalive ping interval; a server that stops answering is noticed.
        headers: extra HTTP headers for the upgrade request.
        ssl: TLS context for ``wss://`` (default: verify against the system store).
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        max_pending_groups: int = DEFAULT_MAX_PENDING_GROUPS,
        ping_interval_s: float | None = 20.0,
        headers: Mapping[str, str] | None = None,
        ssl: ssl_module.SSLContext | None = None,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.max_queue = max_queue
        self.max_frame_bytes = max_frame_bytes
        self.ping_interval_s = ping_interval_s
        self.ssl = ssl
        self.headers = dict(headers or {})
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        self.dropped_pushes = 0
        """How many pushes were dropped because the queue held ``max_queue`` already."""
        self._core: ClientCore[asyncio.Future[list[list[Any]]]] = ClientCore(
            max_pending_groups=max_pending_groups
        )
        self._queue: asyncio.Queue[object] = asyncio.Queue()  # bounded by hand, see _deliver
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once the connection ended, else ``None``."""
        return self._core.close_code

    async def open(self) -> None:
        """Open the WebSocket and start reading; ``async with`` calls this.

        Raises:
            OSError: the TCP connection failed.
            TimeoutError: the opening handshake took longer than ``timeout_s``.
            websockets.exceptions.InvalidHandshake: the server refused the upgrade (e.g.
                ``InvalidStatus`` with HTTP 401 for a missing or wrong token).
        """
        self._ws = await ws_connect(
            self.url,
            additional_headers=self.headers or None,
            compression=None,  # the server negotiates none (protocol.md §1.1)
            ssl=self.ssl if self.url.startswith("wss:") else None,
            open_timeout=self.timeout_s,
            close_timeout=self.timeout_s,
            ping_interval=self.ping_interval_s,
            max_size=self.max_frame_bytes,
        )
        self._reader = asyncio.create_task(self._read(self._ws), name="switchboard-aio-reader")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (bounded by ``timeout_s``) and wait for the reader to finish.

        Pending calls fail with ``ConnectionClosed``; ``events()`` iterations end.
        """
        if self._ws is not None:
            await self._ws.close(code, reason)
        if self._reader is not None:
            await self._reader

    async def __aenter__(self) -> AsyncClient:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def send_cmds(
        self, *cmds: Sequence[Any], timeout_s: float | None = None
    ) -> list[list[Any]]:
        """Send ``(method, args)`` commands as one tagged frame and return the reply frame.

        Error responses are returned like any other response (see ``call`` to raise them).
        No commands return ``[]`` at once, as the server answers ``[]`` to ``[]``.

        Raises:
            ValueError: a command is not a ``(method, args)`` pair.
            TypeError: a method is not a string or args are not JSON-serialisable.
            ConnectionClosed: not open, or the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s`` (default: the client's).
            TooManyPending: ``max_pending_groups`` calls already await replies.
        """
        if self._ws is None:
            raise ConnectionClosed(None, "not connected yet: use `async with connect(...)`")
        limit_s = self.timeout_s if timeout_s is None else timeout_s
        future: asyncio.Future[list[list[Any]]] = asyncio.get_running_loop().create_future()
        group, text = self._core.send_group(cmds, future)
        if text is None:
            return []
        try:
            async with asyncio.timeout(limit_s):
                await self._ws.send(text)
                return await future
        except TimeoutError:
            raise ResponseTimeout(limit_s) from None
        except WsConnectionClosed as exc:
            raise ConnectionClosed(self._ws.close_code, self._ws.close_reason or "") from exc
        finally:
            # Settled, timed out, cancelled or failed: either way nobody waits for it any more.
            self._core.forget(group.tags)

    async def call(
        self, method: str, args: Any = None, *, timeout_s: float | None = None
    ) -> Any:
        """Run one command and return its response's args (a dict for every known response).

        Raises:
            CommandError: the server answered with an error response; ``.type`` is its type.
            ConnectionClosed: the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s`` (default: the client's).
            ValueError: the reply is not one response.
        """
        resps = await self.send_cmds((method, {} if args is None else args), timeout_s=timeout_s)
        if len(resps) != 1:
            raise ValueError(f"expected one response to {method}, got {resps!r}")
        error = error_from_response(resps[0])
        if error is not None:
            raise error
        return resps[0][1]

    async def events(self) -> AsyncIterator[Push]:
        """Yield each unsolicited response as a :class:`Push`, until the connection ends.

        Pushes queued before the end are yielded first. Meant for one consumer at a time.
        """
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                self._queue.put_nowait(_CLOSED)  # so a later or concurrent iteration ends too
                return
            assert isinstance(item, Push)
            yield item

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for data in ws:
                self._dispatch(data)
        except WsConnectionClosed:
            pass  # an abnormal close; the code is read below either way
        finally:
            code, reason = ws.close_code, ws.close_reason or ""
            for group in self._core.close(code, reason):
                if not group.handle.done():
                    group.handle.set_exception(ConnectionClosed(code, reason))
            self._queue.put_nowait(_CLOSED)

    def _dispatch(self, data: str | bytes) -> None:
        event = self._core.receive_frame(data)
        if isinstance(event, Reply):
            if not event.group.handle.done():
                event.group.handle.set_result(event.resps)
        elif isinstance(event, Unsolicited):
            for push in pushes_in(event.resps):
                self._deliver(push)
        elif isinstance(event, Unmatched):
            # Most likely the late reply to a call that timed out; it is not a push.
            logger.warning("reply matches no pending command (%s): %.200r", event.reason, data)
        else:
            assert isinstance(event, Dropped)
            logger.warning("ignored a frame from the server (%s): %.200r", event.reason, data)

    def _deliver(self, push: Push) -> None:
        if self._queue.qsize() >= self.max_queue:
            self.dropped_pushes += 1
            logger.warning("push queue full (%d), dropped %r", self.max_queue, push)
            return
        self._queue.put_nowait(push)


def connect(url: str, token: str | None = None, **kwargs: Any) -> AsyncClient:
    """Return an :class:`AsyncClient` for ``async with``; see its arguments for ``kwargs``."""
    return AsyncClient(url, token=token, **kwargs)
