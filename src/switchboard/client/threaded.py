"""The threaded client with the API of switchboard-python 0.1.3: ``Client`` (``Fetcher``: fetcher.py).

A shell over :class:`~switchboard.client.session.ClientSession` and ``websockets.sync.client``:
``connect()`` opens the WebSocket and starts one daemon *reader thread*, which hands every
received frame to the session and does what it answers. Like the original, the hooks
(``opened``, ``closed``, ``received_unsolicited``) and the promise callbacks run **on the reader
thread**: while one runs, no other frame is delivered, so a hook that blocks on a reply it waits
for would deadlock — chain with ``then()`` instead of calling ``get()`` inside a hook.

Fixed from the original (protocol.md §6.5): finished command groups are forgotten; pending
promises are rejected with ``ConnectionClosed`` when the connection ends, or ``ResponseTimeout``
when a per-call timeout passes; unknown, untagged or malformed frames are logged or handed to
``received_unsolicited`` and never stop the reader thread; ``send_cmds()`` with no commands
settles at once with ``([], [])``.

Reliability (docs/reliability.md; the same rules as ``switchboard.aio``, from the same session):
a ``newMessage`` push is acknowledged once ``received_unsolicited`` returned without raising.
``last_event_id`` is the highest event id at or below which every push handed to a hook was
acknowledged; pass it back as ``since=`` after a restart. With ``reconnect=True`` (off by
default, protocol.md §6.5) a lost connection is opened again with capped, jittered exponential
backoff, the set-up commands that succeeded are sent again (watches with
``since=last_event_id``), then ``reconnected()`` is called. ``opened()`` runs only on the first
connection and ``closed()`` only once the client stops for good.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence

from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection

from switchboard.client.errors import ConnectionClosed, ResponseTimeout, errors_in
from switchboard.client.promise import Promise
from switchboard.client.resume import DEFAULT_MAX_TRACKED_EVENTS, Backoff
from switchboard.client.session import (
    DEFAULT_MAX_PENDING_GROUPS,
    ClientSession,
    Dropped,
    Outgoing,
    Pushes,
    Reply,
)
from switchboard.client.wsoptions import (
    DEFAULT_MAX_FRAME_BYTES,
    DEFAULT_PING_INTERVAL_S,
    HeadersLike,
    SslOptions,
    header_list,
    open_sync,
)
from switchboard.protocol.wirejson import JsonLike, JsonValue

__all__ = ["DEFAULT_MAX_FRAME_BYTES", "DEFAULT_PING_INTERVAL_S", "Client"]

logger = logging.getLogger("switchboard")

Frames = tuple[list[list[JsonValue]], list[list[JsonValue]]]
"""What a ``send_cmds`` promise is fulfilled with: the tagged commands and the reply frame."""


class Client:
    """A WebSocket connection to a Switchboard server, with the original client's API.

    Args:
        url: ``ws://host:port/workers`` (or ``/clients``, or ``wss://``). A ``?token=...``
            query in the URL is sent as is.
        protocols: WebSocket subprotocols to offer.
        extensions: ws4py-style extension names; only ``"permessage-deflate"`` is understood,
            and compression is off without it (the original server negotiates none).
        heartbeat_freq: seconds between keepalive pings (default ``DEFAULT_PING_INTERVAL_S``).
        ssl_options: for ``wss://``: an ``ssl.SSLContext``, or ws4py's dict of ``ssl`` options
            (``ca_certs``, ``certfile``, ``keyfile``, ``cert_reqs``).
        headers: extra HTTP headers for the upgrade request, a dict or ``(name, value)`` pairs.
        token: an auth token, sent as ``Authorization: Bearer <token>``.
        timeout_s: limit on the opening and the closing handshake.
        max_frame_bytes: largest frame accepted from the server.
        max_pending_groups: how many ``send_cmds`` calls may await replies at once.
        reconnect: open the connection again when it is lost, and resume (module docstring).
        since: the event id processed last (e.g. from a state file); watches resume after it.
        backoff: the delays between reconnection attempts.
        max_tracked_events: bound on the event ids the resume cursor keeps.
    """

    def __init__(self, url: str, protocols: Sequence[str] | None = None,
                 extensions: Sequence[str] | None = None, heartbeat_freq: float | None = None,
                 ssl_options: SslOptions | None = None, headers: HeadersLike | None = None, *,
                 token: str | None = None, timeout_s: float = 10.0,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 max_pending_groups: int = DEFAULT_MAX_PENDING_GROUPS, reconnect: bool = False,
                 since: int | None = None, backoff: Backoff | None = None,
                 max_tracked_events: int = DEFAULT_MAX_TRACKED_EVENTS) -> None:
        self.url = url
        self.protocols = list(protocols) if protocols else None
        self.extensions = list(extensions) if extensions else []
        self.heartbeat_freq, self.ssl_options = heartbeat_freq, ssl_options
        self.headers: list[tuple[str, str]] = header_list(headers)
        if token is not None:
            self.headers.append(("Authorization", f"Bearer {token}"))
        self.timeout_s, self.max_frame_bytes = timeout_s, max_frame_bytes
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.reconnects = 0
        """How many times the connection was opened again after it was lost."""
        # The lock guards the session and the timers: send_cmds runs on any thread, frames are
        # handled on the reader thread. Promises are always settled outside the lock.
        self._lock = threading.Lock()
        self._session: ClientSession[Promise[Frames]] = ClientSession(
            since=since, max_pending_groups=max_pending_groups,
            max_tracked_events=max_tracked_events)
        self._timers: dict[tuple[int, ...], threading.Timer] = {}
        self._ws: ClientConnection | None = None
        self._reader: threading.Thread | None = None
        self._done = threading.Event()
        self._closing = threading.Event()

    # -- connection -------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the WebSocket and start the reader thread, which first calls ``opened()``.

        Raises:
            OSError: the TCP connection failed.
            TimeoutError: the opening handshake took longer than ``timeout_s``.
            websockets.exceptions.InvalidHandshake: the server refused the upgrade (for instance
                ``InvalidStatus`` with HTTP 401 for a missing or wrong token).
        """
        ws = self._open_ws()
        self._made(ws)
        self._reader = threading.Thread(target=self._read_loop, args=(ws,),
                                        name="switchboard-reader", daemon=True)
        self._reader.start()

    def _open_ws(self) -> ClientConnection:
        return open_sync(self.url, headers=self.headers, protocols=self.protocols,
                         deflate="permessage-deflate" in self.extensions,
                         ssl_options=self.ssl_options, timeout_s=self.timeout_s,
                         ping_interval_s=self.heartbeat_freq or DEFAULT_PING_INTERVAL_S,
                         max_frame_bytes=self.max_frame_bytes)

    def run_forever(self) -> None:
        """Block until the connection has ended and ``closed()`` has returned."""
        if self._reader is not None:
            self._reader.join()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (and stop reconnecting); ``closed()`` follows."""
        self._closing.set()
        if self._ws is not None:
            self._ws.close(code, reason)

    @property
    def last_event_id(self) -> int | None:
        """The resume position: every push handed out at or below it was acknowledged."""
        with self._lock:
            return self._session.last_event_id

    @property
    def terminated(self) -> bool:
        """True once the connection has ended (the ws4py attribute of the same name)."""
        return self._done.is_set()

    def ack(self, *event_ids: int) -> None:
        """Acknowledge pushes by event id (done automatically after the hooks return).

        A group member tells the server (``["ack", {"eventIds": [...]}]``, not waited for);
        a plain subscriber only moves ``last_event_id``. Already acknowledged ids are skipped.
        """
        with self._lock:
            out = self._session.ack(event_ids, Promise())
        self._transmit(out)

    def send(self, payload: str | bytes, binary: bool = False) -> None:
        """Send one raw frame, bypassing tags and promises (inherited from ws4py in the original).

        Raises:
            ConnectionClosed: not connected, or the connection is closed.
        """
        ws = self._ws
        if ws is None:
            raise ConnectionClosed(None, "not connected yet: call connect() first")
        try:
            ws.send(payload if not binary or isinstance(payload, bytes) else payload.encode())
        except WsConnectionClosed as exc:
            raise ConnectionClosed(ws.close_code, ws.close_reason or "") from exc

    def send_cmds(self, *cmds: Sequence[JsonLike], timeout_s: float | None = None) -> Promise[Frames]:
        """Send ``(method, args)`` commands as one tagged frame and return a promise of the reply.

        The promise is fulfilled with ``(cmds, resps)``: the tagged commands as sent
        (``[[method, args, tag], ...]``) and the reply frame. Error responses fulfil it too
        (use :func:`switchboard.errors_in`). No commands: fulfilled at once with ``([], [])``.

        Args:
            cmds: ``(method, args)`` pairs.
            timeout_s: reject with ``ResponseTimeout`` if no reply within this many seconds;
                ``None`` waits until the connection closes.

        Raises:
            ValueError: a command is not a ``(method, args)`` pair, e.g. a 3-tuple.
            TypeError: a method is not a string or args are not JSON-serialisable.
            ConnectionClosed: not connected, or the connection is already closed.
            TooManyPending: ``max_pending_groups`` calls already await replies.
        """
        with self._lock:
            out = self._session.send(cmds, Promise())
            if out.text is not None and timeout_s is not None:
                timer = threading.Timer(timeout_s, self._expire, (out.group.tags, timeout_s))
                timer.daemon = True
                self._timers[out.group.tags] = timer
                timer.start()
        if out.text is None:
            out.group.handle.fulfill(([], []))
        self._transmit(out)
        return out.group.handle

    # -- hooks (run on the reader thread) ---------------------------------------------------

    def opened(self) -> None:
        """Hook called on the reader thread once connected; send setup commands here."""
        logger.debug("connected to %s", self.url)

    def reconnected(self) -> None:
        """Hook called on the reader thread after a reconnection, once the watches were resent."""
        logger.info("reconnected to %s", self.url)

    def closed(self, code: int | None, reason: str | None = None) -> None:
        """Hook called on the reader thread once the connection ended, pending promises rejected.

        ``code`` is the close code (1000 normal, 1006 the peer vanished without a close frame).
        """
        logger.info("connection to %s closed: code %s reason %r", self.url, code, reason)

    def received_unsolicited(self, resps: list[list[JsonValue]]) -> None:
        """Hook called with every frame that answers no pending command: pushes such as
        ``[["newMessage", {...}]]``, and (logged first) replies with unknown tags.
        """
        logger.info("unsolicited: %r", resps)

    def _deliver(self, pushes: Pushes) -> bool:
        """Hand a push frame to user code; ``True`` to acknowledge its events now."""
        return self._call_hook(self.received_unsolicited, pushes.to_json())

    # -- reader thread ----------------------------------------------------------------------

    def _made(self, ws: ClientConnection) -> Outgoing[Promise[Frames]] | None:
        with self._lock:
            self._ws = ws
            return self._session.connection_made(Promise())

    def _read_loop(self, ws: ClientConnection) -> None:
        resume: Outgoing[Promise[Frames]] | None = None
        first = True
        try:
            while True:
                if first:
                    self._call_hook(self.opened)
                else:
                    self._transmit(resume)  # a lost send is noticed by the read below
                    if resume is not None:
                        resume.group.handle.then(_log_resume_errors)
                    self._call_hook(self.reconnected)
                try:
                    while True:
                        self._dispatch(ws.recv())
                except WsConnectionClosed:
                    pass
                if not self.reconnect or self._closing.is_set():
                    return
                self._reject(ws, final=False)
                reopened = self._reopen()
                if reopened is None:
                    return
                ws, first = reopened, False
                resume = self._made(ws)
        finally:
            self._reject(ws, final=True)
            self._call_hook(self.closed, ws.close_code, ws.close_reason or "")
            self._done.set()

    def _reopen(self) -> ClientConnection | None:
        """Open a new connection with backoff; ``None`` once ``close()`` was called."""
        attempt = 0
        while not self._closing.wait(self.backoff.delay_s(attempt, random.random)):
            attempt += 1
            try:
                ws = self._open_ws()
            except (OSError, TimeoutError, WebSocketException) as exc:
                logger.info("reconnecting to %s (attempt %d): %s", self.url, attempt, exc)
                continue
            self.reconnects += 1
            return ws
        return None

    def _dispatch(self, data: str | bytes) -> None:
        with self._lock:
            event = self._session.receive(data)
            if isinstance(event, Reply):
                self._cancel_timer(event.group.tags)
        if isinstance(event, Reply):
            event.group.handle.fulfill((event.group.to_json(), event.to_json()))
        elif isinstance(event, Pushes):
            with self._lock:
                handout = self._session.hand_out(event.pushes)
                reack = self._session.reack(handout.redelivered, Promise())
            self._transmit(reack)
            if handout.deliver and self._deliver(event) and handout.event_ids:
                self.ack(*handout.event_ids)
        elif isinstance(event, Dropped):
            logger.warning("ignored a frame from the server (%s): %.200r", event.reason, data)
        else:
            logger.warning("reply matches no pending command (%s): %r", event.reason, data)
            self._call_hook(self.received_unsolicited, event.to_json())

    def _transmit(self, out: Outgoing[Promise[Frames]] | None) -> None:
        """Send a group's frame; if the connection is gone, fail the group at once."""
        ws = self._ws
        if out is None or out.text is None or ws is None:
            return
        try:
            ws.send(out.text)
        except WsConnectionClosed:
            # The reader rejects whatever is still pending; if it already ran, this group
            # was registered after it, so reject it here.
            self._fail(out.group.tags, ConnectionClosed(ws.close_code, ws.close_reason or ""))

    def _reject(self, ws: ClientConnection, *, final: bool) -> None:
        """The connection ended: reject every pending promise with ``ConnectionClosed``."""
        code, reason = ws.close_code, ws.close_reason or ""
        with self._lock:
            groups = self._session.connection_lost(code, reason, final=final)
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        for group in groups:
            group.handle.reject(ConnectionClosed(code, reason))

    def _expire(self, tags: tuple[int, ...], timeout_s: float) -> None:
        self._fail(tags, ResponseTimeout(timeout_s))

    def _fail(self, tags: tuple[int, ...], error: Exception) -> None:
        with self._lock:
            group = self._session.expire(tags)
            self._cancel_timer(tags)
        if group is not None:
            group.handle.reject(error)

    def _cancel_timer(self, tags: tuple[int, ...]) -> None:
        timer = self._timers.pop(tags, None)
        if timer is not None:
            timer.cancel()

    def _call_hook(self, hook: Callable[..., object], *args: object) -> bool:
        """Call a user hook; ``True`` if it returned without raising."""
        try:
            hook(*args)
            return True
        except Exception:
            # A failing user hook must not stop the delivery of later frames (the original's
            # reader thread died on the first exception and the connection went with it).
            logger.exception("%s raised on the reader thread", getattr(hook, "__name__", hook))
            return False


def _log_resume_errors(reply: Frames) -> None:
    for error in errors_in(reply[1]):
        logger.error("resuming after a reconnect failed: %r", error)
