"""The asyncio client: ``async with connect(url) as sb``, ``await sb.call(...)``, ``async for``.

A thin shell over :mod:`switchboard.client.core` (tags, replies) and
:mod:`switchboard.client.resume` (reconnect, resume, ack), on ``websockets.asyncio.client``::

    async with switchboard.aio.connect(url, token=T, reconnect=True, since=saved) as sb:
        await sb.call("connect", {"host": H, "port": 993, "auth": {...}})
        await sb.watch_all()                     # or watch_all(group="apns")
        async for push in sb.events():           # Push("newMessage", {"account": …, "eventId": 7})
            await handle(push)
            await sb.ack(push.event_id)          # optional: the next iteration acks it anyway
            save(sb.last_event_id)

Reliability (docs/reliability.md): ``events()`` acknowledges a push when the loop asks for the
next one — that is, after the loop body handled it without raising — or earlier through
:meth:`AsyncClient.ack`. ``last_event_id`` is the highest event id at or below which every push
handed out was acknowledged. With ``reconnect=True`` a lost connection is opened again with
capped, jittered exponential backoff, and the ``connect``/``watchAll``/``watchMailboxes``
commands that succeeded are sent again, the watches with ``since=last_event_id`` (group watches
as they were: the server keeps the group's position). Pushes that were queued but not yet handed
out when the connection was lost are discarded: the resumed stream delivers them again. A push
already acknowledged is never handed out twice (a group redelivery of it is acked at once).

Bounds: ``send_cmds`` and ``call`` raise ``ResponseTimeout`` after ``timeout_s`` (per client,
overridable per call); opening and closing are bounded by the same ``timeout_s``. Waiting in
``events()`` has no timeout of its own — mail may not come for hours — but it ends when the
connection ends for good, and the keepalive pings (``ping_interval_s``) close a connection whose
server went silent. Pushes wait in a queue of at most ``max_queue`` items; a push that arrives
when it is full is **dropped** (logged and counted in ``dropped_pushes``) rather than blocking
the reader, because a blocked reader would also stop the replies ``call()`` waits for. With
``reconnect=True`` nothing is lost that way: once the consumer has emptied the queue, the client
reconnects and resumes after the last acknowledged event.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl as ssl_module
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import WebSocketException

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
from switchboard.client.errors import CommandError, ConnectionClosed, ResponseTimeout
from switchboard.client.resume import (
    DEFAULT_MAX_TRACKED_EVENTS,
    WATCH_METHODS,
    Backoff,
    EventCursor,
    WatchLog,
    prepare_watch,
)

__all__ = ["DEFAULT_MAX_QUEUE", "AsyncClient", "Backoff", "Push", "connect"]

logger = logging.getLogger("switchboard.aio")

DEFAULT_MAX_QUEUE: Final = 1024
"""Default number of pushes kept for ``events()`` before new ones are dropped."""

DEFAULT_MAX_FRAME_BYTES: Final = 64 * 1024 * 1024
"""Largest frame accepted: ``getMessages`` with ``raw`` carries whole messages."""

_CLOSED: Final = object()  # queued once when the connection ends for good, to end events()

# Errors that mean "the server is not there (yet)": worth another reconnection attempt.
_RETRYABLE = (OSError, TimeoutError, WebSocketException)


class AsyncClient:
    """One logical connection to a Switchboard server, for asyncio code.

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
        reconnect: open the connection again when it is lost, and resume (module docstring).
        since: the event id processed last (e.g. from a state file); watches resume after it.
        backoff: the delays between reconnection attempts.
        max_tracked_events: bound on the event ids the cursor keeps (see ``EventCursor``).
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
        reconnect: bool = False,
        since: int | None = None,
        backoff: Backoff | None = None,
        max_tracked_events: int = DEFAULT_MAX_TRACKED_EVENTS,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.max_queue = max_queue
        self.max_frame_bytes = max_frame_bytes
        self.ping_interval_s = ping_interval_s
        self.ssl = ssl
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.headers = dict(headers or {})
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        self.dropped_pushes = 0
        """How many pushes were dropped because the queue held ``max_queue`` already."""
        self.reconnects = 0
        """How many times the connection was opened again after it was lost."""
        self._core: ClientCore[asyncio.Future[list[list[Any]]]] = ClientCore(
            max_pending_groups=max_pending_groups
        )
        self._cursor = EventCursor(since, max_tracked_events=max_tracked_events)
        self._log = WatchLog()
        # Each connection has a generation; pushes of a lost one are discarded, not handed out.
        self._generation = 0
        self._overflowed: int | None = None  # generation whose pushes were dropped
        self._queue: asyncio.Queue[object] = asyncio.Queue()  # bounded by hand, see _deliver
        self._ws: ClientConnection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._connected = asyncio.Event()

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once the connection ended, else ``None``."""
        return self._core.close_code

    @property
    def last_event_id(self) -> int | None:
        """The resume position: every push handed out at or below it was acknowledged."""
        return self._cursor.position

    @property
    def group(self) -> str | None:
        """The consumer group this client joined, if any."""
        return self._log.group

    async def open(self) -> None:
        """Open the WebSocket and start reading; ``async with`` calls this.

        Raises:
            OSError: the TCP connection failed.
            TimeoutError: the opening handshake took longer than ``timeout_s``.
            websockets.exceptions.InvalidHandshake: the server refused the upgrade (e.g.
                ``InvalidStatus`` with HTTP 401 for a missing or wrong token).
        """
        ws = await self._open_ws()
        self._attach(ws)
        self._supervisor = asyncio.create_task(self._supervise(ws), name="switchboard-aio")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (bounded by ``timeout_s``), stop reconnecting, wait for the end.

        Pending calls fail with ``ConnectionClosed``; ``events()`` iterations end.
        """
        self._closing.set()
        if self._ws is not None:
            await self._ws.close(code, reason)
        if self._supervisor is not None:
            await self._supervisor

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

    # -- commands ---------------------------------------------------------------------------

    async def send_cmds(
        self, *cmds: Sequence[Any], timeout_s: float | None = None
    ) -> list[list[Any]]:
        """Send ``(method, args)`` commands as one tagged frame and return the reply frame.

        Error responses are returned like any other response (see ``call`` to raise them).
        No commands return ``[]`` at once, as the server answers ``[]`` to ``[]``. A watch
        command without ``since`` or ``group`` gets ``since=last_event_id`` when there is one;
        successful ``connect`` and watch commands are remembered for reconnection.

        Raises:
            ValueError: a command is not a ``(method, args)`` pair.
            TypeError: a method is not a string or args are not JSON-serialisable.
            ConnectionClosed: not open, or the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s`` (default: the client's).
            TooManyPending: ``max_pending_groups`` calls already await replies.
        """
        prepared = [prepare_watch(cmd, self._cursor) for cmd in cmds]
        resps = await self._send(prepared, timeout_s)
        self._log.record(prepared, resps)
        # A member sees a share of the ids: the gaps between them are other members' work.
        self._cursor.sparse = self._log.group is not None
        return resps

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
        return _single(method, resps)

    async def watch_all(
        self,
        *,
        since: int | None = None,
        group: str | None = None,
        visibility_timeout_s: float | None = None,
    ) -> Any:
        """Subscribe to every account's new mail (``/workers``); see :meth:`watch_mailboxes`.

        Raises:
            CommandError: the server refused (e.g. ``cannotCalculateChanges`` for a ``since``
                older than the event log keeps).
            ConnectionClosed: the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s``.
        """
        return await self.call("watchAll", _watch_args({}, since, group, visibility_timeout_s))

    async def watch_mailboxes(
        self,
        account: str | None,
        names: Iterable[str],
        *,
        since: int | None = None,
        group: str | None = None,
        visibility_timeout_s: float | None = None,
    ) -> Any:
        """Watch mailboxes by name and subscribe to their new mail.

        Args:
            account: the account (``/workers``), or ``None`` on ``/clients``.
            names: mailbox names such as ``"INBOX"``.
            since: resume after this event id (default: ``last_event_id``).
            group: join this consumer group: each event goes to one member, acked.
            visibility_timeout_s: for a group, how long an unacked event stays with us.

        Raises:
            CommandError: the server refused the command.
            ConnectionClosed: the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s``.
        """
        base: dict[str, Any] = {} if account is None else {"account": account}
        base["list"] = list(names)
        args = _watch_args(base, since, group, visibility_timeout_s)
        return await self.call("watchMailboxes", args)

    async def ack(self, *event_ids: int) -> None:
        """Acknowledge pushes: their handlers returned without raising.

        For a group member the server is told (``["ack", {"eventIds": [...]}]``) so that it
        does not redeliver them; for a plain subscriber only ``last_event_id`` moves (the
        server keeps no position for it). Already acknowledged ids are skipped.

        Raises:
            ConnectionClosed: the connection closed before the server confirmed the ack; the
                server will deliver the events again (to us after a reconnect, or to another
                member), and they will not be handed out twice.
            ResponseTimeout: no confirmation within ``timeout_s``.
        """
        fresh = [i for i in dict.fromkeys(event_ids) if not self._cursor.is_done(i)]
        for event_id in fresh:
            self._cursor.ack(event_id)
        if fresh and self._log.group is not None:
            await self._send_ack(fresh)

    async def _send_ack(self, event_ids: list[int]) -> None:
        resps = await self._send([("ack", {"eventIds": event_ids})], None)
        error = error_from_response(resps[0]) if resps else None
        if error is not None:
            logger.warning("the server refused an ack of %s: %s", event_ids, error)

    # -- events -----------------------------------------------------------------------------

    async def events(self, *, auto_ack: bool = True) -> AsyncIterator[Push]:
        """Yield each unsolicited response as a :class:`Push`, until the connection ends.

        With ``auto_ack`` a ``newMessage`` push is acknowledged when the loop asks for the next
        one, i.e. when the loop body handled it without raising. Pushes already acknowledged
        (redelivered after a reconnect) are skipped. Meant for one consumer at a time; a push
        taken with a one-off ``anext(sb.events())`` is never auto-acked (that iteration is not
        resumed), so ack it with :meth:`ack`.

        Raises:
            CommandError: resuming after a reconnect failed (``cannotCalculateChanges``: the
                event log no longer holds events after ``last_event_id``).
        """
        while True:
            if self._queue.empty() and self._overflowed == self._generation:
                await self._resync()
            item = await self._queue.get()
            if item is _CLOSED:
                self._queue.put_nowait(_CLOSED)  # so a later or concurrent iteration ends too
                return
            if isinstance(item, CommandError):
                raise item
            assert isinstance(item, tuple)
            generation, push = item
            if generation != self._generation:
                continue  # queued on a connection since lost; the resumed stream resends it
            event_id = push.event_id if push.name == "newMessage" else None
            if event_id is not None and not self._cursor.hand_out(event_id):
                if self._log.group is not None:
                    await self._ack_quietly([event_id])  # a redelivery of what we processed
                continue
            yield push
            if auto_ack and event_id is not None and not self._cursor.is_done(event_id):
                self._cursor.ack(event_id)
                if self._log.group is not None:
                    await self._ack_quietly([event_id])

    async def _ack_quietly(self, event_ids: list[int]) -> None:
        try:
            await self._send_ack(event_ids)
        except (ConnectionClosed, ResponseTimeout) as exc:
            # The server redelivers what it did not see acked; the cursor skips it then.
            logger.info("ack of %s not confirmed: %s", event_ids, exc)

    # -- connection lifetime ----------------------------------------------------------------

    async def _open_ws(self) -> ClientConnection:
        return await ws_connect(
            self.url,
            additional_headers=self.headers or None,
            compression=None,  # the server negotiates none (docs/protocol.md, "Endpoints")
            ssl=self.ssl if self.url.startswith("wss:") else None,
            open_timeout=self.timeout_s,
            close_timeout=self.timeout_s,
            ping_interval=self.ping_interval_s,
            max_size=self.max_frame_bytes,
        )

    def _attach(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._core.reopen()
        self._connected.set()

    async def _supervise(self, ws: ClientConnection) -> None:
        """Read each connection to its end; reconnect and resume while asked to."""
        resume: asyncio.Task[None] | None = None
        try:
            while True:
                await self._read(ws, resume)
                self._connected.clear()
                if not self.reconnect or self._closing.is_set():
                    return  # what is queued is still handed out, then events() ends
                self._generation += 1  # what is still queued will be sent again on resume
                self._discard_queued()
                reopened = await self._reopen()
                if reopened is None:
                    return
                ws = reopened
                self._attach(ws)
                self.reconnects += 1
                resume = asyncio.create_task(self._resume(ws), name="switchboard-aio-resume")
        finally:
            self._queue.put_nowait(_CLOSED)

    async def _reopen(self) -> ClientConnection | None:
        """Open a new connection with backoff; ``None`` if ``close()`` was called meanwhile."""
        attempt = 0
        while not self._closing.is_set():
            delay_s = self.backoff.delay_s(attempt, random.random)
            try:
                await asyncio.wait_for(self._closing.wait(), delay_s)
                return None
            except TimeoutError:
                pass
            attempt += 1
            try:
                return await self._open_ws()
            except _RETRYABLE as exc:
                logger.info("reconnecting to %s (attempt %d): %s", self.url, attempt, exc)
        return None

    async def _resume(self, ws: ClientConnection) -> None:
        commands = self._log.replay(self._cursor.position)
        if not commands:
            return
        try:
            resps = await self._send(commands, None)
        except (ConnectionClosed, ResponseTimeout) as exc:
            logger.info("resuming on %s failed: %s", self.url, exc)
            if self._ws is ws:
                await ws.close(1011, "resume failed")
            return
        for (method, _args), resp in zip(commands, resps, strict=False):
            error = error_from_response(resp)
            if error is None:
                continue
            logger.error("resuming %s failed: %s", method, error)
            if method in WATCH_METHODS and error.type == "cannotCalculateChanges":
                # A gap we cannot close: tell the consumer rather than carry on silently.
                self._queue.put_nowait(error)

    async def _read(
        self, ws: ClientConnection, resume: asyncio.Task[None] | None = None
    ) -> None:
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
            if resume is not None:
                await resume

    def _discard_queued(self) -> None:
        """Drop the pushes of lost connections now, so they do not take the new one's room."""
        kept = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if not isinstance(item, tuple):
                kept.append(item)  # an error for the consumer
        for item in kept:
            self._queue.put_nowait(item)

    async def _resync(self) -> None:
        """Pushes were dropped: reconnect (and resume) now that the queue is empty."""
        self._overflowed = None
        if self._ws is not None and self.reconnect and not self._closing.is_set():
            logger.info("push queue overflowed; reconnecting to resume after the gap")
            await self._ws.close(1000, "client queue overflow; resuming")

    async def _send(
        self, cmds: Sequence[Sequence[Any]], timeout_s: float | None
    ) -> list[list[Any]]:
        if self._ws is None:
            raise ConnectionClosed(None, "not connected yet: use `async with connect(...)`")
        ws = self._ws
        limit_s = self.timeout_s if timeout_s is None else timeout_s
        future: asyncio.Future[list[list[Any]]] = asyncio.get_running_loop().create_future()
        group, text = self._core.send_group(cmds, future)
        if text is None:
            return []
        try:
            async with asyncio.timeout(limit_s):
                await ws.send(text)
                return await future
        except TimeoutError:
            raise ResponseTimeout(limit_s) from None
        except WsConnectionClosed as exc:
            raise ConnectionClosed(ws.close_code, ws.close_reason or "") from exc
        finally:
            # Settled, timed out, cancelled or failed: either way nobody waits for it any more.
            self._core.forget(group.tags)

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
        if self._overflowed == self._generation:
            # After a gap, later pushes of this connection must not be handed out either: the
            # position would move past the dropped one. The resumed stream brings them all.
            self.dropped_pushes += 1
            return
        if self._queue.qsize() >= self.max_queue:
            self.dropped_pushes += 1
            self._overflowed = self._generation
            logger.warning("push queue full (%d), dropped %r and what follows until resync",
                           self.max_queue, push)
            return
        self._queue.put_nowait((self._generation, push))


def _single(method: str, resps: list[list[Any]]) -> Any:
    if len(resps) != 1:
        raise ValueError(f"expected one response to {method}, got {resps!r}")
    error = error_from_response(resps[0])
    if error is not None:
        raise error
    return resps[0][1]


def _watch_args(
    base: dict[str, Any], since: int | None, group: str | None, visibility_timeout_s: float | None
) -> dict[str, Any]:
    if since is not None:
        base["since"] = since
    if group is not None:
        base["group"] = group
    if visibility_timeout_s is not None:
        base["visibilityTimeout"] = visibility_timeout_s
    return base


def connect(url: str, token: str | None = None, **kwargs: Any) -> AsyncClient:
    """Return an :class:`AsyncClient` for ``async with``; see its arguments for ``kwargs``.

    ``async with connect(url, token=T, reconnect=True, since=saved) as sb: ...``
    """
    return AsyncClient(url, token=token, **kwargs)
