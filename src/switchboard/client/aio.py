"""The asyncio client: ``async with connect(url) as sb``, ``await sb.call(...)``, ``async for``.

A shell over :class:`~switchboard.client.session.ClientSession` (the protocol, resume and acks)
and :class:`~switchboard.client.pushqueue.PushQueue` on ``websockets.asyncio.client``; it only
moves frames, sleeps between reconnection attempts and awaits replies::

    async with switchboard.aio.connect(url, token=T, reconnect=True, since=saved) as sb:
        await sb.call("connect", {"host": H, "port": 993, "auth": {...}})
        await sb.watch_all(summary=True)         # or watch_all(group="apns")
        async for push in sb.events():           # push.new_message: account, eventId, summary …
            await handle(push)
            save(sb.last_event_id)               # acked once the loop asks for the next one

Reliability (docs/reliability.md): ``events()`` acknowledges a push when the loop asks for the
next one — after the loop body handled it without raising — or earlier through :meth:`ack`.
``last_event_id`` is the highest event id at or below which every push handed out was
acknowledged. With ``reconnect=True`` a lost connection is opened again with capped, jittered
exponential backoff and resumed after ``last_event_id`` (group watches rejoin: the server keeps
the group's position). A push already acknowledged is never handed out twice.

Bounds: each command's reply waits at most ``timeout_s`` (per client, overridable per call), as
do opening and closing. ``events()`` has no timeout of its own — mail may not come for hours —
but it ends when the connection ends for good, and keepalive pings (``ping_interval_s``) close a
connection whose server went silent. Pushes wait in a queue of ``max_queue``; what overflows is
dropped and counted in ``dropped_pushes``, then resumed (see :mod:`~switchboard.client.pushqueue`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl as ssl_module
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import WebSocketException

from switchboard.client.errors import ConnectionClosed, ResponseTimeout
from switchboard.client.pushqueue import DEFAULT_MAX_QUEUE, END, PushQueue
from switchboard.client.resume import DEFAULT_MAX_TRACKED_EVENTS, Backoff
from switchboard.client.session import (
    DEFAULT_MAX_PENDING_GROUPS,
    ClientSession,
    Dropped,
    Outgoing,
    Push,
    Pushes,
    Reply,
    errors_of,
    is_gap,
)
from switchboard.client.wsoptions import DEFAULT_MAX_FRAME_BYTES, open_async
from switchboard.protocol.messages import Response
from switchboard.protocol.wirejson import JsonLike, JsonValue

__all__ = ["DEFAULT_MAX_QUEUE", "AsyncClient", "Backoff", "Push", "connect"]

logger = logging.getLogger("switchboard.aio")

Handle = asyncio.Future[tuple[Response, ...]]


class AsyncClient:
    """One logical connection to a Switchboard server; create it with :func:`connect`.

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
        reconnect: open the connection again when it is lost, and resume.
        since: the event id processed last (e.g. from a state file); watches resume after it.
        backoff: the delays between reconnection attempts.
        max_tracked_events: bound on the event ids the resume cursor keeps.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 30.0,
                 max_queue: int = DEFAULT_MAX_QUEUE,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 max_pending_groups: int = DEFAULT_MAX_PENDING_GROUPS,
                 ping_interval_s: float | None = 20.0, headers: Mapping[str, str] | None = None,
                 ssl: ssl_module.SSLContext | None = None, reconnect: bool = False,
                 since: int | None = None, backoff: Backoff | None = None,
                 max_tracked_events: int = DEFAULT_MAX_TRACKED_EVENTS) -> None:
        self.url, self.timeout_s, self.reconnect = url, timeout_s, reconnect
        self.max_frame_bytes, self.ping_interval_s, self.ssl = max_frame_bytes, ping_interval_s, ssl
        self.backoff = backoff or Backoff()
        self.headers = dict(headers or {})
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        self.reconnects = 0
        """How many times the connection was opened again after it was lost."""
        self._session: ClientSession[Handle] = ClientSession(
            since=since, max_pending_groups=max_pending_groups,
            max_tracked_events=max_tracked_events)
        self._queue = PushQueue(max_queue)
        self._arrived = asyncio.Event()  # set when the queue got something for events()
        self._ws: ClientConnection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once the connection ended, else ``None``."""
        return self._session.close_code

    @property
    def last_event_id(self) -> int | None:
        """The resume position: every push handed out at or below it was acknowledged."""
        return self._session.last_event_id

    @property
    def group(self) -> str | None:
        """The consumer group this client joined, if any."""
        return self._session.group

    @property
    def dropped_pushes(self) -> int:
        """How many pushes were dropped because the queue held ``max_queue`` already."""
        return self._queue.dropped

    async def open(self) -> None:
        """Open the WebSocket and start reading; ``async with`` calls this.

        Raises:
            OSError: the TCP connection failed.
            TimeoutError: the opening handshake took longer than ``timeout_s``.
            websockets.exceptions.InvalidHandshake: the server refused the upgrade (e.g.
                ``InvalidStatus`` with HTTP 401 for a missing or wrong token).
        """
        ws = await self._open_ws()
        self._made(ws)
        self._supervisor = asyncio.create_task(self._supervise(ws), name="switchboard-aio")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close (bounded by ``timeout_s``), stop reconnecting, and wait for the end.

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

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    # -- commands ---------------------------------------------------------------------------

    async def send_cmds(self, *cmds: Sequence[JsonLike],
                        timeout_s: float | None = None) -> list[list[JsonValue]]:
        """Send ``(method, args)`` commands as one frame; return the reply frame as received.

        Error responses are returned like any other (``call`` raises them); no commands return
        ``[]`` at once. Watches resume after ``last_event_id``; successful ``connect`` and
        watch commands are sent again after a reconnection.

        Raises:
            ValueError: a command is not a ``(method, args)`` pair.
            TypeError: a method is not a string or args are not JSON-serialisable.
            ConnectionClosed: not open, or the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s`` (default: the client's).
            TooManyPending: ``max_pending_groups`` calls already await replies.
        """
        responses = await self._exchange(self._session.send(cmds, self._future()), timeout_s)
        return [response.to_json() for response in responses]

    async def call(self, method: str, args: JsonLike = None, *,
                   timeout_s: float | None = None) -> JsonValue:
        """Run one command and return its response's args (an object for every known response).

        Raises:
            CommandError: the server answered with an error response; ``.type`` is its type.
            ConnectionClosed: the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s`` (default: the client's).
            ValueError: the reply is not one response.
        """
        cmd = (method, {} if args is None else args)
        responses = await self._exchange(self._session.send([cmd], self._future()), timeout_s)
        if len(responses) != 1:
            raise ValueError(f"expected one response to {method}, got {responses!r}")
        for error in errors_of(responses):
            raise error
        return responses[0].args

    async def watch_all(self, *, since: int | None = None, group: str | None = None,
                        visibility_timeout_s: float | None = None,
                        summary: bool = False) -> JsonValue:
        """Subscribe to every account's new mail (``/workers``); see :meth:`watch_mailboxes`.

        Raises:
            CommandError: the server refused (e.g. ``cannotCalculateChanges`` for a ``since``
                older than the event log keeps).
            ConnectionClosed: the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s``.
        """
        return await self.call("watchAll", _watch({}, since, group, visibility_timeout_s, summary))

    async def watch_mailboxes(self, account: str | None, names: Iterable[str], *,
                              since: int | None = None, group: str | None = None,
                              visibility_timeout_s: float | None = None,
                              summary: bool = False) -> JsonValue:
        """Watch mailboxes by name and subscribe to their new mail.

        Args:
            account: the account (``/workers``), or ``None`` on ``/clients``.
            names: mailbox names such as ``"INBOX"``.
            since: resume after this event id (default: ``last_event_id``).
            group: join this consumer group: each event goes to one member, acked.
            visibility_timeout_s: for a group, how long an unacked event stays with us.
            summary: pushes carry the message's subject, sender, date and size.

        Raises:
            CommandError: the server refused the command.
            ConnectionClosed: the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s``.
        """
        base: dict[str, JsonValue] = {} if account is None else {"account": account}
        base["list"] = list(names)
        args = _watch(base, since, group, visibility_timeout_s, summary)
        return await self.call("watchMailboxes", args)

    async def ack(self, *event_ids: int) -> None:
        """Acknowledge pushes: their handlers returned without raising.

        A group member tells the server (so that it does not redeliver them) and waits for its
        answer; a plain subscriber only moves ``last_event_id``. Ids acked before are skipped.

        Raises:
            ConnectionClosed: the connection closed before the server confirmed the ack; the
                server will deliver the events again, and they will not be handed out twice.
            ResponseTimeout: no confirmation within ``timeout_s``.
        """
        await self._confirm(self._session.ack(event_ids, self._future()))

    # -- events -----------------------------------------------------------------------------

    async def events(self, *, auto_ack: bool = True) -> AsyncIterator[Push]:
        """Yield each unsolicited response as a :class:`Push`, until the connection ends.

        With ``auto_ack`` a ``newMessage`` push is acknowledged when the loop asks for the next
        one. Pushes already acknowledged (redelivered) are skipped. Meant for one consumer at a
        time; a push taken with a one-off ``anext(sb.events())`` is never auto-acked.

        Raises:
            CommandError: resuming after a reconnect failed (``cannotCalculateChanges``: the
                event log no longer holds events after ``last_event_id``).
        """
        while True:
            item = self._queue.get()
            if item is None:
                if self._queue.resync_due() and self.reconnect and self._ws is not None:
                    logger.info("push queue overflowed; reconnecting to resume after the gap")
                    await self._ws.close(1000, "client queue overflow; resuming")
                self._arrived.clear()
                await self._arrived.wait()
                continue
            if item is END:
                return
            if not isinstance(item, Push):
                raise item
            handout = self._session.hand_out((item,))
            if not handout.deliver:
                await self._confirm_quietly(self._session.reack(handout.redelivered,
                                                                self._future()))
                continue
            yield item
            if auto_ack and handout.event_ids:
                await self._confirm_quietly(self._session.ack(handout.event_ids, self._future()))

    # -- moving frames ----------------------------------------------------------------------

    def _future(self) -> Handle:
        return asyncio.get_running_loop().create_future()

    async def _exchange(self, out: Outgoing[Handle],
                        timeout_s: float | None) -> tuple[Response, ...]:
        """Send ``out`` and wait for its reply (none for an empty group)."""
        if out.text is None:
            return ()
        ws = self._ws
        assert ws is not None  # the session only sends while a connection is open
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
            self._session.expire(out.group.tags)  # settled or not, nobody waits any more

    async def _confirm(self, out: Outgoing[Handle] | None) -> None:
        """Send an ack frame and log the server's refusal, if any."""
        for error in errors_of(() if out is None else await self._exchange(out, None)):
            logger.warning("the server refused an ack: %s", error)

    async def _confirm_quietly(self, out: Outgoing[Handle] | None) -> None:
        try:
            await self._confirm(out)
        except (ConnectionClosed, ResponseTimeout) as exc:
            # The server redelivers what it did not see acked; the session skips it then.
            logger.info("ack not confirmed: %s", exc)

    def _dispatch(self, data: str | bytes) -> None:
        event = self._session.receive(data)
        if isinstance(event, Reply):
            if not event.group.handle.done():
                event.group.handle.set_result(event.responses)
        elif isinstance(event, Pushes):
            for push in event.pushes:
                self._queue.put(push)
            self._arrived.set()
        elif isinstance(event, Dropped):
            logger.warning("ignored a frame from the server (%s): %.200r", event.reason, data)
        else:  # most likely the late reply to a call that timed out; it is not a push
            logger.warning("reply matches no pending command (%s): %.200r", event.reason, data)

    # -- connection lifetime ----------------------------------------------------------------

    async def _open_ws(self) -> ClientConnection:
        return await open_async(self.url, headers=self.headers, tls=self.ssl,
                                timeout_s=self.timeout_s, ping_interval_s=self.ping_interval_s,
                                max_frame_bytes=self.max_frame_bytes)

    def _made(self, ws: ClientConnection) -> Outgoing[Handle] | None:
        self._ws = ws
        return self._session.connection_made(self._future())

    async def _supervise(self, ws: ClientConnection) -> None:
        """Read each connection to its end; reconnect and resume while asked to."""
        resume: asyncio.Task[None] | None = None
        try:
            while True:
                await self._read(ws)
                final = not self.reconnect or self._closing.is_set()
                self._lost(ws, final=final)  # fails the resume's call too, if still pending
                if resume is not None:
                    await resume
                reopened = None if final else await self._reopen()
                if reopened is None:
                    return
                ws = reopened
                self.reconnects += 1
                resume = asyncio.create_task(self._resume(ws, self._made(ws)),
                                             name="switchboard-aio-resume")
        finally:
            self._lost(ws, final=True)

    def _lost(self, ws: ClientConnection, *, final: bool) -> None:
        code, reason = ws.close_code, ws.close_reason or ""
        for group in self._session.connection_lost(code, reason, final=final):
            if not group.handle.done():
                group.handle.set_exception(ConnectionClosed(code, reason))
        self._queue.connection_lost(final=final)
        self._arrived.set()

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
                return await self._open_ws()
            except (OSError, TimeoutError, WebSocketException) as exc:
                logger.info("reconnecting to %s (attempt %d): %s", self.url, attempt, exc)
        return None

    async def _resume(self, ws: ClientConnection, out: Outgoing[Handle] | None) -> None:
        try:
            responses = () if out is None else await self._exchange(out, None)
        except (ConnectionClosed, ResponseTimeout) as exc:
            logger.info("resuming on %s failed: %s", self.url, exc)
            if self._ws is ws:
                await ws.close(1011, "resume failed")
            return
        for error in errors_of(responses):
            logger.error("resuming failed: %s", error)
            if is_gap(error):  # a gap we cannot close: tell the consumer, do not carry on
                self._queue.put_error(error)
                self._arrived.set()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for data in ws:
                self._dispatch(data)
        except WsConnectionClosed:
            pass  # an abnormal close; the code is read by _lost either way


def _watch(args: dict[str, JsonValue], since: int | None, group: str | None,
           visibility_timeout_s: float | None, summary: bool) -> dict[str, JsonValue]:
    for key, value in (("since", since), ("group", group),
                       ("visibilityTimeout", visibility_timeout_s)):
        if value is not None:
            args[key] = value
    if summary:
        args["summary"] = True
    return args


def connect(url: str, token: str | None = None, **kwargs: object) -> AsyncClient:
    """Return an :class:`AsyncClient` for ``async with``; see its arguments for ``kwargs``.

    ``async with connect(url, token=T, reconnect=True, since=saved) as sb: ...``
    """
    return AsyncClient(url, token=token, **kwargs)  # type: ignore[arg-type]
