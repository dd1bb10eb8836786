"""The threaded client with the API of switchboard-python 0.1.3: ``Client`` and ``Fetcher``.

A thin shell over :mod:`switchboard.client.core` and ``websockets.sync.client``: ``connect()``
opens the WebSocket and starts one daemon *reader thread*; everything the server sends is handled
there. Like the original, the hooks (``opened``, ``closed``, ``received_unsolicited``,
``Fetcher.received_new``) and the promise callbacks run **on the reader thread**: while one runs,
no other frame is delivered, so a hook that blocks on a reply it is waiting for would deadlock —
chain with ``then()`` instead of calling ``get()`` inside a hook.

Fixed from the original 0.1.3 client: finished command groups are forgotten; pending
promises are rejected with ``ConnectionClosed`` when the connection ends, or ``ResponseTimeout``
when a per-call timeout passes; unknown, untagged or malformed frames are logged or handed to
``received_unsolicited`` and never stop the reader thread; ``send_cmds()`` with no commands
settles at once with ``([], [])``.

Reliability (issue 6, docs/reliability.md; the same rules as ``switchboard.aio``): a
``newMessage`` push is acknowledged once ``received_unsolicited`` returned without raising (for a
``Fetcher``: once ``received_new`` returned). ``last_event_id`` is the highest event id at or
below which every push handed to a hook was acknowledged; pass it back as ``since=`` after a
restart. With ``reconnect=True`` (off by default, as in the original) a lost connection is opened
again with capped, jittered exponential backoff; the ``connect`` and watch commands that
succeeded are sent again, watches with ``since=last_event_id`` (group watches rejoin as they
were), then ``reconnected()`` is called. ``opened()`` runs only on the first connection and
``closed()`` only once the client stops for good.
"""

from __future__ import annotations

import email
import email.policy
import inspect
import logging
import random
import ssl
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from switchboard.client.core import (
    DEFAULT_MAX_PENDING_GROUPS,
    ClientCore,
    Dropped,
    Group,
    Reply,
    Unmatched,
    Unsolicited,
)
from switchboard.client.errors import ConnectionClosed, ResponseTimeout
from switchboard.client.promise import Promise
from switchboard.client.resume import (
    DEFAULT_MAX_TRACKED_EVENTS,
    Backoff,
    EventCursor,
    WatchLog,
    event_id_of,
    prepare_watch,
)

__all__ = ["DEFAULT_MAX_FRAME_BYTES", "DEFAULT_PING_INTERVAL_S", "Client", "Fetcher"]

logger = logging.getLogger("switchboard")

DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
"""Largest frame accepted from the server: ``getMessages`` with ``raw`` carries whole messages."""

DEFAULT_PING_INTERVAL_S = 20.0
"""Keepalive ping interval when ``heartbeat_freq`` is not given; a silent server is noticed
within two intervals (websockets closes with 1011 when a pong is late)."""

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]]

# websockets 17 deprecates calling the sync connect() outside a ``with`` block unless
# ``legacy=True`` is passed; earlier versions have no such flag. This client owns the
# connection's lifetime itself (connect/close), so it opts in where the flag exists.
_LEGACY_KW: dict[str, bool] = (
    {"legacy": True} if "legacy" in inspect.signature(ws_connect).parameters else {}
)


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
        max_tracked_events: bound on the event ids the cursor keeps (see ``EventCursor``).
    """

    def __init__(
        self,
        url: str,
        protocols: Sequence[str] | None = None,
        extensions: Sequence[str] | None = None,
        heartbeat_freq: float | None = None,
        ssl_options: ssl.SSLContext | Mapping[str, Any] | None = None,
        headers: HeadersLike | None = None,
        *,
        token: str | None = None,
        timeout_s: float = 10.0,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        max_pending_groups: int = DEFAULT_MAX_PENDING_GROUPS,
        reconnect: bool = False,
        since: int | None = None,
        backoff: Backoff | None = None,
        max_tracked_events: int = DEFAULT_MAX_TRACKED_EVENTS,
    ) -> None:
        self.url = url
        self.protocols = list(protocols) if protocols else None
        self.extensions = list(extensions) if extensions else []
        self.heartbeat_freq = heartbeat_freq
        self.ssl_options = ssl_options
        self.headers: list[tuple[str, str]] = _header_list(headers)
        if token is not None:
            self.headers.append(("Authorization", f"Bearer {token}"))
        self.timeout_s = timeout_s
        self.max_frame_bytes = max_frame_bytes
        # The lock guards the core and the timers: send_cmds runs on any thread, replies are
        # handled on the reader thread. Promises are always settled outside the lock.
        self._lock = threading.Lock()
        self._core: ClientCore[Promise] = ClientCore(max_pending_groups=max_pending_groups)
        self._timers: dict[tuple[int, ...], threading.Timer] = {}
        self._ws: ClientConnection | None = None
        self._reader: threading.Thread | None = None
        self._done = threading.Event()
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.reconnects = 0
        """How many times the connection was opened again after it was lost."""
        self._cursor = EventCursor(since, max_tracked_events=max_tracked_events)
        self._log = WatchLog()
        self._closing = threading.Event()
        # A Fetcher acks after received_new, not after received_unsolicited.
        self._ack_after_unsolicited = True

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
        self._ws = ws
        self._reader = threading.Thread(
            target=self._read_loop, args=(ws,), name="switchboard-reader", daemon=True
        )
        self._reader.start()

    def _open_ws(self) -> ClientConnection:
        options: dict[str, Any] = {
            "additional_headers": self.headers or None,
            "subprotocols": self.protocols,
            "compression": "deflate" if "permessage-deflate" in self.extensions else None,
            "ssl": _ssl_context(self.ssl_options) if self.url.startswith("wss:") else None,
            "open_timeout": self.timeout_s,
            "close_timeout": self.timeout_s,
            "ping_interval": self.heartbeat_freq or DEFAULT_PING_INTERVAL_S,
            "max_size": self.max_frame_bytes,
            **_LEGACY_KW,
        }
        ws: ClientConnection = ws_connect(self.url, **options)
        return ws

    def run_forever(self) -> None:
        """Block until the connection has ended and ``closed()`` has returned."""
        if self._reader is not None:
            self._reader.join()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; ``closed(code, reason)`` follows on the reader thread.

        Also stops reconnecting.
        """
        self._closing.set()
        if self._ws is not None:
            self._ws.close(code, reason)

    @property
    def last_event_id(self) -> int | None:
        """The resume position: every push handed out at or below it was acknowledged."""
        with self._lock:
            return self._cursor.position

    def ack(self, *event_ids: int) -> None:
        """Acknowledge pushes by event id (done automatically after the hooks return).

        A group member tells the server (``["ack", {"eventIds": [...]}]``, not waited for);
        a plain subscriber only moves ``last_event_id``. Already acknowledged ids are skipped.
        """
        with self._lock:
            fresh = [i for i in dict.fromkeys(event_ids) if not self._cursor.is_done(i)]
            for event_id in fresh:
                self._cursor.ack(event_id)
            group = self._log.group
        if fresh and group is not None:
            try:
                self.send_cmds(("ack", {"eventIds": fresh}))
            except ConnectionClosed as exc:
                # The server redelivers what it did not see acked; the cursor skips it then.
                logger.info("ack of %s not sent: %s", fresh, exc)

    @property
    def terminated(self) -> bool:
        """True once the connection has ended (the ws4py attribute of the same name)."""
        return self._done.is_set()

    def send(self, payload: str | bytes, binary: bool = False) -> None:
        """Send one raw frame, bypassing tags and promises (inherited from ws4py in the original).

        Raises:
            ConnectionClosed: not connected, or the connection is closed.
        """
        ws = self._require_ws()
        data = payload if not binary or isinstance(payload, bytes) else payload.encode()
        try:
            ws.send(data)
        except WsConnectionClosed as exc:
            raise ConnectionClosed(ws.close_code, ws.close_reason or "") from exc

    # -- commands ---------------------------------------------------------------------------

    def send_cmds(self, *cmds: Sequence[Any], timeout_s: float | None = None) -> Promise:
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
        ws = self._require_ws()
        promise = Promise()
        with self._lock:
            cmds = tuple(prepare_watch(cmd, self._cursor) for cmd in cmds)
            group, text = self._core.send_group(cmds, promise)
            if text is not None and timeout_s is not None:
                timer = threading.Timer(timeout_s, self._expire, (group.tags, timeout_s))
                timer.daemon = True
                self._timers[group.tags] = timer
                timer.start()
        if text is None:
            promise.fulfill(([], []))
            return promise
        try:
            ws.send(text)
        except WsConnectionClosed:
            # The reader thread rejects whatever is still pending; if it already ran, this
            # group was registered after it, so reject it here.
            closed = ConnectionClosed(ws.close_code, ws.close_reason or "")
            self._settle_forgotten(group.tags, closed)
        return promise

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

    def received_unsolicited(self, resps: list[list[Any]]) -> None:
        """Hook called with every frame that answers no pending command: pushes such as
        ``[["newMessage", {...}]]``, and (logged first) replies with unknown tags.
        """
        logger.info("unsolicited: %r", resps)

    # -- reader thread ----------------------------------------------------------------------

    def _read_loop(self, ws: ClientConnection) -> None:
        current: ClientConnection | None = ws
        first = True
        try:
            while current is not None:
                ws = current
                try:
                    if first:
                        self._call_hook(self.opened)
                    else:
                        self._resume()
                    first = False
                    while True:
                        self._dispatch(ws.recv())
                except WsConnectionClosed:
                    pass
                current = None
                if self.reconnect and not self._closing.is_set():
                    self._reject_pending(ws.close_code, ws.close_reason or "")
                    current = self._reopen()
        finally:
            self._shutdown(ws.close_code, ws.close_reason or "")

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
            with self._lock:
                self._core.reopen()
            self._ws = ws
            self.reconnects += 1
            return ws
        return None

    def _resume(self) -> None:
        with self._lock:
            commands = self._log.replay(self._cursor.position)
            group, text = self._core.send_group(commands, Promise())
        if text is not None:
            try:
                self._require_ws().send(text)
            except WsConnectionClosed:
                return  # the read below notices, and the next attempt resends
            group.handle.then(self._resumed)
        self._call_hook(self.reconnected)

    def _resumed(self, reply: tuple[list[list[Any]], list[list[Any]]]) -> None:
        for resp in reply[1]:
            if isinstance(resp, list) and resp and resp[0] == "error":
                logger.error("resuming after a reconnect failed: %r", resp)

    def _reject_pending(self, code: int | None, reason: str) -> None:
        with self._lock:
            groups = self._core.close(code, reason)
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        for group in groups:
            group.handle.reject(ConnectionClosed(code, reason))

    def _dispatch(self, data: str | bytes) -> None:
        with self._lock:
            event = self._core.receive_frame(data)
            if isinstance(event, Reply):
                self._cancel_timer(event.group.tags)
                self._log.record(event.group.cmds, event.resps)
                # A member sees a share of the ids: the gaps are other members' work.
                self._cursor.sparse = self._log.group is not None
        if isinstance(event, Reply):
            event.group.handle.fulfill((event.group.cmds, event.resps))
        elif isinstance(event, Unsolicited):
            self._unsolicited(event.resps)
        elif isinstance(event, Unmatched):
            logger.warning("reply matches no pending command (%s): %r", event.reason, event.resps)
            self._call_hook(self.received_unsolicited, event.resps)
        else:
            assert isinstance(event, Dropped)
            logger.warning("ignored a frame from the server (%s): %.200r", event.reason, data)

    def _unsolicited(self, resps: list[list[Any]]) -> None:
        """Hand a push frame to the hook unless it was processed already; ack after it."""
        ids = [i for i in (_event_id(r) for r in resps) if i is not None]
        with self._lock:
            fresh = [i for i in ids if self._cursor.hand_out(i)]
            group = self._log.group
        if ids and not fresh:
            if group is not None:
                self.ack(*ids)  # a redelivery of what we processed: tell the server again
            return
        if self._call_hook(self.received_unsolicited, resps) and self._ack_after_unsolicited:
            self.ack(*fresh)

    def _shutdown(self, code: int | None, reason: str) -> None:
        with self._lock:
            groups = self._core.close(code, reason)
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        for group in groups:
            group.handle.reject(ConnectionClosed(code, reason))
        self._call_hook(self.closed, code, reason)
        self._done.set()

    def _expire(self, tags: tuple[int, ...], timeout_s: float) -> None:
        self._settle_forgotten(tags, ResponseTimeout(timeout_s))

    def _settle_forgotten(self, tags: tuple[int, ...], error: Exception) -> None:
        with self._lock:
            group: Group[Promise] | None = self._core.forget(tags)
            self._cancel_timer(tags)
        if group is not None:
            group.handle.reject(error)

    def _cancel_timer(self, tags: tuple[int, ...]) -> None:
        timer = self._timers.pop(tags, None)
        if timer is not None:
            timer.cancel()

    def _call_hook(self, hook: Any, *args: Any) -> bool:
        """Call a user hook; ``True`` if it returned without raising."""
        try:
            hook(*args)
            return True
        except Exception:
            # A failing user hook must not stop the delivery of later frames (the original's
            # reader thread died on the first exception and the connection went with it).
            logger.exception("%s raised on the reader thread", getattr(hook, "__name__", hook))
            return False

    def _require_ws(self) -> ClientConnection:
        if self._ws is None:
            raise ConnectionClosed(None, "not connected yet: call connect() first")
        return self._ws


class Fetcher(Client):
    """A client that fetches every new message and hands it to :meth:`received_new`.

    On each ``newMessage`` push it sends ``getMessages`` for the pushed ``messageId`` with
    ``properties: ["raw"]`` (and the push's ``account``, present on ``/workers``), parses the
    raw text with ``email.policy.default`` and calls ``received_new`` on the reader thread.
    Error replies and failures are logged and skipped; they never stop the reader thread.
    A push is acknowledged once ``received_new`` returned for it without raising.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ack_after_unsolicited = False

    def received_unsolicited(self, resps: list[list[Any]]) -> None:
        """Fetch each ``newMessage`` of the frame; log anything else."""
        for resp in resps:
            if resp[0] == "newMessage" and isinstance(resp[1], dict):
                self._fetch(resp[1])
            else:
                logger.info("unsolicited: %r", resp)

    def received_new(self, msg: email.message.Message) -> None:
        """Handle one new message (an ``email.message.EmailMessage``); override this.

        Raises:
            NotImplementedError: always, unless overridden.
        """
        raise NotImplementedError("override Fetcher.received_new(msg)")

    def _fetch(self, push: dict[str, Any]) -> None:
        args: dict[str, Any] = {"ids": [push.get("messageId")], "properties": ["raw"]}
        if "account" in push:
            args = {"account": push["account"], **args}
        try:
            promise = self.send_cmds(("getMessages", args))
        except ConnectionClosed as exc:
            logger.warning("cannot fetch %s: %s", push.get("messageId"), exc)
            return
        event_id = _event_id(["newMessage", push])
        promise.then(lambda reply: self._received_messages(reply, event_id)).catch(
            self._fetch_failed
        )

    def _received_messages(
        self, reply: tuple[list[list[Any]], list[list[Any]]], event_id: int | None = None
    ) -> None:
        _cmds, resps = reply
        handled = False
        for resp in resps:
            if resp[0] != "messages" or not isinstance(resp[1], dict):
                logger.warning("getMessages failed: %r", resp)
                continue
            for item in resp[1].get("list") or []:
                raw = item.get("raw") if isinstance(item, dict) else None
                if not isinstance(raw, str):
                    logger.warning("getMessages returned no raw text: %.200r", item)
                    continue
                self.received_new(email.message_from_string(raw, policy=email.policy.default))
                handled = True
        if handled and event_id is not None:
            self.ack(event_id)  # received_new returned: the message was handled

    def _fetch_failed(self, reason: Any) -> None:
        if isinstance(reason, BaseException):
            logger.error("handling a new message failed", exc_info=reason)
        else:
            logger.error("handling a new message failed: %r", reason)


def _event_id(resp: Any) -> int | None:
    if isinstance(resp, list) and len(resp) >= 2 and resp[0] == "newMessage":
        return event_id_of(resp[1])
    return None


def _header_list(headers: HeadersLike | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return [(name, value) for name, value in headers]


def _ssl_context(options: ssl.SSLContext | Mapping[str, Any] | None) -> ssl.SSLContext:
    """Build a client TLS context from ws4py-style ``ssl_options`` (verifying by default)."""
    if isinstance(options, ssl.SSLContext):
        return options
    options = options or {}
    context = ssl.create_default_context(cafile=options.get("ca_certs"))
    if options.get("certfile"):
        context.load_cert_chain(options["certfile"], options.get("keyfile"))
    if options.get("cert_reqs") == ssl.CERT_NONE:
        # Explicitly asked for, as ws4py allowed; never the default.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
